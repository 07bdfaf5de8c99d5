/*
 * Building audit lines.  Every line is one JSON object on one line, in
 * plain ASCII (other bytes are escaped), so that the bytes that are
 * hashed are exactly the bytes in the file.  The chain: each line ends
 * with "prev", the SHA-256 of the previous line without its newline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "audit_line.h"
#include "buf.h"

static const char hexdigits[] = "0123456789abcdef";

void
audit_buf_free(struct audit_buf *ab)
{
	free(ab->p);		/* audit lines hold no secret */
	EVP_MD_CTX_free(ab->sha.ctx);
	EVP_MD_free(ab->sha.md);
	memset(ab, 0, sizeof(*ab));
}

/* Falls back to libsodium's (slower) SHA-256 if OpenSSL's is not there. */
void
audit_sha256(struct audit_sha256 *h, const void *in, size_t len,
    uint8_t out[AUDIT_HASH_LEN])
{
	unsigned int n;

	if (h->md == NULL && (h->md = EVP_MD_fetch(NULL, "SHA256",
	    NULL)) != NULL)
		h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, in, len) != 1 ||
	    EVP_DigestFinal_ex(h->ctx, out, &n) != 1)
		crypto_hash_sha256(out, in, len);
}

/*
 * The lines stay in p, len and cap (audit.c reads them as chars); the
 * buf module grows and consumes them in place.
 */
void
audit_buf_consume(struct audit_buf *ab, size_t n)
{
	struct buf b = { (uint8_t *)ab->p, ab->len, ab->cap };

	buf_consume(&b, n);
	ab->len = b.len;
	ab->line_start = ab->line_start > n ? ab->line_start - n : 0;
}

static int
reserve(struct audit_buf *ab, size_t n)
{
	struct buf b = { (uint8_t *)ab->p, ab->len, ab->cap };

	if (ab->nomem)
		return -1;
	if (buf_reserve(&b, n) != 0) {
		ab->nomem = 1;
		return -1;
	}
	ab->p = (char *)b.p;
	ab->cap = b.cap;
	return 0;
}

static void
put(struct audit_buf *ab, const char *s, size_t n)
{
	if (n == 0 || reserve(ab, n) != 0)
		return;
	memcpy(ab->p + ab->len, s, n);
	ab->len += n;
}

static void
puts_raw(struct audit_buf *ab, const char *s)
{
	put(ab, s, strlen(s));
}

static void
put_u64(struct audit_buf *ab, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put(ab, tmp + sizeof(tmp) - n, n);
}

/* Names are ours (plain ASCII); values go through audit_json_string. */
static void
field(struct audit_buf *ab, const char *name)
{
	put(ab, ",\"", 2);
	puts_raw(ab, name);
	put(ab, "\":", 2);
}

static int
plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void
audit_json_string(struct audit_buf *ab, const char *s)
{
	const unsigned char *u = (const unsigned char *)s, *run;
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	put(ab, "\"", 1);
	for (;;) {
		for (run = u; plain(*u); u++)
			;
		put(ab, (const char *)run, u - run);
		if (*u == '\0')
			break;
		if (*u == '"' || *u == '\\') {
			esc[1] = (char)*u;
			put(ab, esc, 2);
		} else if (*u == '\n')
			put(ab, "\\n", 2);
		else if (*u == '\t')
			put(ab, "\\t", 2);
		else {
			esc[1] = 'u';
			esc[4] = hexdigits[*u >> 4];
			esc[5] = hexdigits[*u & 0xf];
			put(ab, esc, sizeof(esc));
		}
		u++;
	}
	put(ab, "\"", 1);
}

