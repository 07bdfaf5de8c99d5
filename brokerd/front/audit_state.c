/* The audit log's head outside the log (audit_state.h). */
#include <string.h>

#include "audit_state.h"

static const char prefix[] = "p11broker-audit-head v1";
static const char hexdigits[] = "0123456789abcdef";

#define NUM_DIGITS	20

static char *
put_num(char *p, const char *name, uint64_t v)
{
	int i;

	*p++ = ' ';
	memcpy(p, name, strlen(name));
	p += strlen(name);
	*p++ = '=';
	for (i = NUM_DIGITS - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + NUM_DIGITS;
}

void
audit_state_format(const struct audit_state *st, char out[AUDIT_STATE_LEN])
{
	char *p = out;
	size_t i;

	memcpy(p, prefix, sizeof(prefix) - 1);
	p += sizeof(prefix) - 1;
	p = put_num(p, "seq", st->seq);
	p = put_num(p, "size", st->size);
	p = put_num(p, "ino", st->ino);
	memcpy(p, " head=", 6);
	p += 6;
	for (i = 0; i < sizeof(st->head); i++) {
		*p++ = hexdigits[st->head[i] >> 4];
		*p++ = hexdigits[st->head[i] & 0xf];
	}
	*p = '\n';
}

/* " name=" and 20 digits that fit in 64 bits. */
static const char *
get_num(const char *p, const char *name, uint64_t *v)
{
	size_t n = strlen(name);
	int i;

	if (*p != ' ' || strncmp(p + 1, name, n) != 0 || p[n + 1] != '=')
		return NULL;
	p += n + 2;
	*v = 0;
	for (i = 0; i < NUM_DIGITS; i++, p++) {
		if (*p < '0' || *p > '9' ||
		    *v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return NULL;
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	return p;
}

static int
hexval(char c)
{
	const char *h;

	if (c == '\0' || (h = strchr(hexdigits, c)) == NULL)
		return -1;
	return (int)(h - hexdigits);
}

int
audit_state_parse(const char *in, size_t len, struct audit_state *st)
{
	char line[AUDIT_STATE_LEN + 1];
	const char *p;
	size_t i;
	int hi, lo;

	memset(st, 0, sizeof(*st));
	if (len != AUDIT_STATE_LEN || in[len - 1] != '\n' ||
	    memchr(in, '\0', len) != NULL)
		return -1;
	memcpy(line, in, len);
	line[len] = '\0';
	if (strncmp(line, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	p = line + sizeof(prefix) - 1;
	if ((p = get_num(p, "seq", &st->seq)) == NULL ||
	    (p = get_num(p, "size", &st->size)) == NULL ||
	    (p = get_num(p, "ino", &st->ino)) == NULL ||
	    strncmp(p, " head=", 6) != 0)
		return -1;
	p += 6;
	for (i = 0; i < sizeof(st->head); i++, p += 2) {
		if ((hi = hexval(p[0])) < 0 || (lo = hexval(p[1])) < 0)
			return -1;
		st->head[i] = (uint8_t)(hi << 4 | lo);
	}
	return *p == '\n' && st->seq > 0 && st->size > 0 ? 0 : -1;
}
