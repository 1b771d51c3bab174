/*
 * Platform glue for the benchmark as a Multiboot guest: COM1 output,
 * exit through the debug-exit port (0xf4), an IDT whose every exception
 * reports itself and exits (so a phase that faults in a young emulator
 * says where, instead of triple-faulting silently), and paging.
 *
 * Paging is on by default with 4 KiB pages identity-mapping the first
 * 64 MiB (page 0 left out to catch null pointers), as under an ordinary
 * kernel: the memory phase's 8 MiB working set then really exceeds the
 * soft TLB's reach and exercises the page walker. "paging=0" on the
 * command line leaves it off.
 *
 * Exit codes written to 0xf4 (kestrel and QEMU exit with (v << 1) | 1):
 * 0 all phases ran, 2 bad command line, 0x40 an exception.
 */
#include "../workload.h"

#define EXIT_FAULT 0x40
#define MAP_MB 64

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
};

/* What boot.S's stubs and the CPU leave on the stack; exc_common passes
 * a pointer to it. */
struct exc_frame {
    uint32_t vector, error, eip, cs, eflags;
};

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t zero, type;
    uint16_t off_hi;
};

extern char exc_stubs[];
void guest_main(uint32_t magic, const struct mb_info *info);
void guest_exception(const struct exc_frame *f);

static char cmdline[256];
static struct idt_gate idt[32];
static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t page_tables[MAP_MB / 4][1024] __attribute__((aligned(4096)));

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

void plat_putc(char c)
{
    while (!(inb(0x3fd) & 0x20)) /* wait for an empty transmit holding register */
        ;
    outb(0x3f8, (uint8_t)c);
}

uint64_t plat_time_ns(void)
{
    return 0; /* the harness times the guest from outside */
}

uint64_t plat_cputime_ns(void)
{
    return 0;
}

static __attribute__((noreturn)) void guest_exit(uint32_t code)
{
    outl(0xf4, code);
    for (;;)
        __asm__ volatile("cli; hlt");
}

static void put_str(const char *s)
{
    while (*s)
        plat_putc(*s++);
}

static void put_hex(uint32_t v)
{
    for (int k = 28; k >= 0; k -= 4)
        plat_putc("0123456789abcdef"[(v >> k) & 15]);
}

void guest_exception(const struct exc_frame *f)
{
    put_str("\nfault vector ");
    put_hex(f->vector);
    put_str(" error ");
    put_hex(f->error);
    put_str(" eip ");
    put_hex(f->eip);
    plat_putc('\n');
    guest_exit(EXIT_FAULT);
}

static void idt_init(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    for (int v = 0; v < 32; v++) {
        uint32_t a = (uint32_t)(exc_stubs + 16 * v);
        idt[v] = (struct idt_gate){ (uint16_t)a, cs, 0, 0x8e, (uint16_t)(a >> 16) }; /* 32-bit interrupt gate */
    }
    struct __attribute__((packed)) {
        uint16_t limit;
        uint32_t base;
    } idtr = { sizeof(idt) - 1, (uint32_t)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

/* CR0 for the benchmark: x87 present and usable (EM and TS clear, MP and
 * NE set), and PG when paging is wanted. */
static void cpu_init(int paging)
{
    uint32_t cr0;
    if (paging) {
        for (uint32_t t = 0; t < MAP_MB / 4; t++) {
            for (uint32_t k = 0; k < 1024; k++)
                page_tables[t][k] = ((t << 22) | (k << 12)) | 3; /* present, writable */
            page_dir[t] = (uint32_t)page_tables[t] | 3;
        }
        page_tables[0][0] = 0;
        __asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
    }
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    uint32_t want = (cr0 & ~0x0cu) | 0x22u | (paging ? 0x80000000u : 0);
    if (want != cr0)
        __asm__ volatile("mov %0, %%cr0" : : "r"(want) : "memory");
}

/* Does the command line contain the token `t`? */
static int has_token(const char *s, const char *t)
{
    for (; *s; s++) {
        if (s != cmdline && s[-1] != ' ')
            continue;
        const char *a = s, *b = t;
        while (*b && *a == *b)
            a++, b++;
        if (!*b && (*a == ' ' || !*a))
            return 1;
    }
    return 0;
}

void guest_main(uint32_t magic, const struct mb_info *info)
{
    idt_init();
    if (magic == 0x2badb002u && (info->flags & 4) && info->cmdline) {
        const char *s = (const char *)info->cmdline;
        unsigned n = 0;
        while (s[n] && n < sizeof(cmdline) - 1) {
            cmdline[n] = s[n];
            n++;
        }
        cmdline[n] = 0;
    }
    cpu_init(!has_token(cmdline, "paging=0"));
    guest_exit((uint32_t)bench_main(cmdline));
}
