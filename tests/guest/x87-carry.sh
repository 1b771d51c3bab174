#!/bin/sh
# The guest jit test under the JIT, with --stats: it passes, and its
# nested x87 loops (jit_x87_nest) had both of their outer block's exits
# into the inner loop (a Jcc's side exit and a JMP) carry the x87 register
# cache into the inner loop's translation (jit_x87_chained), so that the
# guest's checks of the state there test that path, not only the others.
#   x87-carry.sh KESTREL GUEST.elf EXPECTED.txt
set -u
kestrel=$1 guest=$2 expected=$3
out=$(mktemp) stats=$(mktemp)
trap 'rm -f "$out" "$stats"' EXIT
timeout 120 "$kestrel" --accel jit --stats --kernel "$guest" --serial "file:$out" 2>"$stats"
status=$?
if ! diff -u "$expected" "$out" || [ "$status" -ne 1 ]; then
    echo "x87-carry: guest failed (exit status $status)"
    exit 1
fi
n=$(awk '$1 == "jit_x87_chained" { print $2 }' "$stats")
if [ -z "$n" ] || [ "$n" -lt 2 ]; then
    cat "$stats"
    echo "x87-carry: jit_x87_chained is ${n:-missing}, want at least 2"
    exit 1
fi
exit 0
