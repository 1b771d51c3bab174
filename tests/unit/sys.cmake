# System area: page walker and soft TLB (mmu/).
kestrel_unit(test_paging ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_paging.c)
