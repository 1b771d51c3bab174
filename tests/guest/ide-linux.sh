#!/bin/sh
# Debian's own kernel drives our IDE function with its own drivers:
# ata_piix (bus-master DMA, MWDMA2 on a PIIX3), sd for the disk, sr and
# isofs for the CD-ROM. Direct boot, no firmware in between.
#   ide-linux.sh KESTREL FETCH WORKDIR [kestrel options...]
# FETCH is tests/boot/fetch: it provides the kernel, the busybox initramfs
# and, in its cache, the kernel package the modules are taken from. Our
# /init rides in a second cpio archive appended to the initramfs (the
# kernel unpacks concatenated archives in order, later files win).
#
# The guest reads the whole disk and the whole CD and a file on the CD,
# reporting MD5 sums; copies 1 MiB of the CD onto the disk with
# conv=fsync; and reports the transfer modes and any driver errors. The
# host checks every number against the images themselves.
set -eu
kestrel=$1 fetch=$2 work=$3
shift 3
rm -rf "$work"
mkdir -p "$work/img" "$work/root/lib/modules" "$work/cd"
"$fetch" --quiet --out "$work/img" direct
rel=$(cat "$work/img/kernel-release")
cache=${KESTREL_CACHE:-$HOME/.cache/kestrel/debian}
deb=$(ls "$cache"/linux-image-"$rel"_*_i386.deb | head -n 1)
mods="drivers/scsi/scsi_common drivers/scsi/scsi_mod drivers/ata/libata drivers/ata/ata_piix drivers/cdrom/cdrom
      drivers/scsi/sr_mod crypto/crct10dif_common crypto/crct10dif_generic lib/crc-t10dif lib/crc64
      crypto/crc64_rocksoft_generic lib/crc64-rocksoft block/t10-pi drivers/scsi/sd_mod fs/isofs/isofs"
members=""
for m in $mods; do members="$members ./lib/modules/$rel/kernel/$m.ko"; done
# shellcheck disable=SC2086
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" $members
order=""
for m in $mods; do
    mv "$work/lib/modules/$rel/kernel/$m.ko" "$work/root/lib/modules/"
    order="$order $(basename "$m")"
done
cat > "$work/root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $order; do insmod /lib/modules/\$m.ko || echo "IDE-LINUX: insmod \$m failed"; done
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/sda ] && [ -b /dev/sr0 ] && break; sleep 1; done
echo "IDE-LINUX: modes \$(cat /sys/class/ata_device/dev1.0/xfer_mode) \$(cat /sys/class/ata_device/dev2.0/xfer_mode)"
echo "IDE-LINUX: sda \$(md5sum < /dev/sda)"
echo "IDE-LINUX: sr0 \$(md5sum < /dev/sr0)"
mkdir -p /mnt
mount -t iso9660 -o ro /dev/sr0 /mnt && echo "IDE-LINUX: file \$(md5sum < /mnt/data.bin)"
umount /mnt
dd if=/dev/sr0 of=/dev/sda bs=2048 count=512 seek=512 conv=fsync 2> /dev/null
echo "IDE-LINUX: errors \$(dmesg | grep -E '\] (ata|sd |sr |scsi)' | grep -ciE 'exception|error|timeout|fail')"
echo IDE-LINUX-DONE
poweroff -f
EOF
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc 2> /dev/null | gzip) > "$work/extra.gz"
cat "$work/img/initrd.gz" "$work/extra.gz" > "$work/initrd.gz"

# The images: 8 MiB of a fixed pattern; an ISO with a 1.5 MiB file.
awk 'BEGIN { for (i = 0; i < 8 * 1024 * 16; i++) printf "%063d\n", i * 7919 }' > "$work/disk.img"
awk 'BEGIN { for (i = 0; i < 24 * 1024; i++) printf "%063d\n", i * 104729 }' > "$work/cd/data.bin"
xorriso -as mkisofs -quiet -o "$work/cd.iso" "$work/cd" 2> /dev/null
want_sda=$(md5sum < "$work/disk.img")
want_sr0=$(md5sum < "$work/cd.iso")
want_file=$(md5sum < "$work/cd/data.bin")

timeout 600 "$kestrel" --clock icount:4 --no-reboot --kernel "$work/img/vmlinuz" --initrd "$work/initrd.gz" \
    --append "console=ttyS0 quiet" --disk "$work/disk.img" --cdrom "$work/cd.iso" --serial "file:$work/out" \
    "$@" < /dev/null || { echo "ide-linux: kestrel failed"; exit 1; }
tr -d '\r' < "$work/out" | grep '^IDE-LINUX' > "$work/got" || true
cat "$work/got"
cat > "$work/want" <<EOF
IDE-LINUX: modes XFER_MW_DMA_2 XFER_MW_DMA_2
IDE-LINUX: sda $want_sda
IDE-LINUX: sr0 $want_sr0
IDE-LINUX: file $want_file
IDE-LINUX: errors 0
IDE-LINUX-DONE
EOF
if ! diff -u "$work/want" "$work/got"; then
    cat "$work/out"
    echo "ide-linux: the guest saw something else"
    exit 1
fi
# The copy reached the image file: disk bytes 1-2 MiB = the CD's first MiB.
if ! cmp -n 1048576 -i 1048576:0 "$work/disk.img" "$work/cd.iso"; then
    echo "ide-linux: the guest's write is not in the disk image"
    exit 1
fi
rm -rf "$work"
echo "ide-linux: pass"
