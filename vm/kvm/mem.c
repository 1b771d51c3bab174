/*
 * Memory slots for the KVM accelerator, derived from the guest physical
 * map the interpreter uses (mmu/phys.h) so both see the same memory:
 *
 *   RAM, and PAM segments that read and write the same RAM   read-write slot
 *   ROM, and PAM segments whose writes go elsewhere or nowhere   read-only slot
 *       (KVM turns a guest write into an MMIO exit; phys_write() then
 *       writes the shadow RAM behind or drops it, as for the interpreter)
 *   device RAM (the VGA linear framebuffer)        read-write slot with dirty
 *       logging; the log is folded into the region's dirty bits
 *   MMIO, open bus, PAM segments with reads from nowhere   no slot: exits
 *
 * The map is cut at every region boundary, each piece takes the backing
 * phys_find() gives its first byte (later regions shadow earlier ones),
 * and neighbouring pieces with contiguous host memory and the same flags
 * merge. When the map's generation changes (a PAM write, a PCI BAR move,
 * the A20 gate) the new pieces are compared with the slots and only the
 * differences are deleted and created, so a PAM change costs a few
 * ioctls.
 *
 * A20: with the gate closed, [1 MiB, 2 MiB) aliases [0, 1 MiB), which is
 * what real-mode code can reach (the HMA wrap); higher odd megabytes are
 * not aliased (a protected-mode guest with A20 masked is left out).
 *
 * Dirty logging is probed at open: some /dev/kvm implementations (PVM)
 * accept KVM_MEM_LOG_DIRTY_PAGES but never report a page. Then logged
 * slots are mapped without logging and every page counts as dirty at each
 * sync, which costs the renderer a full redraw and nothing else.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm/kvm/kvm_int.h"

#define PAGE 4096ull
#define MB1 0x100000ull
/* Physical addresses above this are not mapped (36-bit guest). */
#define PHYS_TOP (1ull << 36)

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Cut the map into slots (see the header comment). Returns the count. */
static int build_pieces(const struct vm *vm, bool log_ok, struct kvm_slot *out, int max)
{
    const struct phys *p = &vm->mem;
    uint64_t b[4 * PHYS_MAX_REGIONS + 4];
    int nb = 0;
    bool a20_off = p->a20_mask != ~0ull;
    for (int i = 0; i < p->nregions; i++) {
        const struct phys_region *r = &p->region[i];
        if (r->disabled || r->base >= PHYS_TOP)
            continue;
        b[nb++] = r->base;
        b[nb++] = r->base + r->size < PHYS_TOP ? r->base + r->size : PHYS_TOP;
    }
    if (a20_off) {
        int n = nb;
        for (int i = 0; i < n; i++)
            if (b[i] < MB1)
                b[nb++] = b[i] + MB1;
        b[nb++] = MB1;
        b[nb++] = 2 * MB1;
    }
    qsort(b, (size_t)nb, sizeof(b[0]), cmp_u64);

    int n = 0;
    for (int k = 0; k + 1 < nb; k++) {
        uint64_t a = b[k], end = b[k + 1];
        if (a == end)
            continue;
        uint64_t look = a20_off && a >= MB1 && a < 2 * MB1 ? a - MB1 : a;
        const struct phys_region *r = phys_find(p, look);
        if (!r || r->kind == PHYS_MMIO || !r->host_r)
            continue;
        struct kvm_slot s = {
            .gpa = a, .size = end - a, .host = r->host_r + (look - r->base), .region = -1,
            .flags = r->host_w == r->host_r ? 0 : KVM_MEM_READONLY,
        };
        if (r->kind == PHYS_DEVRAM && r->dirty) {
            s.region = (int)(r - p->region);
            s.region_off = look - r->base;
            if (log_ok)
                s.flags |= KVM_MEM_LOG_DIRTY_PAGES;
        }
        struct kvm_slot *prev = n ? &out[n - 1] : NULL;
        if (prev && prev->gpa + prev->size == s.gpa && prev->host + prev->size == s.host && prev->flags == s.flags &&
            prev->region == s.region) {
            prev->size += s.size;
            continue;
        }
        if (n == max)
            return -1;
        out[n++] = s;
    }
    return n;
}

