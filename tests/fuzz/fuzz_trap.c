/*
 * Fuzz target for the signer's sandbox trap report (sandbox/trap.c), the
 * bytes the monitor reads from a signer its filter stopped: a process
 * that may run hostile module code.  Whatever it wrote, the decoder takes
 * exactly one 20-byte record with the magic or nothing; a record encodes
 * back to the same bytes; the name is "unknown" or a libseccomp name, a
 * bounded label; the description fits its buffer.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "sandbox.h"

static int
label_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 32)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sandbox_trap t;
	uint8_t rec[SANDBOX_TRAP_RECORD];
	char name[32], what[256];

	if (sandbox_trap_decode(data, size, &t) != 0)
		return 0;
	FUZZ_ASSERT(size == SANDBOX_TRAP_RECORD);
	sandbox_trap_encode(&t, rec);
	FUZZ_ASSERT(memcmp(rec, data, sizeof(rec)) == 0);
	sandbox_trap_name(&t, name, sizeof(name));
	FUZZ_ASSERT(label_ok(name));
	memset(what, 'x', sizeof(what));
	sandbox_trap_describe(&t, what, sizeof(what));
	FUZZ_ASSERT(memchr(what, '\0', sizeof(what)) != NULL);
	return 0;
}
