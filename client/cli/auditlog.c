/*
 * A strict parser for audit lines: one JSON object, printable ASCII only
 * (the broker escapes everything else, so any other byte is damage), no
 * duplicate fields among those the verifier reads.  Values it does not
 * need are checked for syntax and skipped.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "auditlog.h"

#define MAX_DEPTH	8
#define NAME_MAX_LEN	32
#define SIG_B64_MAX	(AUDITLOG_SIG_MAX * 4 / 3 + 8)

enum {
	F_SEQ = 0x001,
	F_TIME = 0x002,
	F_TYPE = 0x004,
	F_PREV = 0x008,
	F_COVERS_SEQ = 0x010,
	F_COVERS_HEAD = 0x020,
	F_ALG = 0x040,
	F_SIG = 0x080,
	F_EVENT = 0x100,
	F_BATCH = 0x200,
	F_ITEMS = 0x400,
};
#define F_REQUIRED	(F_SEQ | F_TIME | F_TYPE | F_PREV)
#define F_CHECKPOINT	(F_COVERS_SEQ | F_COVERS_HEAD | F_ALG | F_SIG)

static const struct {
	const char	*name;
	unsigned int	 bit;
} fields[] = {
	{ "seq", F_SEQ }, { "time", F_TIME }, { "type", F_TYPE },
	{ "prev", F_PREV }, { "covers_seq", F_COVERS_SEQ },
	{ "covers_head", F_COVERS_HEAD }, { "alg", F_ALG }, { "sig", F_SIG },
	{ "event", F_EVENT }, { "batch", F_BATCH }, { "items", F_ITEMS },
};

struct cursor {
	const char	*p;
	const char	*end;
	const char	*why;
};

static int	parse_value(struct cursor *, int);

static int
fail(struct cursor *c, const char *why)
{
	if (c->why == NULL)
		c->why = why;
	return -1;
}

static void
skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static int
peek(struct cursor *c)
{
	skip_ws(c);
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static int
expect(struct cursor *c, char ch)
{
	if (peek(c) != ch)
		return fail(c, "not valid JSON");
	c->p++;
	return 0;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The character after a backslash; \u escapes beyond ASCII become '?'. */
static int
unescape(struct cursor *c)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	int i, v = 0;

	if (c->p >= c->end)
		return fail(c, "unterminated string");
	if (*c->p == 'u') {
		for (i = 1; i <= 4; i++)
			if (c->p + i >= c->end || hexval(c->p[i]) < 0)
				return fail(c, "bad \\u escape in a string");
			else
				v = v * 16 + hexval(c->p[i]);
		c->p += 5;
		return v < 0x80 ? v : '?';
	}
	if (*c->p == '\0' || (hit = strchr(from, *c->p)) == NULL)
		return fail(c, "bad escape in a string");
	c->p++;
	return (unsigned char)to[hit - from];
}

/* A string, decoded into out (when not NULL) and NUL-terminated. */
static int
parse_string(struct cursor *c, char *out, size_t outlen)
{
	size_t n = 0;
	int ch;

	if (expect(c, '"') != 0)
		return -1;
	while (c->p < c->end) {
		ch = (unsigned char)*c->p++;
		if (ch == '"') {
			if (out != NULL)
				out[n] = '\0';
			return 0;
		}
		if (ch < 0x20 || ch >= 0x7f)
			return fail(c, "a byte the broker never writes (not "
			    "printable ASCII)");
		if (ch == '\\' && (ch = unescape(c)) < 0)
			return -1;
		if (out == NULL)
			continue;
		if (n + 1 >= outlen)
			return fail(c, "a value is too long");
		out[n++] = (char)ch;
	}
	return fail(c, "unterminated string");
}

static int
is_digit(struct cursor *c)
{
	return c->p < c->end && *c->p >= '0' && *c->p <= '9';
}

/* A JSON number; *u is its value when it is a non-negative integer. */
static int
parse_number(struct cursor *c, uint64_t *u, int *is_uint)
{
	uint64_t v = 0;
	int whole = 1;

	skip_ws(c);
	if (c->p < c->end && *c->p == '-') {
		whole = 0;
		c->p++;
	}
	if (!is_digit(c))
		return fail(c, "not valid JSON");
	if (*c->p == '0' && c->p + 1 < c->end && c->p[1] >= '0' &&
	    c->p[1] <= '9')
		return fail(c, "a number with a leading zero");
	for (; is_digit(c); c->p++) {
		if (v > (UINT64_MAX - 9) / 10)
			whole = 0;
		v = v * 10 + (uint64_t)(*c->p - '0');
	}
	if (c->p < c->end && *c->p == '.') {
		whole = 0;
		c->p++;
		if (!is_digit(c))
			return fail(c, "bad number");
		while (is_digit(c))
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		whole = 0;
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (!is_digit(c))
			return fail(c, "bad number");
		while (is_digit(c))
			c->p++;
	}
	*u = v;
	*is_uint = whole;
	return 0;
}

