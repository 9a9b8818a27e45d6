"""The roof of the import graph: the `xieshang` command and the tools behind it (the local
stack, the demo data, the audit and operator commands). They import the kernel (xieshang.kernel)
and the services; nothing below imports them."""
