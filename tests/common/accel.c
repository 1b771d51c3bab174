/* See accel.h. */
#include "tests/common/accel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "jit/jit.h"

static void log_stderr(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "%s\n", msg);
}

struct jit *test_accel_attach(struct cpu *c)
{
    const char *name = getenv("KESTREL_ACCEL");
    if (!name || !*name || !strcmp(name, "interp"))
        return NULL;
    struct jit_config cfg = { 0 };
    if (!strcmp(name, "jit-1")) {
        cfg.max_insns = 1;
    } else if (!strcmp(name, "jit-hot")) {
        cfg.threshold = 16;
    } else if (!strcmp(name, "cosim")) {
        cfg.cosim = true;
        if (!c->env.log)
            c->env.log = log_stderr; /* where the divergence report goes */
    } else if (strcmp(name, "jit")) {
        fprintf(stderr, "KESTREL_ACCEL=%s: expected interp, jit, jit-1, jit-hot or cosim\n", name);
        exit(2);
    }
    char err[200];
    struct jit *j = jit_new(c, &cfg, err, sizeof(err));
    if (!j) {
        fprintf(stderr, "KESTREL_ACCEL=%s: %s\n", name, err);
        exit(2);
    }
    return j;
}

void test_accel_detach(struct jit *j)
{
    if (!j)
        return;
    uint64_t diverged = jit_cosim_diverged(j), checked = jit_cosim_checked(j);
    if (checked)
        fprintf(stderr, "co-simulation: %llu blocks compared, %llu diverged\n", (unsigned long long)checked,
                (unsigned long long)diverged);
    jit_free(j);
    if (diverged) {
        fprintf(stderr, "co-simulation: %llu blocks diverged\n", (unsigned long long)diverged);
        exit(1);
    }
}
