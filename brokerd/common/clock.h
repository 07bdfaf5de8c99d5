/* The monotonic clock every process of the daemon measures with. */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC, in nanoseconds and in milliseconds. */
uint64_t clock_ns(void);
uint64_t clock_ms(void);

#endif /* CLOCK_H */
