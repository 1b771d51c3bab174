/*
 * The JIT's guest memory accesses without a soft-TLB probe of their own:
 * probe groups (jit/probe.c: accesses at constant distances from one
 * value, indexed accesses, table lookups share one probe) and the probe
 * cache of loop translations (probe.c ir_strides, x64/memop.c: a page's
 * TLB entry kept from one iteration to the next). Each test puts its
 * accesses where it matters: across pages, past the end of RAM into
 * device memory, over translated code, through a page remapped meanwhile;
 * the results are the architecture's, computed here.
 */
#include <check.h>
#include <string.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "cpu/sysregs.h"
#include "jit/jit.h"
#include "mmu/phys.h"
#include "tests/common/check_run.h"
#include "tests/unit/jit_harness.h"

/* mov [esi], eax; mov [esi+8], ecx; mov edx, [esi+4]; add edx, [esi];
 * add edx, [esi+8]; mov eax, edx; hlt: five accesses, one probe group */
static const uint8_t prog_group[] = { 0x89, 0x06, 0x89, 0x4e, 0x08, 0x8b, 0x56, 0x04,
                                      0x03, 0x16, 0x03, 0x56, 0x08, 0x89, 0xd0, 0xf4 };

/* The five accesses' words at `at` (k bytes before the end of RAM: the
 * rest are device memory): a and c stored at +0 and +8, b loaded from +4. */
static void group_words(uint32_t at, uint32_t b)
{
    memset(devmem, 0, sizeof(devmem));
    put32(at, 0);
    put32(at + 8, 0);
    put32(at + 4, b);
}

static void group_check(uint32_t at, uint32_t k, uint32_t a, uint32_t b, uint32_t c)
{
    ck_assert_uint_eq(get32(at), a);
    ck_assert_uint_eq(get32(at + 8), c);
    for (uint32_t i = k; i < 12; i++) { /* the bytes the device holds */
        uint32_t w = i < 4 ? a : i < 8 ? b : c;
        ck_assert_uint_eq(devmem[i - k], (uint8_t)(w >> 8 * (i % 4)));
    }
}

/* The group's bytes at every position against the end of RAM, where
 * device memory follows: those past it must reach the device, whether
 * the group's one probe covers them or not. */
START_TEST(probe_groups)
{
    setup_with(&(struct jit_config){ .threshold = 0 });
    static const struct mmio_ops ops = { .read = devmem_read, .write = devmem_write };
    ck_assert_int_eq(phys_add_mmio(&mem, 4u << 20, 0x1000, &ops, NULL, "devmem"), 0);
    put(0x1000, prog_group, sizeof(prog_group));
    for (int round = 0; round < 3; round++)
        for (uint32_t k = 1; k <= 16; k++) {
            uint32_t base = (4u << 20) - k, a = 0x01020304u * k, b = 0x10000000u + k, c = 0x50607080u ^ k;
            group_words(base, b);
            cpu.gpr[R_ESI] = base;
            cpu.gpr[R_EAX] = a;
            cpu.gpr[R_ECX] = c;
            ck_assert_uint_eq(run(0x1000), a + b + c);
            group_check(base, k, a, b, c);
        }
    teardown();
}
END_TEST

/*
 * The probe cache (jit/probe.c ir_strides, jit/x64/memop.c): a loop's
 * accesses through registers that step by a few bytes keep their page's
 * TLB entry from one iteration to the next. The models below are the
 * architecture's, computed here; the interpreter must agree with them too.
 */

/* mov eax, [esi]; add esi, S; mov [edi], eax; add edi, S; dec ecx; jnz;
 * hlt: dword copies S bytes apart, which cross pages at every alignment.
 * Wide: two dwords each time (mov edx, [esi+4] ... mov [edi+4], edx),
 * the two loads and the two stores a probe group each. */
static void put_stride_copy(uint8_t stride, bool wide)
{
    const uint8_t code[] = { 0x8b, 0x06, 0x83, 0xc6, stride, 0x89, 0x07, 0x83, 0xc7, stride, 0x49, 0x75, 0xf3, 0xf4 };
    const uint8_t code2[] = { 0x8b, 0x06, 0x8b, 0x56, 0x04, 0x83, 0xc6, stride, 0x89, 0x07, 0x89,
                              0x57, 0x04, 0x83, 0xc7, stride, 0x49, 0x75, 0xed, 0xf4 };
    if (wide)
        put(0x1000, code2, sizeof(code2));
    else
        put(0x1000, code, sizeof(code));
}