static int
parse_uint(struct cursor *c, uint64_t *u)
{
	int whole;

	if (parse_number(c, u, &whole) != 0)
		return -1;
	return whole ? 0 : fail(c, "a count that is not a whole number");
}

static int
parse_literal(struct cursor *c)
{
	static const char *words[] = { "true", "false", "null" };
	size_t i, n;

	for (i = 0; i < 3; i++) {
		n = strlen(words[i]);
		if ((size_t)(c->end - c->p) >= n &&
		    memcmp(c->p, words[i], n) == 0) {
			c->p += n;
			return 0;
		}
	}
	return fail(c, "not valid JSON");
}

/* Members of an object or elements of an array, after the bracket. */
static int
parse_members(struct cursor *c, int depth, int object)
{
	char close = object ? '}' : ']';

	if (peek(c) == close) {
		c->p++;
		return 0;
	}
	for (;;) {
		if (object && (parse_string(c, NULL, 0) != 0 ||
		    expect(c, ':') != 0))
			return -1;
		if (parse_value(c, depth + 1) != 0)
			return -1;
		if (peek(c) == close) {
			c->p++;
			return 0;
		}
		if (expect(c, ',') != 0)
			return -1;
	}
}

static int
parse_value(struct cursor *c, int depth)
{
	uint64_t u;
	int ch = peek(c), whole;

	if (depth > MAX_DEPTH)
		return fail(c, "nested too deeply");
	if (ch == '"')
		return parse_string(c, NULL, 0);
	if (ch == '{' || ch == '[') {
		c->p++;
		return parse_members(c, depth, ch == '{');
	}
	if (ch == '-' || (ch >= '0' && ch <= '9'))
		return parse_number(c, &u, &whole);
	return parse_literal(c);
}

static int
parse_hash(struct cursor *c, uint8_t out[AUDITLOG_HASH_LEN])
{
	char hex[2 * AUDITLOG_HASH_LEN + 2];
	size_t i;

	if (parse_string(c, hex, sizeof(hex)) != 0)
		return -1;
	if (strlen(hex) != 2 * AUDITLOG_HASH_LEN)
		return fail(c, "a hash that is not 64 hex digits");
	for (i = 0; i < AUDITLOG_HASH_LEN; i++) {
		if (hexval(hex[2 * i]) < 0 || hexval(hex[2 * i + 1]) < 0)
			return fail(c, "a hash that is not 64 hex digits");
		out[i] = (uint8_t)(hexval(hex[2 * i]) << 4 |
		    hexval(hex[2 * i + 1]));
	}
	return 0;
}

