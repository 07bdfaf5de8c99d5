/*
 * Fuzz target for the audit log's head file (brokerd/front/audit_state.c),
 * which the front reads at start from beside the log: a file anyone with
 * write access to the log's directory may have changed.  A file that
 * parses is the one canonical line for its values (formatting them gives
 * the very same bytes); any values, formatted, parse back to themselves.
 */
#include <stdint.h>
#include <string.h>

#include "audit_state.h"
#include "fuzz.h"

static uint64_t
take_u64(const uint8_t **p, size_t *left)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < 8 && *left > 0; i++, (*p)++, (*left)--)
		v = v << 8 | **p;
	return v;
}

/* Values from the input bytes, formatted and parsed again. */
static void
round_trip(const uint8_t *data, size_t size)
{
	struct audit_state st, again;
	char line[AUDIT_STATE_LEN];
	size_t left = size;

	memset(&st, 0, sizeof(st));
	st.seq = take_u64(&data, &left);
	st.size = take_u64(&data, &left);
	st.ino = take_u64(&data, &left);
	memcpy(st.head, data, left < sizeof(st.head) ? left : sizeof(st.head));
	audit_state_format(&st, line);
	FUZZ_ASSERT(line[AUDIT_STATE_LEN - 1] == '\n');
	if (st.seq == 0 || st.size == 0) {
		FUZZ_ASSERT(audit_state_parse(line, sizeof(line), &again) ==
		    -1);
		return;
	}
	FUZZ_ASSERT(audit_state_parse(line, sizeof(line), &again) == 0);
	FUZZ_ASSERT(again.seq == st.seq && again.size == st.size &&
	    again.ino == st.ino &&
	    memcmp(again.head, st.head, sizeof(st.head)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_state st;
	char line[AUDIT_STATE_LEN];

	if (audit_state_parse((const char *)data, size, &st) == 0) {
		FUZZ_ASSERT(size == AUDIT_STATE_LEN);
		FUZZ_ASSERT(st.seq > 0 && st.size > 0);
		audit_state_format(&st, line);
		FUZZ_ASSERT(memcmp(line, data, size) == 0);
	}
	round_trip(data, size);
	return 0;
}