static uint8_t guest_byte(uint32_t at)
{
    return at < (4u << 20) ? (uint8_t)phys_read(&mem, at, 1) : devmem[(at - (4u << 20)) & 4095];
}

/* The copy from src to dst, n words `stride` bytes apart, in slices of
 * `slice` instructions, checked byte by byte against its model: the
 * destination runs past the end of RAM into device memory. */
static void stride_copy_check(uint32_t src, uint32_t dst, uint32_t n, uint8_t stride, uint32_t width, unsigned slice)
{
    enum { MAXB = 8 * 200 + 8 };
    uint8_t want[MAXB];
    uint32_t len = stride * (n - 1) + width;
    ck_assert_uint_le(len, MAXB);
    for (uint32_t i = 0; i < len; i++) {
        phys_write(&mem, src + i, 1, (i * 151 + src) & 0xff);
        want[i] = guest_byte(dst + i);
    }
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < width; i++)
            want[stride * k + i] = (uint8_t)phys_read(&mem, src + stride * k + i, 1);
    cpu.gpr[R_ESI] = src;
    cpu.gpr[R_EDI] = dst;
    cpu.gpr[R_ECX] = n;
    cpu.eip = 0x1000;
    run_slices(slice);
    for (uint32_t i = 0; i < len; i++)
        ck_assert_msg(guest_byte(dst + i) == want[i], "byte %u of the copy to %#x (stride %u, slices of %u)", i, dst,
                      stride, slice);
}

/* Pages crossed by the accesses at every alignment, into device memory
 * (never through a cached page), the loop entered again and again (a
 * slice ends at its back edge's budget check). */
START_TEST(probe_cache)
{
    static const struct jit_config cfgs[] = { { .threshold = 1000000 }, { .threshold = 0, .stats = true } };
    static const unsigned slices[] = { 1000000, 7, 40 };
    for (int c = 0; c < 2; c++) {
        setup_with(&cfgs[c]);
        static const struct mmio_ops ops = { .read = devmem_read, .write = devmem_write };
        ck_assert_int_eq(phys_add_mmio(&mem, 4u << 20, 0x1000, &ops, NULL, "devmem"), 0);
        for (int wide = 0; wide < 2; wide++)
            for (uint8_t stride = (uint8_t)(3 + 4 * wide); stride <= 4 + 4 * wide; stride++) {
                put_stride_copy(stride, wide);
                for (uint32_t r = 0; r < 8; r++)
                    for (int sl = 0; sl < 3; sl++) /* the source and the destination cross a page halfway */
                        stride_copy_check(0x4000 - 75 * stride - r, (4u << 20) - 75 * stride - r, 150, stride,
                                          4 + 4 * (uint32_t)wide, slices[sl]);
            }
        if (c == 1)
            ck_assert_uint_ge(jit_get_stats(jit)->jit_probe_strided, 6);
        teardown();
    }
}
END_TEST

/* A device access in the loop (a read, or a write) remaps the page a cached access reads
 * (a PTE changed and its TLB entry dropped, as an INVLPG would): the
 * iterations after it read the new page. */
enum { PC_PD = 0x10000, PC_PT0 = 0x11000, PC_PT1 = 0x12000, PC_WIN = 0x20000, PC_A = 0x30000, PC_B = 0x31000 };
static uint32_t pc_reads, pc_remap_at;

static uint32_t pc_remap_read(void *opaque, uint64_t off, int size)
{
    (void)opaque, (void)off, (void)size;
    if (pc_reads++ == pc_remap_at) {
        phys_write(&mem, PC_PT0 + (PC_WIN >> 12) * 4, 4, PC_B | 3);
        cpu_tlb_flush_page(&cpu, PC_WIN);
    }
    return 0;
}

static void pc_remap_write(void *opaque, uint64_t off, int size, uint32_t val)
{
    (void)val;
    pc_remap_read(opaque, off, size);
}

/* mov eax, [esi]; add ebx, eax; mov edx, [edi]; add ebx, edx;
 * add esi, 4; dec ecx; jnz; hlt; and the same with mov [edi], edx
 * (the device's write remaps) */
static const uint8_t prog_remap_sum[2][15] = {
    { 0x8b, 0x06, 0x01, 0xc3, 0x8b, 0x17, 0x01, 0xd3, 0x83, 0xc6, 0x04, 0x49, 0x75, 0xf2, 0xf4 },
    { 0x8b, 0x06, 0x01, 0xc3, 0x89, 0x17, 0x01, 0xd3, 0x83, 0xc6, 0x04, 0x49, 0x75, 0xf2, 0xf4 },
};

