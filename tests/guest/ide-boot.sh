#!/bin/sh
# Boot SeaBIOS with IDE images and check what the boot image printed.
#   ide-boot.sh KESTREL PREFIX EXPECTED [kestrel options...]
# Every --disk FILE is replaced by a private copy (the guest writes to its
# disk, and an image is locked by the process using it, so parallel tests
# cannot share one). Passes when the guest wrote 0 to port 0xf4 (status 1)
# and the COM1 output from PREFIX to the end of each line that contains
# it equals EXPECTED (SeaBIOS's own output around it is ignored).
set -u
kestrel=$1 prefix=$2 expected=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prev="" n=0
for a do
    shift
    if [ "$prev" = "--disk" ]; then
        cp "${a%,ro}" "$tmp/disk$n.img" || exit 1
        case "$a" in *,ro) a="$tmp/disk$n.img,ro" ;; *) a="$tmp/disk$n.img" ;; esac
        n=$((n + 1))
    fi
    set -- "$@" "$a"
    prev=$a
done
timeout 150 "$kestrel" --no-reboot --serial "file:$tmp/out" "$@"
status=$?
tr -d '\r' < "$tmp/out" | sed -n "s/.*\($prefix\)/\1/p" > "$tmp/lines"
if ! diff -u "$expected" "$tmp/lines"; then
    cat "$tmp/out"
    echo "ide-boot: output differs from $(basename "$expected")"
    exit 1
fi
if [ "$status" -ne 1 ]; then
    echo "ide-boot: exit status $status (want 1: the boot image wrote 0 to port 0xf4)"
    exit 1
fi
exit 0
