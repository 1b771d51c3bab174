# The decoder against the iced disassembler's decoder test vectors.
kestrel_unit(test_iced ${CMAKE_CURRENT_SOURCE_DIR}/data/test_iced.c)
