# Remapped code and the invalidations that must take effect (jump cache,
# TLB): see sys_codemap.c.
set(KVM_NEEDS_sys_codemap paging)
kestrel_guest_c(sys_codemap sys_codemap.c sys/sysrt.c sys/sysstubs.S)
