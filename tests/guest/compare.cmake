# bench/compare (the emulation-versus-virtualization report) at its
# smallest: the integer phase at scale 1, one run, under every engine
# present here (native, interp, jit, kvm when /dev/kvm is usable, QEMU TCG
# when installed; QEMU KVM is left out: SeaBIOS alone takes seconds on a
# software KVM). bench/compare_check.py runs it, then checks that the
# Markdown, the CSVs and the SVG exist and parse, that every engine's
# checksum equals the native one, and that a software-backed KVM is marked
# as such. Needs the native workload (bench.cmake: a 32-bit libc).

if(KESTREL_HAVE_M32_LIBC AND Python3_Interpreter_FOUND)
  set(COMPARE_SMOKE_OUT ${CMAKE_BINARY_DIR}/tests/compare-smoke)
  add_test(NAME bench.compare.smoke
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/bench/compare_check.py ${COMPARE_SMOKE_OUT} --
            ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/bench/compare --quick --build-dir ${CMAKE_BINARY_DIR}
            --kestrel $<TARGET_FILE:kestrel> --workloads int --engines native,interp,jit,kvm,qemu-tcg
            --kvm-timeout 60 --out ${COMPARE_SMOKE_OUT})
  set_tests_properties(bench.compare.smoke PROPERTIES LABELS "bench" TIMEOUT 300)
endif()
