#!/bin/sh
# SeaBIOS boots an IDE image under --accel kvm (tests/guest/ide.cmake's
# disk and CD images); the boot image's lines must equal EXPECTED, as
# under the interpreter (tests/guest/ide-boot.sh, which runs on icount
# time and so cannot take --accel kvm).
#   ide-boot.sh KESTREL PREFIX EXPECTED [kestrel options...]
# A --disk image is copied first: the guest writes to it.
set -u
kestrel=$1 prefix=$2 expected=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prev=""
for a do
    shift
    if [ "$prev" = "--disk" ]; then
        cp "$a" "$tmp/disk.img" || exit 1
        a="$tmp/disk.img"
    fi
    set -- "$@" "$a"
    prev=$a
done
timeout 150 "$kestrel" --accel kvm --no-reboot --serial "file:$tmp/out" "$@"
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
