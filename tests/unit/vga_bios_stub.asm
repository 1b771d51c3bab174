; Real-mode driver for test_vga_bios: calls Debian's SeaBIOS VGA BIOS the
; way system firmware and DOS programs do, one routine per test phase.
; Loaded at 0000:1000 with DS = ES = SS = 0; each routine ends in HLT and
; leaves its results at 0000:0500.
bits 16
org 0x1000

        jmp     near post            ; 0x1000
        jmp     near text            ; 0x1003
        jmp     near gfx13           ; 0x1006
        jmp     near gfx12           ; 0x1009
        jmp     near vbe_lfb         ; 0x100c
        jmp     near vbe_banked      ; 0x100f
        jmp     near cga06           ; 0x1012
        jmp     near ega0d           ; 0x1015
        jmp     near text40          ; 0x1018

; Option ROM initialisation: far call to C000:0003 (AX = PCI bus/dev/fn).
post:
        xor     ax, ax
        call    0xc000:0x0003
        hlt

; Mode 03h, the 8x16 font's address (INT 10h AX=1130h BH=6 -> ES:BP),
; teletype output, then the cursor moved to row 5, column 10.
text:
        mov     ax, 0x0003
        int     0x10
        push    es
        mov     ax, 0x1130
        mov     bh, 6
        int     0x10
        mov     [0x500], bp
        mov     [0x502], es
        pop     es
        mov     si, msg
.next:  lodsb
        test    al, al
        jz      .done
        mov     ah, 0x0e
        mov     bx, 0x0007
        int     0x10
        jmp     .next
.done:  mov     ah, 0x02
        xor     bh, bh
        mov     dx, 0x050a
        int     0x10
        hlt

; Mode 13h, pixel (100, 50) in colour 4 through INT 10h AH=0Ch.
gfx13:
        mov     ax, 0x0013
        int     0x10
        mov     ax, 0x0c04
        xor     bh, bh
        mov     cx, 100
        mov     dx, 50
        int     0x10
        hlt

; Mode 12h, pixel (639, 479) in colour 14.
gfx12:
        mov     ax, 0x0012
        int     0x10
        mov     ax, 0x0c0e
        xor     bh, bh
        mov     cx, 639
        mov     dx, 479
        int     0x10
        hlt

; VBE: controller info (ES:DI = 0:0600), mode 112h info (0:0800), then
; set mode 112h (640x480x24) with the linear framebuffer. Status words
; (AX) go to 0500, 0502, 0504.
vbe_lfb:
        mov     ax, 0x4f00
        mov     di, 0x600
        mov     dword [di], 'VBE2'
        int     0x10
        mov     [0x500], ax
        mov     ax, 0x4f01
        mov     cx, 0x112
        mov     di, 0x800
        int     0x10
        mov     [0x502], ax
        mov     ax, 0x4f02
        mov     bx, 0x4112
        int     0x10
        mov     [0x504], ax
        hlt

; VBE mode 101h (640x480x8) through the banked window: the pixel at
; (639, 479) is 479 * 640 + 639 = 4AFFFh bytes into video memory, so the
; window is moved to bank 4 (VBE function 05h, 64 KiB granularity) and the
; byte written at A000:AFFF. Status words go to 0500, 0502, 0504; the bank
; read back (function 05h, BH=1) to 0506.
vbe_banked:
        mov     ax, 0x4f02
        mov     bx, 0x0101
        int     0x10
        mov     [0x500], ax
        mov     ax, 0x4f05
        xor     bx, bx
        mov     dx, 4
        int     0x10
        mov     [0x502], ax
        mov     ax, 0x4f05
        mov     bx, 0x0100
        int     0x10
        mov     [0x504], ax
        mov     [0x506], dx
        push    es
        mov     ax, 0xa000
        mov     es, ax
        mov     byte [es:0xafff], 0x20
        pop     es
        hlt

; Mode 06h (CGA 640x200, 2 colours), pixel (639, 199) in colour 1.
cga06:
        mov     ax, 0x0006
        int     0x10
        mov     ax, 0x0c01
        xor     bh, bh
        mov     cx, 639
        mov     dx, 199
        int     0x10
        hlt

; Mode 0Dh (EGA 320x200, 16 colours), pixel (319, 199) in colour 12.
ega0d:
        mov     ax, 0x000d
        int     0x10
        mov     ax, 0x0c0c
        xor     bh, bh
        mov     cx, 319
        mov     dx, 199
        int     0x10
        hlt

; Mode 01h (40x25 text), "Hi" by teletype.
text40:
        mov     ax, 0x0001
        int     0x10
        mov     ax, 0x0e48
        mov     bx, 0x0007
        int     0x10
        mov     ax, 0x0e69
        int     0x10
        hlt

msg:    db      "Kestrel VGA", 13, 10, "second line ", 0x82, 0
