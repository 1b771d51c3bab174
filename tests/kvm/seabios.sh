#!/bin/sh
# SeaBIOS (the default firmware) under --accel kvm: passes when it gets
# through POST to "No bootable device" (there is no disk), then stops
# kestrel, which would otherwise wait for SeaBIOS's 60 s retry.
#   seabios.sh KESTREL [TIMEOUT_S]
set -u
kestrel=$1 limit=${2:-150}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)
"$kestrel" --accel kvm --no-reboot --serial "file:$out" &
pid=$!
while :; do
    if grep -aq "No bootable device" "$out"; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        grep -ao "SeaBIOS (version [^)]*)" "$out" | head -1
        echo "seabios: 'No bootable device' after $(($(date +%s) - start)) s"
        exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"
        echo "seabios: kestrel exited with status $? before the boot message"
        cat "$out"
        exit 1
    fi
    if [ $(($(date +%s) - start)) -ge "$limit" ]; then
        kill "$pid" 2>/dev/null
        echo "seabios: no boot message within $limit s"
        cat "$out"
        exit 1
    fi
    sleep 1
done
