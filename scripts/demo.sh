#!/bin/sh
# The README's first command: installs what Kestrel needs, builds it, fetches
# Debian 12's i386 kernel and busybox (tests/boot/fetch: apt-get download,
# cached in ~/.cache/kestrel/debian) and boots them to an interactive busybox
# shell on this terminal (COM1). `exit` or `poweroff -f` in the shell ends
# kestrel; Ctrl-A x quits at any time, Ctrl-A h lists the other keys.
# Extra arguments go to kestrel (e.g. --display sdl, --accel interp).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"
python3 tests/boot/fetch --out build/demo direct
exec build/kestrel --kernel build/demo/vmlinuz --initrd build/demo/initrd.gz --append "$(cat build/demo/cmdline)" "$@"