START_TEST(probe_cache_remap)
{
    static const struct jit_config cfgs[] = { { .threshold = 1000000 }, { .threshold = 0, .stats = true } };
    for (int c = 0; c < 4; c++) {
        setup_with(&cfgs[c & 1]);
        static const struct mmio_ops ops = { .read = pc_remap_read, .write = pc_remap_write };
        ck_assert_int_eq(phys_add_mmio(&mem, 4u << 20, 0x1000, &ops, NULL, "remap"), 0);
        for (uint32_t k = 0; k < 1024; k++) {
            phys_write(&mem, PC_PT0 + 4 * k, 4, k << 12 | 3);
            phys_write(&mem, PC_A + 4 * k, 4, k * 0x9e3779b9u);
            phys_write(&mem, PC_B + 4 * k, 4, k * 0x85ebca6bu + 1);
        }
        phys_write(&mem, PC_PT1, 4, (4u << 20) | 3);
        phys_write(&mem, PC_PD, 4, PC_PT0 | 3);
        phys_write(&mem, PC_PD + 4, 4, PC_PT1 | 3);
        put(0x1000, prog_remap_sum[c >> 1], sizeof(prog_remap_sum[0]));
        cpu_write_cr3(&cpu, PC_PD);
        cpu_write_cr0(&cpu, cpu.cr0 | CR0_PG);
        static const uint32_t at[] = { 0, 5, 100, 255, 1000, 37, 1000, 200 };
        for (int r = 0; r < 8; r++) {
            phys_write(&mem, PC_PT0 + (PC_WIN >> 12) * 4, 4, PC_A | 3);
            cpu_tlb_flush_page(&cpu, PC_WIN);
            pc_reads = 0;
            pc_remap_at = at[r];
            uint32_t want = 0;
            for (uint32_t i = 0; i < 256; i++)
                want += (uint32_t)phys_read(&mem, (i <= at[r] ? PC_A : PC_B) + 4 * i, 4);
            cpu.gpr[R_EBX] = 0;
            cpu.gpr[R_EDX] = 0;
            cpu.gpr[R_ECX] = 256;
            cpu.gpr[R_ESI] = PC_WIN;
            cpu.gpr[R_EDI] = 4u << 20;
            run(0x1000);
            ck_assert_msg((uint32_t)cpu.gpr[R_EBX] == want, "remapped after read %u: sum %#x, want %#x", at[r],
                          (uint32_t)cpu.gpr[R_EBX], want);
        }
        if (c & 1)
            ck_assert_uint_ge(jit_get_stats(jit)->jit_probe_strided, 2);
        teardown();
    }
}
END_TEST

/* mov al, [esi]; inc esi; mov [edi], al; inc edi; dec ecx; jnz; hlt:
 * copying code over a page whose code was translated since the loop
 * last wrote there (and filled its cache from it) */
static const uint8_t prog_byte_copy[] = { 0x8a, 0x06, 0x46, 0x88, 0x07, 0x47, 0x49, 0x75, 0xf7, 0xf4 };

START_TEST(probe_cache_smc)
{
    setup_with(&(struct jit_config){ .threshold = 0, .stats = true });
    put(0x1000, prog_byte_copy, sizeof(prog_byte_copy));
    for (uint32_t v = 1; v <= 6; v++) {
        uint8_t code[64];
        memset(code, 0x90, sizeof(code));
        const uint8_t mov_hlt[] = { 0xb8, (uint8_t)v, (uint8_t)(v >> 8), 0x5a, 0xa5, 0xf4 }; /* mov eax, imm; hlt */
        memcpy(code + (v & 1) * 32, mov_hlt, sizeof(mov_hlt)); /* at 0x5000 or 0x5020, after NOPs */
        put(0x6000, code, sizeof(code));
        cpu.gpr[R_ESI] = 0x6000;
        cpu.gpr[R_EDI] = 0x5000;
        cpu.gpr[R_ECX] = sizeof(code);
        run(0x1000);
        ck_assert_uint_eq(run(0x5000), 0xa55a0000u | v);
    }
    ck_assert_uint_ge(jit_get_stats(jit)->jit_probe_strided, 2);
    teardown();
}
END_TEST

/* fninit; fld qword [esi]; fst qword [esi+8]; fstp qword [esi+16]; hlt:
 * three x87 memory operands, one probe group */
