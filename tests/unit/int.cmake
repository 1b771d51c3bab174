# Integer instruction set: REP string semantics (restart, faults, interrupts, single-step).
kestrel_unit(test_string_rep ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_string_rep.c)
