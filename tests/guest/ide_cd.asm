; An El Torito "no emulation" boot image (2048 bytes, loaded at 0000:7C00
; by SeaBIOS from our ATAPI CD-ROM) that checks the drive through the
; BIOS and reports over COM1:
;   - DL is the CD's drive number E0h;
;   - INT 13h AH=41h/48h: extensions present, 2048-byte sectors;
;   - AH=42h of LBA 16..47 in one call: the primary volume descriptor
;     ("\1CD001\1") at 16, and a descriptor or the terminator at 17;
;   - AH=42h of the boot image's own sector (the LBA the El Torito boot
;     information table, made by -boot-info-table, put at offset 12)
;     returns exactly the bytes that were loaded here.
; Then it leaves through the debug-exit port (0 = pass).
; Assemble: nasm -f bin -o boot.bin ide_cd.asm
bits 16
org 0x7c00

BUF     equ 0x1000          ; segment of the read buffer (0x10000)
drive   equ 0x600
dap     equ 0x610
params  equ 0x630

start:
    jmp short main
    nop
    times 8 - ($ - $$) db 0
; El Torito boot information table (filled in by the ISO mastering tool).
bi_pvd:    dd 0
bi_file:   dd 0
bi_length: dd 0
bi_csum:   dd 0
    times 40 db 0

main:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov [drive], dl
    cmp dl, 0xe0
    jne fail
    mov si, s_drive
    call say

    mov ah, 0x41
    mov bx, 0x55aa
    mov dl, [drive]
    int 0x13
    jc fail
    cmp bx, 0xaa55
    jne fail
    mov word [params], 0x1e
    mov ah, 0x48
    mov dl, [drive]
    mov si, params
    int 0x13
    jc fail
    cmp word [params + 0x18], 2048
    jne fail
    mov si, s_params
    call say

    ; LBA 16..47 in one request: volume descriptors.
    mov byte [dap], 16
    mov byte [dap + 1], 0
    mov word [dap + 2], 32
    mov word [dap + 4], 0
    mov word [dap + 6], BUF
    mov dword [dap + 8], 16
    mov dword [dap + 12], 0
    call read
    push ds
    mov ax, BUF
    mov ds, ax
    cmp dword [0], 0x30444301   ; 01 'C' 'D' '0'
    jne .bad
    cmp word [4], 0x3130        ; '0' '1'
    jne .bad
    cmp dword [2048 + 1], 0x30304443 ; 'C' 'D' '0' '0' of the next descriptor
    jne .bad
    pop ds
    mov si, s_pvd
    call say

    ; The boot image's own sector equals what was loaded.
    mov eax, [bi_file]
    test eax, eax
    jz fail
    mov [dap + 8], eax
    mov word [dap + 2], 1
    call read
    push ds
    mov ax, BUF
    mov ds, ax
    xor si, si
    xor ax, ax
    mov es, ax
    mov di, 0x7c00
    mov cx, 1024
    repe cmpsw
    jne .bad
    pop ds
    mov si, s_self
    call say

    mov si, s_pass
    call say
    xor al, al
    out 0xf4, al
    hlt
.bad:
    pop ds
    jmp fail

read:
    mov ah, 0x42
    mov dl, [drive]
    mov si, dap
    int 0x13
    jc fail
    ret

fail:
    mov si, s_fail
    call say
    mov al, 1
    out 0xf4, al
    hlt

; Interrupts are off while a line goes out: SeaBIOS's serial console
; flushes its own pending output from the timer interrupt, which would
; otherwise land in the middle of our line (seen under a slow KVM).
say:
    pushf
    cli
    push si
    mov si, s_prefix
    call print
    pop si
    call print
    popf
    ret

print:
    lodsb
    test al, al
    jz .done
    push ax
    mov dx, 0x3fd
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop ax
    mov dx, 0x3f8
    out dx, al
    jmp print
.done:
    ret

s_prefix: db "IDE cd: ", 0
s_drive: db "boot drive e0", 10, 0
s_params: db "EDD, 2048-byte sectors", 10, 0
s_pvd: db "volume descriptors ok", 10, 0
s_self: db "boot image read back ok", 10, 0
s_pass: db "pass", 10, 0
s_fail: db "FAIL", 10, 0

    times 2048 - ($ - $$) db 0