static const uint8_t prog_x87_group[] = { 0xdb, 0xe3, 0xdd, 0x06, 0xdd, 0x56, 0x08, 0xdd, 0x5e, 0x10, 0xf4 };

/* movsx eax, byte [esi]; movsx ecx, word [esi+2]; add eax, ecx; hlt:
 * two sign-extending loads in one probe group */
static const uint8_t prog_group_signed[] = { 0x0f, 0xbe, 0x06, 0x0f, 0xbf, 0x4e, 0x02, 0x01, 0xc8, 0xf4 };

/* A group across a page boundary has no one TLB entry: its base is 0 and
 * each load probes for itself and loads out of line, then goes back past
 * the main path's load; inside a page the main path loads. */
START_TEST(probe_groups_signed)
{
    setup_with(&(struct jit_config){ .threshold = 0 });
    put(0x1000, prog_group_signed, sizeof(prog_group_signed));
    for (int round = 0; round < 3; round++)
        for (uint32_t k = 0; k <= 4; k++) {
            uint32_t base = k ? 0x3000 - k : 0x3010;
            uint8_t lo = (uint8_t)(0x80 | (k + (uint32_t)round));
            uint16_t w = (uint16_t)(0x8000 | k << 4 | (uint32_t)round);
            phys_write(&mem, base, 1, lo);
            phys_write(&mem, base + 2, 1, w & 0xff);
            phys_write(&mem, base + 3, 1, w >> 8);
            cpu.gpr[R_ESI] = base;
            ck_assert_uint_eq(run(0x1000), (uint32_t)((int32_t)(int8_t)lo + (int32_t)(int16_t)w));
        }
    teardown();
}
END_TEST

/* The same for x87 operands, which the backend runs on the host's x87:
 * a group straddling the end of RAM must not hand them its base. */
START_TEST(probe_groups_x87)
{
    setup_with(&(struct jit_config){ .threshold = 0 });
    static const struct mmio_ops ops = { .read = devmem_read, .write = devmem_write };
    ck_assert_int_eq(phys_add_mmio(&mem, 4u << 20, 0x1000, &ops, NULL, "devmem"), 0);
    put(0x1000, prog_x87_group, sizeof(prog_x87_group));
    const uint64_t pi = 0x400921fb54442d18ull; /* survives FLD m64, FST m64 exactly */
    for (int round = 0; round < 3; round++)
        for (uint32_t k = 1; k <= 24; k++) {
            uint32_t base = (4u << 20) - k;
            memset(devmem, 0, sizeof(devmem));
            put32(base, (uint32_t)pi);
            put32(base + 4, (uint32_t)(pi >> 32) ^ round);
            for (uint32_t at = 8; at < 24; at += 4)
                put32(base + at, 0);
            cpu.gpr[R_ESI] = base;
            run(0x1000);
            for (uint32_t at = 8; at < 24; at += 8) {
                ck_assert_uint_eq(get32(base + at), (uint32_t)pi);
                ck_assert_uint_eq(get32(base + at + 4), (uint32_t)(pi >> 32) ^ round);
            }
        }
    ck_assert_uint_gt(jit_get_stats(jit)->jit_x87_insns, 0); /* translated, not interpreted */
    teardown();
}
END_TEST

/* The five accesses of prog_group, indexed: [esi + eax*4 + d], then
 * [eax*4 + d] with a constant d (patched in), then the first after
 * mov esi, imm32 (a base the IR knows): probe groups keyed by (base,
 * index, scale) (probe.c, indexed()) */
static const uint8_t prog_group_idx[] = { 0x89, 0x0c, 0x86, 0x89, 0x5c, 0x86, 0x08, 0x8b, 0x54, 0x86, 0x04,
                                          0x03, 0x14, 0x86, 0x03, 0x54, 0x86, 0x08, 0x89, 0xd0, 0xf4 };

static void put_group_abs(uint32_t d)
{
    uint8_t p[40], *q = p;
    static const uint8_t op[5][2] = { { 0x89, 0x0c }, { 0x89, 0x1c }, { 0x8b, 0x14 }, { 0x03, 0x14 }, { 0x03, 0x14 } };
    static const uint32_t off[5] = { 0, 8, 4, 0, 8 };
    for (int i = 0; i < 5; i++) {
        *q++ = op[i][0];
        *q++ = op[i][1];
        *q++ = 0x85; /* [eax*4 + disp32] */
        for (int j = 0; j < 4; j++)
            *q++ = (uint8_t)((d + off[i]) >> 8 * j);
    }
    *q++ = 0x89, *q++ = 0xd0, *q++ = 0xf4;
    put(0x1000, p, (size_t)(q - p));
}

