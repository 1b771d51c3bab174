#!/bin/sh
# The whole test suite: installs what it needs (idempotent), builds a
# release tree and an AddressSanitizer+UBSan tree, and runs CTest in both;
# builds the no-JIT-backend variant too (what non-x86-64 hosts get) and
# compiles it for ARM64 and RISC-V.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")

# Without a JIT backend, as hosts other than x86-64 build it (jit/none):
# it must build, run the JIT's guest test on the interpreter, and compile
# for ARM64 and RISC-V hosts (scripts/cross-check.py).
cmake -S . -B build-nojit -DKESTREL_JIT_NONE=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build build-nojit -j "$jobs" --target kestrel
sh tests/guest/run-guest.sh build-nojit/kestrel build/tests/guest/jit.elf tests/guest/jit.expected
python3 scripts/cross-check.py build-nojit aarch64-linux-gnu riscv64-linux-gnu

cmake -S . -B build-asan -DKESTREL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j "$jobs" -L sanitize)
echo "test.sh: all tests passed"
