/*
 * The opcode table's integrity: every row names an operand form the decoder
 * can handle, and every 16/32-bit handler variant the table names exists.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu/opcode.h"
#include "tests/common/check_run.h"

START_TEST(every_handler_exists)
{
    int missing = 0;
    for (int id = 1; id < OP_COUNT; id++) {
        static const int vars[] = { VAR_R16, VAR_R32, VAR_M16, VAR_M32 };
        for (unsigned k = 0; k < sizeof(vars) / sizeof(vars[0]); k++) {
            if (!op_handlers[id][vars[k]]) {
                printf("missing handler: %s variant %d\n", op_info[id].name, vars[k]);
                missing++;
                break;
            }
        }
    }
    printf("%d opcode rows, %d without a handler\n", OP_COUNT - 1, missing);
    ck_assert_int_eq(missing, 0);
}
END_TEST

START_TEST(flag_masks_consistent)
{
    for (int id = 1; id < OP_COUNT; id++) {
        const struct op_info *oi = &op_info[id];
        ck_assert_msg((oi->fundef & ~oi->fwrite) == 0, "%s: undefined flags not in written set", oi->name);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optable");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, every_handler_exists);
    tcase_add_test(tc, flag_masks_consistent);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
