# Guest test aimed at the JIT (self-modifying code, precise faults inside
# translated blocks, timer interrupts ending chained loops), on the pm_*
# scaffolding; runs under every accelerator configuration like the others.
kestrel_guest_c(jit jit.c jit_code.S pm/lib.c pm/stubs.S)
# --jit-perf-map writes perf's map of the translated blocks.
add_test(NAME guest.jit.perf_map COMMAND sh ${GUEST_DIR}/perf-map.sh $<TARGET_FILE:kestrel> ${GUEST_OUT}/jit.elf)
set_tests_properties(guest.jit.perf_map PROPERTIES LABELS "guest;jit" TIMEOUT 120)
# The same guest with the JIT's exit machinery off (inline caches, the
# return stack, loop translations): the plain paths stay tested end to end.
add_test(NAME guest.jit.plain
  COMMAND ${GUEST_DIR}/run-guest.sh $<TARGET_FILE:kestrel> ${GUEST_OUT}/jit.elf ${GUEST_DIR}/jit.expected
          --accel jit --jit-no-ic --jit-no-ret-stack --jit-no-loops ${GUEST_CLOCK_jit})
set_tests_properties(guest.jit.plain PROPERTIES LABELS "guest;jit;sanitize" TIMEOUT 300)
# Exits carrying the x87 register cache into a loop translation: taken
# (--stats) by the guest's nested x87 loops, whose state it checks.
add_test(NAME guest.jit.x87_carry
  COMMAND sh ${GUEST_DIR}/x87-carry.sh $<TARGET_FILE:kestrel> ${GUEST_OUT}/jit.elf ${GUEST_DIR}/jit.expected)
set_tests_properties(guest.jit.x87_carry PROPERTIES LABELS "guest;jit;sanitize" TIMEOUT 300)
