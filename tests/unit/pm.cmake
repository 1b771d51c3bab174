# Protected-mode event delivery a guest cannot drive itself (NMI blocking,
# EXT on external interrupts, double and triple faults).
kestrel_unit(test_pm_events ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_pm_events.c)
