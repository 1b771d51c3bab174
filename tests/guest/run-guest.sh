#!/bin/sh
# Run one guest test program under kestrel and check it.
#   run-guest.sh KESTREL GUEST.elf EXPECTED.txt [kestrel options...]
# Passes when the guest exits through port 0xf4 with value 0 (status 1) and
# its COM1 output equals EXPECTED.txt (when that file exists).
set -u
kestrel=$1 guest=$2 expected=$3
shift 3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 120 "$kestrel" --kernel "$guest" --serial "file:$out" "$@"
status=$?
if [ -f "$expected" ] && ! diff -u "$expected" "$out"; then
    echo "run-guest: $(basename "$guest"): COM1 output differs from $(basename "$expected")"
    exit 1
fi
if [ "$status" -ne 1 ]; then
    cat "$out"
    echo "run-guest: $(basename "$guest"): exit status $status (want 1: guest wrote 0 to port 0xf4)"
    exit 1
fi
exit 0
