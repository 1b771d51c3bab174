#!/bin/sh
# The bench workload (every phase, scale 1) under --cosim with the default
# JIT threshold, so that hot blocks are translated after the interpreter
# has decoded what follows them and superblocks form (jit/super.c): every
# translated block is checked against the interpreter. Passes when no
# block diverged, superblocks were among them, and the checksums equal
# the native run's.
#   cosim-workload.sh KESTREL workload.elf workload-native [KESTREL OPTIONS...]
set -u
kestrel=$1 elf=$2 native=$3
shift 3
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
timeout 120 "$kestrel" --cosim --clock icount:4 --kernel "$elf" --append "phases=all scale=1" --serial "file:$out" --stats "$@" 2>"$err"
want=$("$native" phases=all scale=1 | grep '^checksum')
got=$(grep '^checksum' "$out")
checked=$(sed -n 's/^ *cosim_blocks *\([0-9]*\) checked, \([0-9]*\) diverged.*/\1 \2/p' "$err")
supers=$(sed -n 's/^ *jit_superblocks *\([0-9]*\).*/\1/p' "$err")
set -- $checked
if [ "$got" != "$want" ] || [ "${1:-0}" -lt 100000 ] || [ "${2:-1}" -ne 0 ] || [ "${supers:-0}" -lt 20 ]; then
    cat "$out" "$err"
    echo "cosim-workload: checksums $( [ "$got" = "$want" ] && echo equal || echo differ )," \
         "blocks checked ${1:-none}, diverged ${2:-none}, superblocks ${supers:-none}"
    exit 1
fi
echo "cosim-workload: $1 blocks checked, none diverged, $supers superblocks, checksums equal"
