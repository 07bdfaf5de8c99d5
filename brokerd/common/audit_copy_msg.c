/*
 * The audit copy's message format (audit_copy_msg.h).  The front parses
 * client bytes, so the monitor reads its messages as data: whole lines of
 * printable ASCII or nothing.
 */
#include <stdint.h>
#include <string.h>

#include "audit_copy_msg.h"

/* Where the type field ends at the latest (seq and time come first). */
#define TYPE_WITHIN	96

int
audit_copy_is_checkpoint(const char *line, size_t len)
{
	static const char type[] = ",\"type\":\"checkpoint\",";

	return memmem(line, len < TYPE_WITHIN ? len : TYPE_WITHIN, type,
	    sizeof(type) - 1) != NULL;
}

int
audit_copy_scan(const char *msg, size_t len,
    void (*each)(void *, const char *, size_t), void *arg,
    const char **ckpt, size_t *ckptlen)
{
	const char *p, *nl;
	size_t i, linelen;

	*ckpt = NULL;
	*ckptlen = 0;
	if (len == 0 || msg[len - 1] != '\n' || msg[0] != '{')
		return -1;
	for (i = 0; i < len; i++)
		if ((msg[i] < 0x20 || msg[i] > 0x7e) && msg[i] != '\n')
			return -1;
	for (p = msg; p < msg + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(msg + len - p));
		linelen = (size_t)(nl - p);
		each(arg, p, linelen);
		if (audit_copy_is_checkpoint(p, linelen)) {
			*ckpt = p;
			*ckptlen = linelen;
		}
	}
	return 0;
}

uint64_t
audit_copy_line_seq(const char *line, size_t len)
{
	uint64_t seq = 0;
	size_t i;

	if (len < 9 || memcmp(line, "{\"seq\":", 7) != 0)
		return 0;
	/* At most 19 digits: no overflow. */
	for (i = 7; i < len && i < 26 && line[i] >= '0' && line[i] <= '9'; i++)
		seq = seq * 10 + (uint64_t)(line[i] - '0');
	return i > 7 && i < len && line[i] == ',' ? seq : 0;
}