/* prog_group's check with indexed addresses: the group's bytes at every
 * position against the end of RAM, with a small index and one whose
 * scaled value wraps round 4 GiB (with the constant base, a large index
 * whose bytes alone are in RAM, which the probe must not take for the
 * group's range); then a group that must not form:
 * [esi + eax*2] in RAM and [esi + eax*4] on the device, one page on, the
 * same base and index at another scale. */
START_TEST(probe_groups_indexed)
{
    setup_with(&(struct jit_config){ .threshold = 0 });
    static const struct mmio_ops ops = { .read = devmem_read, .write = devmem_write };
    ck_assert_int_eq(phys_add_mmio(&mem, 4u << 20, 0x1000, &ops, NULL, "devmem"), 0);
    const struct jit_stats *s = jit_get_stats(jit);
    for (int form = 0; form < 3; form++)
        for (uint32_t k = 1; k <= 16; k++)
            for (int wrap = 0; wrap < 2; wrap++) {
                uint32_t at = (4u << 20) - k, a = 0x01020304u * k, b = 0x10000000u + k, c = 0x50607080u ^ k;
                uint32_t i = wrap ? 0x40000000u + 5 : 5; /* i*4 mod 2^32 = 20 either way */
                if (form == 2) /* a small base: i*4 alone lands on the RAM page before `at` */
                    i = (at - (36 + (at & 3))) / 4 + (wrap ? 0x40000000u : 0);
                if (form == 0) {
                    put(0x1000, prog_group_idx, sizeof(prog_group_idx));
                    cpu.gpr[R_ESI] = at - 20;
                } else if (form == 1) {
                    put_group_abs(at - 20);
                } else {
                    uint8_t p[5 + sizeof(prog_group_idx)] = { 0xbe, (uint8_t)(36 + (at & 3)) }; /* mov esi, imm32 */
                    memcpy(p + 5, prog_group_idx, sizeof(prog_group_idx));
                    put(0x1000, p, sizeof(p));
                }
                group_words(at, b);
                cpu.gpr[R_EAX] = i;
                cpu.gpr[R_ECX] = a;
                cpu.gpr[R_EBX] = c;
                uint64_t groups = s->jit_probe_groups, members = s->jit_probe_members;
                ck_assert_uint_eq(run(0x1000), a + b + c);
                ck_assert_uint_eq(s->jit_probe_groups - groups, 1); /* one translation, one group of five */
                ck_assert_uint_eq(s->jit_probe_members - members, 5);
                group_check(at, k, a, b, c);
            }
    /* mov edx, [esi + eax*2]; add edx, [esi + eax*4]; mov eax, edx; hlt */
    static const uint8_t two_scales[] = { 0x8b, 0x14, 0x46, 0x03, 0x14, 0x86, 0x89, 0xd0, 0xf4 };
    put(0x1000, two_scales, sizeof(two_scales));
    uint64_t groups = s->jit_probe_groups;
    for (uint32_t k = 0; k < 4; k++) {
        put32((4u << 20) - 0x1000 + 4 * k, 0x1234u + k);
        devmem_write(NULL, 8 * k, 4, 0x50000000u * k);
        cpu.gpr[R_ESI] = (4u << 20) - 0x2000;
        cpu.gpr[R_EAX] = 0x800 + 2 * k;
        ck_assert_uint_eq(run(0x1000), 0x1234u + k + 0x50000000u * k);
    }
    ck_assert_uint_eq(s->jit_probe_groups, groups);
    teardown();
}
END_TEST

/* An index 0..255 into EAX from the word at [esi], four ways the JIT
 * bounds it: a byte load, a mask, a shift, a zero-extended field. */
static const struct {
    uint8_t code[8], len;
    uint32_t word; /* [esi] = word | k << shift */
    int shift;
} table_index[] = {
    { { 0x0f, 0xb6, 0x06 }, 3, 0xabcdef00u, 0 },                   /* movzx eax, byte [esi] */
    { { 0x8b, 0x06, 0x25, 0xff, 0x00, 0x00, 0x00 }, 7, 0xabcdef00u, 0 }, /* mov eax, [esi]; and eax, 0xff */
    { { 0x8b, 0x06, 0xc1, 0xe8, 0x18 }, 5, 0x00abcdefu, 24 },     /* mov eax, [esi]; shr eax, 24 */
    { { 0x8b, 0x06, 0x0f, 0xb6, 0xc0 }, 5, 0xabcdef00u, 0 },       /* mov eax, [esi]; movzx eax, al */
};

