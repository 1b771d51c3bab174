#!/bin/sh
# --jit-perf-map: run a guest under the JIT and check that
# /tmp/perf-PID.map names its translated blocks in perf's format
# ("START SIZE NAME", hex) with kestrel_CS:EIP names.
#   perf-map.sh KESTREL GUEST.elf
set -u
kestrel=$1 guest=$2
out=$(mktemp)
"$kestrel" --accel jit --jit-threshold 0 --jit-perf-map --clock icount --kernel "$guest" --serial "file:$out" &
pid=$!
wait "$pid"
status=$?
map=/tmp/perf-$pid.map
trap 'rm -f "$out" "$map"' EXIT
if [ "$status" -ne 1 ]; then
    cat "$out"
    echo "perf-map: guest exit status $status (want 1)"
    exit 1
fi
if [ ! -s "$map" ]; then
    echo "perf-map: $map missing or empty"
    exit 1
fi
bad=$(grep -cvE '^[0-9a-f]+ [0-9a-f]+ kestrel_[0-9a-f]{4}:[0-9a-f]{8}$' "$map")
lines=$(wc -l < "$map")
if [ "$bad" -ne 0 ] || [ "$lines" -lt 10 ]; then
    head "$map"
    echo "perf-map: $lines lines, $bad not in perf's format"
    exit 1
fi
exit 0
