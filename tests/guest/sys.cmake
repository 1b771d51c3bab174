# System area guests: paging and system instructions (scaffolding in sys/).
kestrel_guest_c(sys_paging sys_paging.c sys/sysrt.c sys/sysstubs.S)
kestrel_guest_c(sys_system sys_system.c sys/sysrt.c sys/sysstubs.S)