static bool same_slot(const struct kvm_slot *a, const struct kvm_slot *b)
{
    return a->gpa == b->gpa && a->size == b->size && a->host == b->host && a->flags == b->flags &&
           a->region == b->region;
}

static int set_slot(struct kvm_accel *k, const struct kvm_slot *s, bool remove)
{
    struct kvm_userspace_memory_region m = {
        .slot = (uint32_t)s->id, .flags = s->flags, .guest_phys_addr = s->gpa,
        .memory_size = remove ? 0 : s->size, .userspace_addr = (uint64_t)(uintptr_t)s->host,
    };
    return ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &m) ? -errno : 0;
}

/* Fold one slot's dirty pages into its region's dirty bits. */
static void fold_dirty(struct vm *vm, const struct kvm_slot *s)
{
    struct kvm_accel *k = vm->kvm;
    uint8_t *dirty = vm->mem.region[s->region].dirty;
    uint64_t first = s->region_off / PAGE, pages = s->size / PAGE;
    if (!(s->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
        for (uint64_t pg = first; pg < first + pages; pg++)
            dirty[pg >> 3] |= (uint8_t)(1u << (pg & 7));
        return;
    }
    uint64_t words = (pages + 63) / 64;
    uint64_t *bm = calloc(words, sizeof(uint64_t));
    if (!bm)
        return;
    struct kvm_dirty_log log = { .slot = (uint32_t)s->id, .dirty_bitmap = bm };
    if (ioctl(k->vm_fd, KVM_GET_DIRTY_LOG, &log) == 0) {
        for (uint64_t w = 0; w < words; w++) {
            for (uint64_t bits = bm[w]; bits; bits &= bits - 1) {
                uint64_t pg = first + w * 64 + (uint64_t)__builtin_ctzll(bits);
                dirty[pg >> 3] |= (uint8_t)(1u << (pg & 7));
            }
        }
    }
    free(bm);
}

void kvm_mem_dirty_sync(struct vm *vm)
{
    struct kvm_accel *k = vm->kvm;
    for (int i = 0; i < k->nslots; i++)
        if (k->slot[i].region >= 0)
            fold_dirty(vm, &k->slot[i]);
}

int kvm_mem_sync(struct vm *vm)
{
    struct kvm_accel *k = vm->kvm;
    if (k->mem_built && k->mem_gen == vm->mem.gen)
        return 0;
    struct kvm_slot want[KVM_SLOTS_MAX];
    int nwant = build_pieces(vm, k->dirty_log_works, want, KVM_SLOTS_MAX);
    if (nwant < 0) {
        vm_errorf(vm, "KVM: the guest memory map needs more than %d memory slots", KVM_SLOTS_MAX);
        return -ENOSPC;
    }
    for (int i = 0; i < nwant; i++) {
        if ((uintptr_t)want[i].host % PAGE) {
            vm_errorf(vm, "KVM: memory at guest %#llx is not page-aligned in kestrel (cannot be a slot)",
                      (unsigned long long)want[i].gpa);
            return -EINVAL;
        }
    }
    /* Remove what changed first: slots may not overlap, even briefly. */
    int keep = 0;
    for (int i = 0; i < k->nslots; i++) {
        struct kvm_slot *s = &k->slot[i];
        bool wanted = false;
        for (int j = 0; j < nwant && !wanted; j++)
            wanted = same_slot(s, &want[j]);
        if (wanted) {
            k->slot[keep++] = *s;
            continue;
        }
        if (s->region >= 0)
            fold_dirty(vm, s); /* the renderer must not miss writes made before the move */
        int err = set_slot(k, s, true);
        if (err) {
            vm_errorf(vm, "KVM: cannot remove the memory slot at %#llx: %s", (unsigned long long)s->gpa,
                      strerror(-err));
            return err;
        }
        k->slot_ids &= ~(1ull << s->id);
        k->stats.slot_updates++;
    }
    k->nslots = keep;
    for (int j = 0; j < nwant; j++) {
        bool have = false;
        for (int i = 0; i < k->nslots && !have; i++)
            have = same_slot(&k->slot[i], &want[j]);
        if (have)
            continue;
        int id = __builtin_ctzll(~k->slot_ids); /* nslots < KVM_SLOTS_MAX: a free id exists */
        want[j].id = id;
        int err = set_slot(k, &want[j], false);
        if (err) {
            vm_errorf(vm, "KVM: cannot map guest memory %#llx-%#llx%s: %s", (unsigned long long)want[j].gpa,
                      (unsigned long long)(want[j].gpa + want[j].size - 1),
                      (want[j].flags & KVM_MEM_READONLY) ? " read-only" : "", strerror(-err));
            return err;
        }
        k->slot_ids |= 1ull << id;
        k->slot[k->nslots++] = want[j];
        k->stats.slot_updates++;
    }
    k->mem_gen = vm->mem.gen;
    k->mem_built = true;
    return 0;
}

/* A scratch VM: real-mode code at 0 writes one byte to the page at 0x1000
 * (a logged slot of its own) and halts; the log must show that page. */
bool kvm_mem_probe_dirty_log(int sys_fd)
{
    static const uint8_t code[] = { 0xc6, 0x06, 0x00, 0x10, 0x01, /* mov byte [0x1000], 1 */
                                    0xf4 };                       /* hlt */
    bool ok = false;
    int vmfd = ioctl(sys_fd, KVM_CREATE_VM, 0), cpufd = -1;
    long run_size = ioctl(sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    uint8_t *mem = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct kvm_run *run = MAP_FAILED;
    if (vmfd < 0 || run_size <= 0 || mem == MAP_FAILED)
        goto out;
    memcpy(mem, code, sizeof(code));
    struct kvm_userspace_memory_region m0 = { .slot = 0, .memory_size = PAGE, .userspace_addr = (uintptr_t)mem };
    struct kvm_userspace_memory_region m1 = { .slot = 1, .flags = KVM_MEM_LOG_DIRTY_PAGES, .guest_phys_addr = PAGE,
                                              .memory_size = PAGE, .userspace_addr = (uintptr_t)(mem + PAGE) };
    ioctl(vmfd, KVM_SET_TSS_ADDR, 0xfffbd000ul);
    if (ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &m0) || ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &m1))
        goto out;
    cpufd = ioctl(vmfd, KVM_CREATE_VCPU, 0);
    if (cpufd < 0)
        goto out;
    run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpufd, 0);
    struct kvm_sregs sr;
    if (run == MAP_FAILED || ioctl(cpufd, KVM_GET_SREGS, &sr))
        goto out;
    sr.cs.base = 0, sr.cs.selector = 0, sr.ds.base = 0, sr.ds.selector = 0;
    struct kvm_regs r = { .rip = 0, .rflags = 2 };
    if (ioctl(cpufd, KVM_SET_SREGS, &sr) || ioctl(cpufd, KVM_SET_REGS, &r))
        goto out;
    for (int tries = 0; tries < 4; tries++) {
        if (ioctl(cpufd, KVM_RUN, 0) && errno != EINTR && errno != EAGAIN)
            goto out;
        if (run->exit_reason == KVM_EXIT_HLT)
            break;
    }
    uint64_t bm = 0;
    struct kvm_dirty_log log = { .slot = 1, .dirty_bitmap = &bm };
    ok = mem[PAGE] == 1 && ioctl(vmfd, KVM_GET_DIRTY_LOG, &log) == 0 && (bm & 1);
out:
    if (run != MAP_FAILED)
        munmap(run, (size_t)run_size);
    if (cpufd >= 0)
        close(cpufd);
    if (vmfd >= 0)
        close(vmfd);
    if (mem != MAP_FAILED)
        munmap(mem, 2 * PAGE);
    return ok;
}
