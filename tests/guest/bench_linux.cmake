# bench/linux.py (benchmark workloads inside Debian's i386 guest; see
# bench/README.md) without booting anything: its two programs build with
# gcc -m32 -static and run on the host, syscall.c's checksums equal the
# module's independent model of what POSIX calls return, the static
# workload's equal the normal build's workload-native, and kestrel's
# --stats parse into the counters the module returns. A few seconds; the
# guest boots themselves are benchmarks, not tests (tests/boot/ has those).

include(CheckCSourceCompiles)
set(CMAKE_REQUIRED_FLAGS -m32)
set(CMAKE_REQUIRED_LINK_OPTIONS -m32 -static)
check_c_source_compiles("#include <stdio.h>\nint main(void) { return puts(\"\"); }" KESTREL_HAVE_M32_STATIC_LIBC)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)

find_package(Python3 COMPONENTS Interpreter)
if(KESTREL_HAVE_M32_STATIC_LIBC AND KESTREL_HAVE_M32_LIBC AND Python3_Interpreter_FOUND)
  add_test(NAME bench.linux.smoke
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/bench/linux.py --self-test ${CMAKE_BINARY_DIR}/tests/bench-linux
            --kestrel $<TARGET_FILE:kestrel> --elf ${CMAKE_BINARY_DIR}/bench/workload.elf
            --reference ${CMAKE_BINARY_DIR}/bench/workload-native)
  set_tests_properties(bench.linux.smoke PROPERTIES LABELS "bench" TIMEOUT 120)
else()
  message(STATUS "bench: no static 32-bit libc (gcc -m32 -static cannot link); skipping bench.linux.smoke")
endif()
