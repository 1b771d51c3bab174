/*
 * kdiff: differential testing of Kestrel's interpreter against the host
 * CPU.
 *
 * For each sequence seed it generates a random instruction sequence
 * (gen.c), runs it natively in the 32-bit helper diff_native (a child
 * process fed through pipes) and on the emulator (emu.c), and compares the
 * end states (report.c). A divergence prints the seed, the sequence
 * disassembled, both states, and then a reproducer shrunk by deleting
 * groups and items while the divergence stays.
 *
 *   kdiff [--seed N] [--count N] [--native PATH] [options]
 *
 * Sequence i of a run has seed N + i, so a divergence printed with seed S
 * is replayed with `--seed S --count 1`. Run with --help for the options.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpu/opcode.h"
#include "tests/diff/emu.h"
#include "tests/diff/gen.h"
#include "tests/diff/report.h"

struct opts {
    uint64_t seed;
    long count;
    double time_limit;  /* seconds, 0: none */
    const char *native;
    struct gen_opts gen;
    bool check_enc, shrink, verbose, stats;
    int max_fail;
    int max_block;
};

struct native {
    pid_t pid;
    int to, from;
    struct diff_hello hello;
};

struct trial;

struct ctx {
    struct opts o;
    struct native nat;
    struct emu *emu;
    csh cs32, cs16;
    long runs, insns, fails, gen_anomalies;
    long op_count[OP_COUNT];
    long vec_count[33];  /* how native runs ended: vector, or 32 for anything else */
    int max_block;       /* block cap for the sequence being run (0: default) */
    /* Work areas (large: kept off the stack). */
    struct seq *s, *cand, *best;
    struct trial *t, *ct, *bt;
};

/* ---- The native runner process ---- */

