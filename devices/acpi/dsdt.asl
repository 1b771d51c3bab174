/*
 * Kestrel PC DSDT: the PCI root bridge and its resources, PCI interrupt
 * routing (through the PIIX3 PIRQ link devices in PIC mode, straight to
 * IOAPIC inputs 16-19 in APIC mode, chosen by \_PIC), the ISA devices an OS
 * expects to find, and the sleep states (\_S5 is power off).
 * Compiled with iasl at build time (devices/acpi.cmake).
 */
DefinitionBlock ("dsdt.aml", "DSDT", 1, "KSTREL", "KESTRELP", 0x1)
{
    /* The OS's interrupt model (ACPI 1.0b 5.8.1): 0 = 8259 PIC, 1 = APIC.
     * It selects the PCI routing table below. */
    Name (PICF, Zero)
    Method (_PIC, 1, NotSerialized)
    {
        Store (Arg0, PICF)
    }

    Scope (\_SB)
    {
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A03"))
            Name (_UID, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000, 0x0000, 0x00FF, 0x0000, 0x0100)
                IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300)
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,
                    0x00000000, 0x000A0000, 0x000BFFFF, 0x00000000, 0x00020000)
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                    0x00000000, 0xE0000000, 0xFEBFFFFF, 0x00000000, 0x1EC00000)
            })

            /* PIIX3 PIRQ route control registers (00:01.0, 0x60-0x63). */
            Device (ISA)
            {
                Name (_ADR, 0x00010000)
                OperationRegion (PIRQ, PCI_Config, 0x60, 0x04)
                Field (PIRQ, ByteAcc, NoLock, Preserve)
                {
                    PRQA, 8, PRQB, 8, PRQC, 8, PRQD, 8
                }
            }

            /* Slot n, pin p uses PIRQ (n + p) mod 4: the bus's standard swizzle.
             * PIC mode: through the PIRQ link devices to an ISA IRQ. */
            Name (PRTP, Package ()
            {
                Package () { 0x0001FFFF, 0, LNKB, 0 }, Package () { 0x0001FFFF, 1, LNKC, 0 },
                Package () { 0x0001FFFF, 2, LNKD, 0 }, Package () { 0x0001FFFF, 3, LNKA, 0 },
                Package () { 0x0002FFFF, 0, LNKC, 0 }, Package () { 0x0002FFFF, 1, LNKD, 0 },
                Package () { 0x0002FFFF, 2, LNKA, 0 }, Package () { 0x0002FFFF, 3, LNKB, 0 },
                Package () { 0x0003FFFF, 0, LNKD, 0 }, Package () { 0x0003FFFF, 1, LNKA, 0 },
                Package () { 0x0003FFFF, 2, LNKB, 0 }, Package () { 0x0003FFFF, 3, LNKC, 0 },
                Package () { 0x0004FFFF, 0, LNKA, 0 }, Package () { 0x0004FFFF, 1, LNKB, 0 },
                Package () { 0x0004FFFF, 2, LNKC, 0 }, Package () { 0x0004FFFF, 3, LNKD, 0 },
                Package () { 0x0005FFFF, 0, LNKB, 0 }, Package () { 0x0005FFFF, 1, LNKC, 0 },
                Package () { 0x0005FFFF, 2, LNKD, 0 }, Package () { 0x0005FFFF, 3, LNKA, 0 },
                Package () { 0x0006FFFF, 0, LNKC, 0 }, Package () { 0x0006FFFF, 1, LNKD, 0 },
                Package () { 0x0006FFFF, 2, LNKA, 0 }, Package () { 0x0006FFFF, 3, LNKB, 0 },
            })
            /* APIC mode: PIRQ A-D are wired to IOAPIC inputs 16-19 (GSIs,
             * level triggered, active low: the default for PCI). */
            Name (PRTA, Package ()
            {
                Package () { 0x0001FFFF, 0, 0, 17 }, Package () { 0x0001FFFF, 1, 0, 18 },
                Package () { 0x0001FFFF, 2, 0, 19 }, Package () { 0x0001FFFF, 3, 0, 16 },
                Package () { 0x0002FFFF, 0, 0, 18 }, Package () { 0x0002FFFF, 1, 0, 19 },
                Package () { 0x0002FFFF, 2, 0, 16 }, Package () { 0x0002FFFF, 3, 0, 17 },
                Package () { 0x0003FFFF, 0, 0, 19 }, Package () { 0x0003FFFF, 1, 0, 16 },
                Package () { 0x0003FFFF, 2, 0, 17 }, Package () { 0x0003FFFF, 3, 0, 18 },
                Package () { 0x0004FFFF, 0, 0, 16 }, Package () { 0x0004FFFF, 1, 0, 17 },
                Package () { 0x0004FFFF, 2, 0, 18 }, Package () { 0x0004FFFF, 3, 0, 19 },
                Package () { 0x0005FFFF, 0, 0, 17 }, Package () { 0x0005FFFF, 1, 0, 18 },
                Package () { 0x0005FFFF, 2, 0, 19 }, Package () { 0x0005FFFF, 3, 0, 16 },
                Package () { 0x0006FFFF, 0, 0, 18 }, Package () { 0x0006FFFF, 1, 0, 19 },
                Package () { 0x0006FFFF, 2, 0, 16 }, Package () { 0x0006FFFF, 3, 0, 17 },
            })
            Method (_PRT, 0, NotSerialized)
            {
                If (\PICF) { Return (PRTA) }
                Return (PRTP)
            }
        }

        /* A PCI interrupt link: which ISA IRQ a PIRQ line is routed to. */
        Method (IQST, 1, NotSerialized)
        {
            If (And (Arg0, 0x80)) { Return (0x09) }
            Return (0x0B)
        }
        Method (IQCR, 1, Serialized)
        {
            Name (PRR0, ResourceTemplate () { IRQ (Level, ActiveLow, Shared, ) {} })
            CreateWordField (PRR0, 0x01, IRQW)
            If (LLess (And (Arg0, 0x8F), 0x10))
            {
                ShiftLeft (One, And (Arg0, 0x0F), IRQW)
            }
            Return (PRR0)
        }
        Name (PRSL, ResourceTemplate () { IRQ (Level, ActiveLow, Shared, ) {5, 10, 11} })

        Device (LNKA)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, One)
            Method (_STA, 0, NotSerialized) { Return (IQST (\_SB.PCI0.ISA.PRQA)) }
            Method (_PRS, 0, NotSerialized) { Return (PRSL) }
            Method (_DIS, 0, NotSerialized) { Or (\_SB.PCI0.ISA.PRQA, 0x80, \_SB.PCI0.ISA.PRQA) }
            Method (_CRS, 0, NotSerialized) { Return (IQCR (\_SB.PCI0.ISA.PRQA)) }
            Method (_SRS, 1, NotSerialized)
            {
                CreateWordField (Arg0, 0x01, IRQ0)
                FindSetRightBit (IRQ0, Local0)
                Decrement (Local0)
                Store (Local0, \_SB.PCI0.ISA.PRQA)
            }
        }
        Device (LNKB)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, 0x02)
            Method (_STA, 0, NotSerialized) { Return (IQST (\_SB.PCI0.ISA.PRQB)) }
            Method (_PRS, 0, NotSerialized) { Return (PRSL) }
            Method (_DIS, 0, NotSerialized) { Or (\_SB.PCI0.ISA.PRQB, 0x80, \_SB.PCI0.ISA.PRQB) }
            Method (_CRS, 0, NotSerialized) { Return (IQCR (\_SB.PCI0.ISA.PRQB)) }
            Method (_SRS, 1, NotSerialized)
            {
                CreateWordField (Arg0, 0x01, IRQ0)
                FindSetRightBit (IRQ0, Local0)
                Decrement (Local0)
                Store (Local0, \_SB.PCI0.ISA.PRQB)
            }
        }
        Device (LNKC)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, 0x03)
            Method (_STA, 0, NotSerialized) { Return (IQST (\_SB.PCI0.ISA.PRQC)) }
            Method (_PRS, 0, NotSerialized) { Return (PRSL) }
            Method (_DIS, 0, NotSerialized) { Or (\_SB.PCI0.ISA.PRQC, 0x80, \_SB.PCI0.ISA.PRQC) }
            Method (_CRS, 0, NotSerialized) { Return (IQCR (\_SB.PCI0.ISA.PRQC)) }
            Method (_SRS, 1, NotSerialized)
            {
                CreateWordField (Arg0, 0x01, IRQ0)
                FindSetRightBit (IRQ0, Local0)
                Decrement (Local0)
                Store (Local0, \_SB.PCI0.ISA.PRQC)
            }
        }
        Device (LNKD)
        {
            Name (_HID, EisaId ("PNP0C0F"))
            Name (_UID, 0x04)
            Method (_STA, 0, NotSerialized) { Return (IQST (\_SB.PCI0.ISA.PRQD)) }
            Method (_PRS, 0, NotSerialized) { Return (PRSL) }
            Method (_DIS, 0, NotSerialized) { Or (\_SB.PCI0.ISA.PRQD, 0x80, \_SB.PCI0.ISA.PRQD) }
            Method (_CRS, 0, NotSerialized) { Return (IQCR (\_SB.PCI0.ISA.PRQD)) }
            Method (_SRS, 1, NotSerialized)
            {
                CreateWordField (Arg0, 0x01, IRQ0)
                FindSetRightBit (IRQ0, Local0)
                Decrement (Local0)
                Store (Local0, \_SB.PCI0.ISA.PRQD)
            }
        }
    }

    Scope (\_SB.PCI0.ISA)
    {
        Device (RTC)
        {
            Name (_HID, EisaId ("PNP0B00"))
            Name (_CRS, ResourceTemplate () { IO (Decode16, 0x0070, 0x0070, 0x10, 0x02) IRQNoFlags () {8} })
        }
        Device (KBD)
        {
            Name (_HID, EisaId ("PNP0303"))
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16, 0x0060, 0x0060, 0x01, 0x01)
                IO (Decode16, 0x0064, 0x0064, 0x01, 0x01)
                IRQNoFlags () {1}
            })
        }
        Device (MOU)
        {
            Name (_HID, EisaId ("PNP0F13"))
            Name (_CRS, ResourceTemplate () { IRQNoFlags () {12} })
        }
        Device (COM1)
        {
            Name (_HID, EisaId ("PNP0501"))
            Name (_UID, One)
            Name (_CRS, ResourceTemplate () { IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08) IRQNoFlags () {4} })
        }
    }

    /* Sleep states: the SLP_TYP values written to PM1a_CNT. Only S5 (off). */
    Name (\_S5, Package (0x04) { Zero, Zero, Zero, Zero })
}
