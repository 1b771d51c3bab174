; A 1 MiB raw disk image whose MBR boot sector checks the disk through the
; BIOS (SeaBIOS's INT 13h driving our IDE disk) and reports over COM1:
;   - the boot drive in DL is 80h (the first hard disk);
;   - INT 13h AH=41h/48h: extensions present, 2048 sectors of 512 bytes;
;   - AH=42h reads of LBA 1..100 in one call (multi-sector, LBA) and of the
;     last sector: every sector i >= 1 starts with the dword i;
;   - AH=02h reads C/H/S 0/0/3 (LBA 2): the CHS path;
;   - AH=43h writes a pattern to LBA 1000 and AH=42h reads it back.
; Then it leaves through the debug-exit port (0 = pass).
; Assemble: nasm -f bin -o disk.img ide_disk.asm
bits 16
org 0x7c00

SECTORS equ 2048
BUF     equ 0x1000          ; segment of the 64 KiB read buffer (0x10000)
; Variables live below the boot sector (only 512 bytes are loaded).
drive   equ 0x600
dap     equ 0x610           ; INT 13h extensions disk address packet
dap.count equ dap + 2
dap.off equ dap + 4
dap.seg equ dap + 6
dap.lba equ dap + 8
params  equ 0x630           ; AH=48h result buffer

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov [drive], dl
    mov di, dap
    mov cx, 16
    xor al, al
    rep stosb
    mov byte [dap], 16

    cmp dl, 0x80            ; the first hard disk
    jne fail
    mov si, s_drive
    call say

    ; Extensions and geometry.
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
    cmp word [params + 0x18], 512
    jne fail
    cmp dword [params + 0x10], SECTORS
    jne fail
    cmp dword [params + 0x14], 0
    jne fail
    mov si, s_params
    call say

    ; LBA 1..100 in one request.
    mov word [dap.count], 100
    mov word [dap.seg], BUF
    mov dword [dap.lba], 1
    mov ah, 0x42
    call disk_dap
    mov cx, 100
    mov ebx, 1
    call check_run
    ; The last sector.
    mov word [dap.count], 1
    mov dword [dap.lba], SECTORS - 1
    mov ah, 0x42
    call disk_dap
    mov cx, 1
    mov ebx, SECTORS - 1
    call check_run
    mov si, s_lba
    call say

    ; CHS 0/0/3 = LBA 2.
    mov ax, BUF
    mov es, ax
    xor bx, bx
    mov ax, 0x0201
    mov cx, 0x0003
    xor dh, dh
    mov dl, [drive]
    int 0x13
    jc fail
    mov cx, 1
    mov ebx, 2
    call check_run
    mov si, s_chs
    call say

    ; Write LBA 1000 from the boot sector's own bytes, read back, compare.
    mov word [dap.count], 1
    mov word [dap.seg], 0
    mov word [dap.off], 0x7c00
    mov dword [dap.lba], 1000
    mov ax, 0x4300
    call disk_dap
    mov word [dap.seg], BUF
    mov word [dap.off], 0
    mov ah, 0x42
    call disk_dap
    push ds
    mov ax, BUF
    mov ds, ax
    xor si, si
    mov di, 0x7c00
    xor ax, ax
    mov es, ax
    mov cx, 256
    repe cmpsw
    pop ds
    jne fail
    mov si, s_write
    call say

    mov si, s_pass
    call say
    xor al, al
    out 0xf4, al
    hlt

; AH = function; uses dap. Fails the test on error.
disk_dap:
    mov dl, [drive]
    mov si, dap
    int 0x13
    jc fail
    ret

; CX sectors at BUF:0 must start with dwords EBX, EBX+1, ...
check_run:
    push ds
    mov ax, BUF
    mov ds, ax
    xor si, si
.next:
    cmp [si], ebx
    jne .bad
    inc ebx
    add si, 512
    loop .next
    pop ds
    ret
.bad:
    pop ds
    jmp fail

fail:
    mov si, s_fail
    call say
    mov al, 1
    out 0xf4, al
    hlt

; Print "IDE disk: " and the NUL-terminated string at DS:SI on COM1.
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
    call putc
    jmp print
.done:
    ret

putc:
    push dx
    push ax
    mov dx, 0x3fd
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop ax
    mov dx, 0x3f8
    out dx, al
    pop dx
    ret

s_prefix: db "IDE disk: ", 0
s_drive: db "boot drive 80", 10, 0
s_params: db "EDD 2048x512", 10, 0
s_lba: db "LBA ok", 10, 0
s_chs: db "CHS ok", 10, 0
s_write: db "write ok", 10, 0
s_pass: db "pass", 10, 0
s_fail: db "FAIL", 10, 0

times 510 - ($ - $$) db 0
    dw 0xaa55

; Sectors 1 .. SECTORS-1: each starts with its own LBA.
%assign i 1
%rep SECTORS - 1
    dd i
    times 508 db 0
%assign i i + 1
%endrep
