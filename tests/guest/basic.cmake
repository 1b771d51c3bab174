kestrel_guest_c(hello hello.c)