static int
parse_sig(struct cursor *c, struct auditlog_rec *r)
{
	char b64[SIG_B64_MAX];

	if (parse_string(c, b64, sizeof(b64)) != 0)
		return -1;
	if (sodium_base642bin(r->sig, sizeof(r->sig), b64, strlen(b64), NULL,
	    &r->siglen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return fail(c, "sig is not base64");
	return 0;
}

/*
 * A batch's items: an array of objects, each with its input_sha256 (64
 * hex digits) and status; counted for the batch size.
 */
static int
parse_items(struct cursor *c, struct auditlog_rec *r)
{
	char name[NAME_MAX_LEN];
	uint8_t hash[AUDITLOG_HASH_LEN];
	int have;

	if (expect(c, '[') != 0)
		return -1;
	if (peek(c) == ']') {
		c->p++;
		return 0;
	}
	for (;;) {
		if (expect(c, '{') != 0)
			return -1;
		for (have = 0;;) {
			if (parse_string(c, name, sizeof(name)) != 0 ||
			    expect(c, ':') != 0)
				return -1;
			if (strcmp(name, "input_sha256") == 0) {
				if (have & 1 || parse_hash(c, hash) != 0)
					return fail(c, "a batch item's "
					    "input_sha256 twice or not a hash");
				have |= 1;
			} else if (strcmp(name, "status") == 0) {
				if (have & 2 || parse_string(c, NULL, 0) != 0)
					return fail(c, "a batch item's status "
					    "twice or not a string");
				have |= 2;
			} else if (parse_value(c, 3) != 0)
				return -1;
			if (peek(c) == '}')
				break;
			if (expect(c, ',') != 0)
				return -1;
		}
		c->p++;
		if (have != 3)
			return fail(c, "a batch item without input_sha256 or "
			    "status");
		r->nitems++;
		if (peek(c) == ']') {
			c->p++;
			return 0;
		}
		if (expect(c, ',') != 0)
			return -1;
	}
}

static int
parse_type(struct cursor *c, struct auditlog_rec *r)
{
	char s[NAME_MAX_LEN];

	if (parse_string(c, s, sizeof(s)) != 0)
		return -1;
	if (strcmp(s, "decision") == 0)
		r->type = AUDITLOG_DECISION;
	else if (strcmp(s, "event") == 0)
		r->type = AUDITLOG_EVENT;
	else if (strcmp(s, "checkpoint") == 0)
		r->type = AUDITLOG_CHECKPOINT;
	else
		return fail(c, "unknown type");
	return 0;
}

static int
parse_field(struct cursor *c, unsigned int bit, struct auditlog_rec *r)
{
	char s[NAME_MAX_LEN];

	switch (bit) {
	case F_SEQ:
		return parse_uint(c, &r->seq);
	case F_COVERS_SEQ:
		return parse_uint(c, &r->covers_seq);
	case F_TYPE:
		return parse_type(c, r);
	case F_PREV:
		return parse_hash(c, r->prev);
	case F_COVERS_HEAD:
		return parse_hash(c, r->covers_head);
	case F_ALG:
		return parse_string(c, r->alg, sizeof(r->alg));
	case F_SIG:
		return parse_sig(c, r);
	case F_EVENT:
		if (parse_string(c, s, sizeof(s)) != 0)
			return -1;
		r->rotate = strcmp(s, "rotate") == 0;
		r->discontinuity = strcmp(s, "discontinuity") == 0;
		return 0;
	case F_TIME:
		return parse_string(c, NULL, 0);
	case F_BATCH:
		return parse_uint(c, &r->batch);
	case F_ITEMS:
		return parse_items(c, r);
	}
	return parse_value(c, 1);
}

static unsigned int
field_bit(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, name) == 0)
			return fields[i].bit;
	return 0;
}

/* The top-level object: the fields we need, each at most once. */
static int
parse_top(struct cursor *c, struct auditlog_rec *r, unsigned int *seen)
{
	char name[NAME_MAX_LEN];
	unsigned int bit;

	if (expect(c, '{') != 0)
		return -1;
	if (peek(c) == '}') {
		c->p++;
		return 0;
	}
	for (;;) {
		if (parse_string(c, name, sizeof(name)) != 0 ||
		    expect(c, ':') != 0)
			return -1;
		bit = field_bit(name);
		if (bit & *seen)
			return fail(c, "a field appears twice");
		*seen |= bit;
		if (parse_field(c, bit, r) != 0)
			return -1;
		if (peek(c) == '}') {
			c->p++;
			return 0;
		}
		if (expect(c, ',') != 0)
			return -1;
	}
}

int
auditlog_parse(const char *line, size_t len, struct auditlog_rec *r,
    const char **why)
{
	struct cursor c = { line, line + len, NULL };
	unsigned int seen = 0;

	memset(r, 0, sizeof(*r));
	if (parse_top(&c, r, &seen) == 0 && peek(&c) != -1)
		(void)fail(&c, "text after the JSON object");
	if (c.why != NULL) {
		*why = c.why;
		return -1;
	}
	if ((seen & F_REQUIRED) != F_REQUIRED) {
		*why = "seq, time, type or prev is missing";
		return -1;
	}
	if (r->seq == 0) {
		*why = "seq 0";
		return -1;
	}
	/* A batch names its size and has exactly that many items. */
	if ((seen & (F_BATCH | F_ITEMS)) != 0 &&
	    ((seen & (F_BATCH | F_ITEMS)) != (F_BATCH | F_ITEMS) ||
	    r->type != AUDITLOG_DECISION || r->batch == 0 ||
	    r->batch != r->nitems)) {
		*why = "a batch line whose items are not its batch size";
		return -1;
	}
	if (r->type == AUDITLOG_CHECKPOINT &&
	    (seen & F_CHECKPOINT) != F_CHECKPOINT) {
		*why = "a checkpoint without covers_seq, covers_head, alg "
		    "or sig";
		return -1;
	}
	return 0;
}

