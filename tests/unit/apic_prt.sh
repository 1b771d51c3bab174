#!/bin/sh
# The DSDT's PCI interrupt routing as an independent ACPI interpreter
# (acpica's acpiexec, from the acpica-tools package that provides iasl)
# evaluates it: \_SB.PCI0._PRT before and after \_PIC(1). PIC mode must
# name the PIRQ link devices, APIC mode the IOAPIC inputs 16-19 (source 0),
# both following the board's swizzle (devices/pci.c): slot s, pin p (0 =
# INTA) uses PIRQ (s + p) mod 4, which vm/pc.c wires to IOAPIC pin 16 + that.
#   apic_prt.sh DSDT.aml [ACPIEXEC]
set -eu
aml=$1
acpiexec=${2:-acpiexec}
got=$(printf 'evaluate \\_SB.PCI0._PRT\nevaluate \\_PIC 1\nevaluate \\_SB.PCI0._PRT\nquit\n' |
    "$acpiexec" -di "$aml" 2>&1 | awk '
        /Evaluating \\_SB\.PCI0\._PRT/ { mode++; next }
        /Contains 4 Elements/ { if (line != "") print line; line = mode; next }
        line != "" && /\[Integer\]/ { line = line " " $NF; next }
        line != "" && /\[Object Reference\]/ { line = line " " $(NF - 1); next }
        END { if (line != "") print line }')
want=$(for mode in 1 2; do
    for s in 1 2 3 4 5 6; do
        for p in 0 1 2 3; do
            q=$(((s + p) % 4))
            if [ $mode = 1 ]; then
                link=$(printf 'LNK%s' "$(echo ABCD | cut -c$((q + 1)))")
                printf '%s %016X %016X %s %016X\n' $mode $(((s << 16) | 0xffff)) $p "$link" 0
            else
                printf '%s %016X %016X %016X %016X\n' $mode $(((s << 16) | 0xffff)) $p 0 $((16 + q))
            fi
        done
    done
done)
if [ "$got" != "$want" ]; then
    echo "apic_prt: _PRT differs from the board's wiring"
    printf '%s\n' "$want" > /tmp/apic_prt.want.$$
    printf '%s\n' "$got" | diff -u /tmp/apic_prt.want.$$ - || true
    rm -f /tmp/apic_prt.want.$$
    exit 1
fi
echo "apic_prt: PIC-mode and APIC-mode _PRT match the board (48 entries)"