void
audit_hex(const uint8_t *bin, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hexdigits[bin[i] >> 4];
		out[2 * i + 1] = hexdigits[bin[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static void
digits(char *out, unsigned long v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
audit_format_time(const struct timespec *ts, char out[AUDIT_TIME_LEN + 1])
{
	struct tm tm;
	time_t t = ts->tv_sec;

	gmtime_r(&t, &tm);
	memcpy(out, "0000-00-00T00:00:00.000000Z", AUDIT_TIME_LEN + 1);
	digits(out, (unsigned long)(tm.tm_year + 1900) % 10000, 4);
	digits(out + 5, (unsigned long)tm.tm_mon + 1, 2);
	digits(out + 8, (unsigned long)tm.tm_mday, 2);
	digits(out + 11, (unsigned long)tm.tm_hour, 2);
	digits(out + 14, (unsigned long)tm.tm_min, 2);
	digits(out + 17, (unsigned long)tm.tm_sec, 2);
	digits(out + 20, (unsigned long)(ts->tv_nsec / 1000) % 1000000, 6);
}

void
audit_line_begin(struct audit_buf *ab, const struct audit_chain *ch,
    const struct timespec *now, const char *type)
{
	ab->line_start = ab->len;
	ab->nomem = 0;
	if (now->tv_sec != ab->tsec || ab->tday[0] == '\0') {
		audit_format_time(now, ab->tday);
		ab->tsec = now->tv_sec;
	} else
		digits(ab->tday + 20, (unsigned long)(now->tv_nsec / 1000) %
		    1000000, 6);
	put(ab, "{\"seq\":", 7);
	put_u64(ab, ch->seq + 1);
	put(ab, ",\"time\":\"", 9);
	put(ab, ab->tday, AUDIT_TIME_LEN);
	put(ab, "\",\"type\":", 9);
	audit_json_string(ab, type);
}

void
audit_line_str(struct audit_buf *ab, const char *name, const char *value)
{
	field(ab, name);
	audit_json_string(ab, value);
}

void
audit_line_num(struct audit_buf *ab, const char *name, uint64_t v)
{
	field(ab, name);
	put_u64(ab, v);
}

void
audit_line_bool(struct audit_buf *ab, const char *name, int v)
{
	field(ab, name);
	puts_raw(ab, v ? "true" : "false");
}

void
audit_line_hex(struct audit_buf *ab, const char *name, const uint8_t *bin,
    size_t len)
{
	field(ab, name);
	put(ab, "\"", 1);
	if (reserve(ab, 2 * len + 1) == 0) {
		audit_hex(bin, len, ab->p + ab->len);
		ab->len += 2 * len;
	}
	put(ab, "\"", 1);
}

void
audit_line_files(struct audit_buf *ab, const char *name,
    const char *const *paths, const char *const *sha256, size_t n)
{
	size_t i;

	field(ab, name);
	put(ab, "[", 1);
	for (i = 0; i < n; i++) {
		puts_raw(ab, i == 0 ? "{\"path\":" : ",{\"path\":");
		audit_json_string(ab, paths[i]);
		put(ab, ",\"sha256\":", 10);
		audit_json_string(ab, sha256[i]);
		put(ab, "}", 1);
	}
	put(ab, "]", 1);
}

void
audit_line_items(struct audit_buf *ab, const char *name,
    const struct audit_item *items, size_t n)
{
	char hex[AUDIT_HEX_LEN + 1];
	size_t i;

	field(ab, name);
	put(ab, "[", 1);
	for (i = 0; i < n; i++) {
		puts_raw(ab, i == 0 ? "{\"input_len\":" : ",{\"input_len\":");
		put_u64(ab, items[i].input_len);
		audit_hex(items[i].input_sha256, AUDIT_HASH_LEN, hex);
		put(ab, ",\"input_sha256\":\"", 17);
		put(ab, hex, AUDIT_HEX_LEN);
		put(ab, "\",\"status\":", 11);
		audit_json_string(ab, items[i].status);
		if (items[i].message != NULL) {
			put(ab, ",\"message\":", 11);
			audit_json_string(ab, items[i].message);
		}
		if (items[i].has_valid)
			puts_raw(ab, items[i].valid ? ",\"valid\":true" :
			    ",\"valid\":false");
		put(ab, "}", 1);
	}
	put(ab, "]", 1);
}

int
audit_line_end(struct audit_buf *ab, struct audit_chain *ch)
{
	audit_line_hex(ab, "prev", ch->head, sizeof(ch->head));
	put(ab, "}\n", 2);
	if (ab->nomem) {
		ab->len = ab->line_start;
		ab->nomem = 0;
		return -1;
	}
	audit_sha256(&ab->sha, ab->p + ab->line_start,
	    ab->len - 1 - ab->line_start, ch->head);
	ch->seq++;
	ab->line_start = ab->len;
	return 0;
}


/*
 * Re-marking lines not yet written.  Strings in a line escape every
 * quote, so these patterns (each with unescaped quotes) can only be the
 * fields themselves.
 */
static const char decision_mark[] = "\"type\":\"decision\"";
static const char dropped_mark[] = ",\"dropped\":true";
static const char latency_mark[] = ",\"latency_us\":";
static const char withheld_fields[] = ",\"dropped\":true,\"withheld\":true";

/* Insert the withheld fields into the decision line at [ls, nl). */
static int
withhold_line(struct audit_buf *ab, size_t ls, size_t *nl)
{
	const char *lat;
	size_t at, n = sizeof(withheld_fields) - 1;

	if (memmem(ab->p + ls, *nl - ls, decision_mark,
	    sizeof(decision_mark) - 1) == NULL ||
	    memmem(ab->p + ls, *nl - ls, dropped_mark,
	    sizeof(dropped_mark) - 1) != NULL ||
	    (lat = memmem(ab->p + ls, *nl - ls, latency_mark,
	    sizeof(latency_mark) - 1)) == NULL)
		return 0;
	at = lat - ab->p;
	if (reserve(ab, n) != 0)
		return -1;
	memmove(ab->p + at + n, ab->p + at, ab->len - at);
	memcpy(ab->p + at, withheld_fields, n);
	ab->len += n;
	*nl += n;
	return 1;
}

int
audit_buf_withhold(struct audit_buf *ab, size_t from, struct audit_chain *ch)
{
	uint8_t head[AUDIT_HASH_LEN];
	char hex[AUDIT_HEX_LEN + 1];
	const char *p;
	size_t ls, nl;
	int marked = 0, nomem = 0, r, linked = 0;

	for (ls = from; ls < ab->len; ls = nl + 1) {
		if ((p = memchr(ab->p + ls, '\n', ab->len - ls)) == NULL)
			break;
		nl = p - ab->p;
		/* ...,"prev":"HEX"} : the first line's prev stays */
		if (nl - ls < AUDIT_HEX_LEN + 2)
			break;
		if (linked) {
			audit_hex(head, sizeof(head), hex);
			memcpy(ab->p + nl - 2 - AUDIT_HEX_LEN, hex,
			    AUDIT_HEX_LEN);
		}
		/* Out of memory: the line stays as it is, still linked. */
		if ((r = withhold_line(ab, ls, &nl)) == -1)
			nomem = 1;
		else
			marked += r;
		audit_sha256(&ab->sha, ab->p + ls, nl - ls, head);
		linked = 1;
	}
	if (linked)
		memcpy(ch->head, head, sizeof(ch->head));
	ab->line_start = ab->len;
	ab->nomem = 0;
	return nomem ? -1 : marked;
}
