#!/bin/sh
# Installs what Kestrel needs, builds it, and boots the default guest.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"
exec build/kestrel --kernel build/tests/guest/hello.elf "$@"
