# The decoder against Capstone on pseudo-random byte streams.
kestrel_unit(test_decode_capstone ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_decode_capstone.c)
