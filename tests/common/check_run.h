/*
 * The tail of every Check program's main(): run the suite, free the runner,
 * turn the result into the exit status CTest reads. `fork` is CK_FORK
 * (each test in a child: a crash fails one test) or CK_NOFORK (tests share
 * state built once, or a fork per test would cost too much); CK_FORK=no in
 * the environment overrides it, as Check always allows.
 */
#ifndef KESTREL_TESTS_CHECK_RUN_H
#define KESTREL_TESTS_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

static inline int check_run(Suite *s, enum fork_status fork)
{
    SRunner *sr = srunner_create(s);
    if (fork != CK_FORK)
        srunner_set_fork_status(sr, fork);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
