/* Whole reads and writes on blocking descriptors (links, pipes). */
#ifndef IO_H
#define IO_H

#include <stddef.h>
#include <stdint.h>

/* 0 when all len bytes moved; -1 on error or end of file. */
int	io_read_full(int fd, void *buf, size_t len);
int	io_write_full(int fd, const void *buf, size_t len);

#endif /* IO_H */
