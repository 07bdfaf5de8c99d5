/*
 * Fuzz target for the two readers of audit lines that take bytes from
 * elsewhere: the monitor's reading of the front's copy
 * (audit_copy_scan(), brokerd/common/audit_copy_msg.c: the front parses
 * client bytes, the monitor is root) and `p11broker audit verify`'s line
 * parser (auditlog_parse(), client/cli/auditlog.c: a log or anchor file
 * someone may have changed).  Properties: a message is taken whole or
 * not at all, and every line handed on is a line of it, without its
 * newline, of printable ASCII; the checkpoint pointed at is one of those
 * lines; a line's seq is its leading decimal number; a parsed line has a
 * known type, its signature fits, and the parse is the same on a copy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit_copy_msg.h"
#include "auditlog.h"
#include "fuzz.h"

struct seen {
	const char	*msg;
	size_t		 len;
	size_t		 lines;
	size_t		 bytes;		/* lines and newlines */
	const char	*last_ckpt;
};

static void
each(void *arg, const char *line, size_t len)
{
	struct seen *s = arg;
	size_t i;

	FUZZ_ASSERT(line >= s->msg && line + len < s->msg + s->len + 1);
	FUZZ_ASSERT(line[len] == '\n');
	for (i = 0; i < len; i++)
		FUZZ_ASSERT(line[i] >= 0x20 && line[i] <= 0x7e);
	if (audit_copy_is_checkpoint(line, len))
		s->last_ckpt = line;
	s->lines++;
	s->bytes += len + 1;
}

static void
scan(const uint8_t *data, size_t size)
{
	struct seen s = { (const char *)data, size, 0, 0, NULL };
	const char *ckpt;
	size_t ckptlen;

	if (audit_copy_scan((const char *)data, size, each, &s, &ckpt,
	    &ckptlen) != 0) {
		FUZZ_ASSERT(s.lines == 0 && ckpt == NULL);
		return;
	}
	FUZZ_ASSERT(s.bytes == size && s.lines > 0);
	FUZZ_ASSERT(ckpt == s.last_ckpt);
	if (ckpt != NULL)
		FUZZ_ASSERT(ckpt[ckptlen] == '\n');
}

static void
seq(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	uint64_t got, want = 0;
	size_t i;

	got = audit_copy_line_seq(line, size);
	if (got == 0)
		return;
	FUZZ_ASSERT(size > 7 && memcmp(line, "{\"seq\":", 7) == 0);
	for (i = 7; line[i] != ','; i++) {
		FUZZ_ASSERT(line[i] >= '0' && line[i] <= '9' && i < 26);
		want = want * 10 + (uint64_t)(line[i] - '0');
	}
	FUZZ_ASSERT(got == want);
}

static void
parse(const uint8_t *data, size_t size)
{
	struct auditlog_rec r, again;
	const char *why = NULL;
	char *copy;

	if (auditlog_parse((const char *)data, size, &r, &why) != 0) {
		FUZZ_ASSERT(why != NULL);
		return;
	}
	FUZZ_ASSERT(r.type == AUDITLOG_DECISION || r.type == AUDITLOG_EVENT ||
	    r.type == AUDITLOG_CHECKPOINT);
	FUZZ_ASSERT(r.siglen <= AUDITLOG_SIG_MAX);
	FUZZ_ASSERT(memchr(r.alg, '\0', sizeof(r.alg)) != NULL);
	if ((copy = malloc(size + 1)) == NULL)
		return;
	memcpy(copy, data, size);
	FUZZ_ASSERT(auditlog_parse(copy, size, &again, &why) == 0);
	FUZZ_ASSERT(again.seq == r.seq && again.type == r.type &&
	    again.siglen == r.siglen &&
	    memcmp(again.prev, r.prev, sizeof(r.prev)) == 0);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scan(data, size);
	seq(data, size);
	parse(data, size);
	return 0;
}
