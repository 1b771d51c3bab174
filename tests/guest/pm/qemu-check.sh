#!/bin/sh
# Cross-check the pm_* guest tests against QEMU (TCG): run each ELF under
# qemu-system-i386 and diff its COM1 output with the .expected file.
#   tests/guest/pm/qemu-check.sh BUILD_DIR [NAME...]
# Lines where QEMU departs from the SDM are listed in each program's
# header comment; pm_limits checks what QEMU's TCG does not model at all
# (segment limits and types on ordinary accesses) and is skipped unless
# named. Not part of CTest: QEMU is not a build dependency.
set -u
build=$1
shift
here=$(cd "$(dirname "$0")/.." && pwd)
names=${*:-pm_seg pm_priv pm_exc pm_task pm_v86 pm_real pm_pf}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for n in $names; do
    timeout 60 qemu-system-i386 -kernel "$build/tests/guest/$n.elf" -nographic -serial stdio -monitor none \
        -display none -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot 2>/dev/null |
        sed -n '/^Booting/,$p' | sed 's/^Booting from ROM\.\.//' >"$out"
    if diff -u "$here/$n.expected" "$out" >"$out.diff"; then
        echo "$n: same as QEMU"
    else
        echo "$n: differs from QEMU on $(grep -c '^-[^-]' "$out.diff") line(s):"
        grep '^[-+][^-+]' "$out.diff" | sed 's/^/    /'
    fi
    rm -f "$out.diff"
done
