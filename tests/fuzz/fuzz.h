/*
 * Shared by the fuzz targets and the replay driver.  A target checks
 * properties with FUZZ_ASSERT(); a failed check aborts, which libFuzzer
 * reports as a crash and the replay test as a failure.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property violated: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* The libFuzzer entry point, also called by tests/fuzz/replay.c. */
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* FUZZ_H */