/* index; mov eax, [eax*4 + table]; hlt: a table of 256 words whose last
 * bytes are device memory (past the end of RAM) */
static void table_at(uint32_t table, int way)
{
    uint8_t prog[16];
    unsigned n = table_index[way].len;
    memcpy(prog, table_index[way].code, n);
    const uint8_t load[] = { 0x8b, 0x04, 0x85, (uint8_t)table, (uint8_t)(table >> 8), (uint8_t)(table >> 16), 0x00, 0xf4 };
    memcpy(prog + n, load, sizeof(load));
    setup_with(&(struct jit_config){ .threshold = 0 });
    static const struct mmio_ops ops = { .read = devmem_read, .write = devmem_write };
    ck_assert_int_eq(phys_add_mmio(&mem, 4u << 20, 0x1000, &ops, NULL, "devmem"), 0);
    put(0x1000, prog, n + sizeof(load));
    for (uint32_t k = 0; k < 256; k++)
        for (uint32_t i = 0; i < 4; i++) {
            uint32_t at = table + 4 * k + i, v = (0xa5000000u | k * 0x10101u) >> 8 * i & 0xff;
            if (at < (4u << 20))
                phys_write(&mem, at, 1, v);
            else
                devmem_write(NULL, at - (4u << 20), 1, v);
        }
    for (int round = 0; round < 2; round++)
        for (uint32_t k = 0; k < 256; k++) {
            put32(0x3000, table_index[way].word | k << table_index[way].shift);
            cpu.gpr[R_ESI] = 0x3000;
            ck_assert_uint_eq(run(0x1000), 0xa5000000u | k * 0x10101u);
        }
    teardown();
}

/* A table lookup's probe (probe.c) covers every byte the index can
 * reach: here two pages (by as little as one byte), so it must not hand
 * the access a base. */
START_TEST(probe_table)
{
    for (int way = 0; way < 4; way++) {
        table_at((4u << 20) - 4 * 128, way);
        table_at((4u << 20) - 4 * 192, way);
        table_at((4u << 20) - 1023, way); /* the last entry's last byte */
    }
}
END_TEST

/* mov edx, [0x5800]; movzx eax, byte [esi]; mov [eax*4 + 0x5000], ecx;
 * hlt: a table store whose probe's range (0x5000..0x53ff) is known at
 * translation time, into a page holding translated code, readable
 * through the TLB (the load) but never writable through it: the store
 * must take the slow path, which invalidates the code it overwrites. */
static const uint8_t prog_table_store[] = { 0x8b, 0x15, 0x00, 0x58, 0x00, 0x00, 0x0f, 0xb6, 0x06,
                                            0x89, 0x0c, 0x85, 0x00, 0x50, 0x00, 0x00, 0xf4 };

START_TEST(probe_table_store)
{
    setup_with(&(struct jit_config){ .threshold = 0 });
    put(0x1000, prog_table_store, sizeof(prog_table_store));
    const struct jit_stats *s = jit_get_stats(jit);
    for (uint32_t k = 0; k < 4; k++) {
        static const uint8_t mov_hlt[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4 }; /* mov eax, 1; hlt */
        put(0x5000 + 16 * k, mov_hlt, sizeof(mov_hlt));
        ck_assert_uint_eq(run(0x5000 + 16 * k), 1);
        uint64_t inv = s->jit_invalidations;
        put32(0x3000, 4 * k);
        cpu.gpr[R_ESI] = 0x3000;
        cpu.gpr[R_ECX] = 0x000000b8u | (k + 2) << 8; /* mov eax, k + 2 */
        run(0x1000);
        ck_assert_uint_gt(s->jit_invalidations, inv);
        ck_assert_uint_eq(run(0x5000 + 16 * k), k + 2);
    }
    teardown();
}
END_TEST

int main(void)
{
    if (!jit_available())
        return 77;
    Suite *s = suite_create("jit_probe");
    TCase *tc = tcase_create("probes");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, probe_groups);
    tcase_add_test(tc, probe_groups_x87);
    tcase_add_test(tc, probe_groups_signed);
    tcase_add_test(tc, probe_groups_indexed);
    tcase_add_test(tc, probe_table);
    tcase_add_test(tc, probe_table_store);
    tcase_add_test(tc, probe_cache);
    tcase_add_test(tc, probe_cache_remap);
    tcase_add_test(tc, probe_cache_smc);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