static bool write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static bool read_all(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void native_stop(struct native *n)
{
    if (n->pid <= 0)
        return;
    close(n->to);
    close(n->from);
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
    n->pid = 0;
}

static bool native_start(struct native *n, const char *path)
{
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0)
        return false;
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execl(path, path, (char *)NULL);
        fprintf(stderr, "kdiff: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    n->pid = pid;
    n->to = in[1];
    n->from = out[0];
    if (!read_all(n->from, &n->hello, sizeof(n->hello)) || n->hello.magic != DIFF_MAGIC_HELLO) {
        native_stop(n);
        return false;
    }
    return true;
}

/* The native run is split in two so that the emulator runs in between,
 * while the native runner works on the other core. */
static bool native_send(struct ctx *x, const uint8_t *code, uint32_t len, const struct seq *s)
{
    struct diff_req req = { .magic = DIFF_MAGIC_REQ, .code_len = len, .init = s->init };
    return write_all(x->nat.to, &req, sizeof(req)) && write_all(x->nat.to, code, len) &&
           write_all(x->nat.to, s->data, DATA_SIZE);
}

static bool native_receive(struct ctx *x, bool sent, struct run *out)
{
    struct diff_resp resp;
    if (sent && read_all(x->nat.from, &resp, sizeof(resp)) && resp.magic == DIFF_MAGIC_RESP &&
        read_all(x->nat.from, out->data, DATA_SIZE)) {
        out->fin = resp.fin;
        return true;
    }
    /* The runner died (it should not): restart it for the next sequence. */
    native_stop(&x->nat);
    if (!native_start(&x->nat, x->o.native)) {
        fprintf(stderr, "kdiff: native runner cannot be restarted\n");
        exit(2);
    }
    return false;
}

/* ---- One sequence on both sides ---- */

enum outcome { SAME, DIVERGE, BROKEN };

struct trial {
    uint8_t code[CODE_SIZE];
    uint32_t addr[SEQ_MAX_ITEMS + 1];
    int len;
    struct run nat, emu;
    struct cmp cmp;
};

static enum outcome try_seq(struct ctx *x, const struct seq *s, struct trial *t)
{
    t->len = seq_assemble(s, t->code, sizeof(t->code), t->addr);
    if (t->len < 0)
        return BROKEN;
    bool sent = native_send(x, t->code, (uint32_t)t->len, s);
    memcpy(t->emu.data, s->data, DATA_SIZE);
    emu_run(x->emu, t->code, (uint32_t)t->len, &s->init, t->emu.data, &t->emu.fin, x->max_block);
    if (!native_receive(x, sent, &t->nat))
        return BROKEN;
    return cmp_runs(s, t->addr, &t->nat, &t->emu, &t->cmp) ? SAME : DIVERGE;
}

/* ICEBP (F1) raises #DB as a trap: the state reported is past it. Some
 * hypervisors report it at the instruction instead (seen on AMD hosts,
 * where the hypervisor intercepts ICEBP and reflects #DB without moving
 * EIP on), so the host is no oracle for it there: run F1 once natively
 * and say whether it may be generated. */
static bool host_icebp_ok(struct ctx *x, struct seq *s, struct trial *t)
{
    static const uint8_t code[] = { 0xf1, 0xcc };
    gen_sequence(s, 1, &x->o.gen); /* any initial state */
    bool sent = native_send(x, code, sizeof(code), s);
    if (!native_receive(x, sent, &t->nat))
        return false;
    return t->nat.fin.vector == 1 && t->nat.fin.eip == (s->code16 ? 0u : CODE_ADDR) + 1;
}

/* Does the candidate still show a divergence of the same kind? The native
 * run must end the way the original did (a shrink that makes the host
 * fault elsewhere is not the same bug) and no flag may be read undefined. */
static bool still_fails(struct ctx *x, const struct seq *cand, uint32_t native_vec, struct trial *t)
{
    struct seq_flow fl;
    seq_flow(cand, &fl, NULL);
    if (fl.bad_read >= 0)
        return false;
    if (try_seq(x, cand, t) != DIVERGE)
        return false;
    return t->nat.fin.vector == native_vec;
}

static void shrink(struct ctx *x, const struct seq *orig, uint32_t native_vec, struct seq *best)
{
    struct seq *cand = x->cand;
    struct trial *t = x->ct;
    *best = *orig;
    bool changed = true;
    while (changed) {
        changed = false;
        /* Whole groups, last first (later groups depend on earlier ones less often). */
        for (int k = best->n - 1; k >= 0; k--) {
            if (k >= best->n || best->it[k].pinned)
                continue;
            *cand = *best;
            seq_remove_group(cand, best->it[k].group);
            if (cand->n < best->n && still_fails(x, cand, native_vec, t)) {
                *best = *cand;
                changed = true;
            }
        }
        /* Single items. */
        for (int k = best->n - 1; k >= 0; k--) {
            if (k >= best->n || best->it[k].pinned)
                continue;
            *cand = *best;
            seq_remove(cand, k, 1);
            if (still_fails(x, cand, native_vec, t)) {
                *best = *cand;
                changed = true;
            }
        }
    }
}

static void report(struct ctx *x, uint64_t seed, const struct seq *s, struct trial *t)
{
    printf("\n=== DIVERGENCE: seed %llu (%d items) ===\n", (unsigned long long)seed, s->n);
    printf("replay: kdiff --seed %llu --count 1", (unsigned long long)seed);
    if (x->o.gen.faults)
        printf(" --faults");
    if (x->o.max_block)
        printf(" --max-block %d", x->o.max_block);
    if (x->o.gen.code16_pct != 20)
        printf(" --code16 %d", x->o.gen.code16_pct);
    if (x->o.gen.all_ops)
        printf(" --all-ops");
    printf("\n");
    print_seq(stdout, (s->code16 ? x->cs16 : x->cs32), s, t->code, t->addr, t->cmp.fault_item);
    print_states(stdout, s, &t->nat, &t->emu, &t->cmp);
    if (!x->o.shrink)
        return;
    struct seq *best = x->best;
    struct trial *bt = x->bt;
    shrink(x, s, t->nat.fin.vector, best);
    if (try_seq(x, best, bt) != DIVERGE) {
        printf("(shrinking lost the divergence)\n");
        return;
    }
    printf("--- shrunk to %d items ---\n", best->n);
    print_seq(stdout, (best->code16 ? x->cs16 : x->cs32), best, bt->code, bt->addr, bt->cmp.fault_item);
    print_states(stdout, best, &bt->nat, &bt->emu, &bt->cmp);
    printf("bytes:");
    for (int k = 0; k < bt->len; k++)
        printf(" %02x", bt->code[k]);
    printf("\n");
    fflush(stdout);
}

/* ---- Options ---- */

static void usage(void)
{
    printf("usage: kdiff [options]\n"
           "  --seed N          seed of the first sequence (default 1; 'time' for the clock)\n"
           "  --count N         sequences to run (default 1000)\n"
           "  --time S          stop after S seconds\n"
           "  --native PATH     the 32-bit native runner (default: diff_native next to kdiff)\n"
           "  --groups MIN:MAX  instructions under test per sequence (default 8:40)\n"
           "  --only A,B        only these families; --exclude A,B: the default set but these\n"
           "                    families (x87trans is not in the default set):");
    for (int f = 0; f < FAM_COUNT; f++)
        printf(" %s", gen_family_names[f]);
    printf("\n"
           "  --code16 PCT      run PCT percent of the sequences in a 16-bit code segment (default 20)\n"
           "  --all-ops         also instructions whose handler is missing\n"
           "  --faults          allow operands that fault (#DE, AAM 0, ...)\n"
           "  --check-enc       check every encoding's length with Capstone\n"
           "  --max-block N     cap decoded blocks at N instructions (-1: 1..64 drawn per sequence)\n"
           "  --no-shrink       do not shrink divergences\n"
           "  --max-fail N      stop after N divergences (default 3)\n"
           "  --stats           print how often each instruction was generated\n"
           "  --verbose         print every sequence\n");
}

static uint32_t parse_families(const char *list)
{
    uint32_t m = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int f;
        for (f = 0; f < FAM_COUNT; f++)
            if (!strcmp(tok, gen_family_names[f]))
                break;
        if (f == FAM_COUNT) {
            fprintf(stderr, "kdiff: unknown family '%s'\n", tok);
            exit(2);
        }
        m |= 1u << f;
    }
    return m;
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
    static char native_default[4096];
    snprintf(native_default, sizeof(native_default), "%s", argv[0]);
    char *slash = strrchr(native_default, '/');
    snprintf(slash ? slash + 1 : native_default,
             sizeof(native_default) - (size_t)(slash ? slash + 1 - native_default : 0), "diff_native");
    *o = (struct opts){
        .seed = 1, .count = 1000, .native = native_default, .shrink = true, .max_fail = 3,
        .gen = { .min_groups = 8, .max_groups = 40, .families = GEN_DEFAULT_FAMILIES, .code16_pct = 20 },
    };
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
#define NEEDV                                                                                                          \
    if (!v) {                                                                                                          \
        fprintf(stderr, "kdiff: %s needs a value\n", a);                                                               \
        exit(2);                                                                                                       \
    }                                                                                                                  \
    k++;
        if (!strcmp(a, "--seed")) {
            NEEDV;
            o->seed = !strcmp(v, "time") ? (uint64_t)time(NULL) : strtoull(v, NULL, 0);
        } else if (!strcmp(a, "--count")) {
            NEEDV;
            o->count = strtol(v, NULL, 0);
        } else if (!strcmp(a, "--time")) {
            NEEDV;
            o->time_limit = strtod(v, NULL);
        } else if (!strcmp(a, "--native")) {
            NEEDV;
            o->native = v;
        } else if (!strcmp(a, "--groups")) {
            NEEDV;
            if (sscanf(v, "%d:%d", &o->gen.min_groups, &o->gen.max_groups) != 2 || o->gen.min_groups < 1 ||
                o->gen.max_groups < o->gen.min_groups) {
                fprintf(stderr, "kdiff: --groups MIN:MAX\n");
                exit(2);
            }
        } else if (!strcmp(a, "--only")) {
            NEEDV;
            o->gen.families = parse_families(v);
        } else if (!strcmp(a, "--exclude")) {
            NEEDV;
            o->gen.families &= ~parse_families(v);
        } else if (!strcmp(a, "--max-block")) {
            NEEDV;
            o->max_block = atoi(v);
        } else if (!strcmp(a, "--max-fail")) {
            NEEDV;
            o->max_fail = atoi(v);
        } else if (!strcmp(a, "--code16")) {
            NEEDV;
            o->gen.code16_pct = atoi(v);
        } else if (!strcmp(a, "--all-ops")) {
            o->gen.all_ops = true;
        } else if (!strcmp(a, "--faults")) {
            o->gen.faults = true;
        } else if (!strcmp(a, "--check-enc")) {
            o->check_enc = true;
        } else if (!strcmp(a, "--no-shrink")) {
            o->shrink = false;
        } else if (!strcmp(a, "--stats")) {
            o->stats = true;
        } else if (!strcmp(a, "--verbose")) {
            o->verbose = true;
        } else {
            usage();
            exit(!strcmp(a, "--help") ? 0 : 2);
        }
#undef NEEDV
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    struct ctx *x = calloc(1, sizeof(*x));
    if (!x)
        return 2;
    x->s = malloc(sizeof(*x->s));
    x->cand = malloc(sizeof(*x->cand));
    x->best = malloc(sizeof(*x->best));
    x->t = malloc(sizeof(*x->t));
    x->ct = malloc(sizeof(*x->ct));
    x->bt = malloc(sizeof(*x->bt));
    if (!x->s || !x->cand || !x->best || !x->t || !x->ct || !x->bt)
        return 2;
    struct seq *s = x->s;
    struct trial *t = x->t;
    parse_opts(&x->o, argc, argv);
    signal(SIGPIPE, SIG_IGN);
    if (!native_start(&x->nat, x->o.native)) {
        fprintf(stderr, "kdiff: cannot start the native runner %s\n", x->o.native);
        return 2;
    }
    x->o.gen.sel_cs = x->nat.hello.cs;
    x->o.gen.sel_ds = x->nat.hello.ds;
    x->o.gen.sel_ss = x->nat.hello.ss;
    x->o.gen.sel_gs = x->nat.hello.gs;
    if (!host_icebp_ok(x, s, t)) {
        x->o.gen.no_icebp = true;
        printf("kdiff: the host reports ICEBP's #DB at the instruction, not past it (a hypervisor's quirk): "
               "ICEBP is not generated\n");
    }
    x->emu = emu_new(&x->nat.hello);
    if (!x->emu || !report_open(&x->cs32, 0) || !report_open(&x->cs16, 1)) {
        fprintf(stderr, "kdiff: cannot set up the emulator or Capstone\n");
        return 2;
    }
    printf("kdiff: seed %llu, %ld sequences, native selectors cs=%04x ds=%04x\n", (unsigned long long)x->o.seed,
           x->o.count, x->nat.hello.cs, x->nat.hello.ds);
    fflush(stdout);
    double t0 = now();
    for (long i = 0; i < x->o.count; i++) {
        if (x->o.time_limit > 0 && now() - t0 > x->o.time_limit)
            break;
        uint64_t seed = x->o.seed + (uint64_t)i;
        /* --max-block -1: a cap from 1 to 64 drawn from the seed, so blocks
         * end at varying places (and a replay draws the same). */
        x->max_block = x->o.max_block >= 0 ? x->o.max_block : 1 + (int)((seed * 0x9e3779b97f4a7c15ull) >> 58);
        gen_sequence(s, seed, &x->o.gen);
        enum outcome r = try_seq(x, s, t);
        x->runs++;
        for (int k = 0; k < s->n; k++) {
            x->insns++;
            if (!s->it[k].setup)
                x->op_count[s->it[k].op]++;
        }
        if (x->o.check_enc && t->len > 0) {
            int bad = check_encoding((s->code16 ? x->cs16 : x->cs32), s, t->code, t->addr);
            if (bad >= 0) {
                printf("\n=== ENCODING: seed %llu item %d does not decode to its own length ===\n",
                       (unsigned long long)seed, bad);
                print_seq(stdout, (s->code16 ? x->cs16 : x->cs32), s, t->code, t->addr, bad);
                x->gen_anomalies++;
            }
        }
        if (x->o.verbose) {
            printf("--- seed %llu: %s ---\n", (unsigned long long)seed, r == SAME ? "same" : "differs");
            print_seq(stdout, (s->code16 ? x->cs16 : x->cs32), s, t->code, t->addr, t->cmp.fault_item);
        }
        x->vec_count[t->nat.fin.vector < 32 ? t->nat.fin.vector : 32]++;
        if (r == BROKEN) {
            printf("\n=== BROKEN: seed %llu could not be assembled or the native runner died ===\n",
                   (unsigned long long)seed);
            x->gen_anomalies++;
            continue;
        }
        if (!x->o.gen.faults && t->nat.fin.vector != 3) {
            /* The generator promised a sequence that cannot fault. */
            printf("\n=== GENERATOR: seed %llu faulted natively (%s at %08x) ===\n", (unsigned long long)seed,
                   vec_name(t->nat.fin.vector), t->nat.fin.eip);
            print_seq(stdout, (s->code16 ? x->cs16 : x->cs32), s, t->code, t->addr, t->cmp.fault_item);
            print_states(stdout, s, &t->nat, &t->emu, &t->cmp);
            x->gen_anomalies++;
            if (x->gen_anomalies >= x->o.max_fail)
                break;
            continue;
        }
        if (r == DIVERGE) {
            x->fails++;
            report(x, seed, s, t);
            if (x->fails >= x->o.max_fail)
                break;
        }
    }
    double dt = now() - t0;
    printf("kdiff: %ld sequences (%ld instructions) in %.1f s, %.0f sequences/s: %ld divergences, %ld generator "
           "problems\n",
           x->runs, x->insns, dt, dt > 0 ? (double)x->runs / dt : 0.0, x->fails, x->gen_anomalies);
    if (x->o.stats) {
        printf("native runs ended by:");
        for (int v = 0; v <= 32; v++)
            if (x->vec_count[v])
                printf(" %s %ld", v < 32 ? vec_name((uint32_t)v) : "other", x->vec_count[v]);
        printf("\ninstructions under test generated (table row: count):\n");
        for (int k = 1; k < OP_COUNT; k++)
            if (x->op_count[k])
                printf("  %-16s %ld\n", op_info[k].name, x->op_count[k]);
    }
    native_stop(&x->nat);
    emu_free(x->emu);
    cs_close(&x->cs32);
    cs_close(&x->cs16);
    int rc = x->fails || x->gen_anomalies ? 1 : 0;
    free(x->s);
    free(x->cand);
    free(x->best);
    free(x->t);
    free(x->ct);
    free(x->bt);
    free(x);
    return rc;
}
