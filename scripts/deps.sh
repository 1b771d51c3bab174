#!/bin/sh
# Installs the Debian 12 packages Kestrel needs to build, test and benchmark.
# Idempotent: does nothing when everything is already installed.
set -e
PKGS="build-essential cmake pkg-config gcc-multilib nasm \
      libcapstone-dev libelf-dev libxxhash-dev check libsubunit-dev zlib1g-dev libsdl2-dev \
      acpica-tools seabios cpio python3 xorriso mtools dosfstools syslinux qemu-system-x86 \
      clang libc6-dev-arm64-cross libc6-dev-riscv64-cross"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing$missing"
# One mirror mid-sync fails the whole update while the lists needed here
# are fine: go on, and let apt-get install say what it cannot find.
$SUDO apt-get update -qq || echo "deps: apt-get update failed; installing from the lists apt has" >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
