/*
 * Audit log lines: JSON objects built into a growing buffer, each ending
 * with the hash of the line before it.  No I/O here; see audit.c and
 * p11broker-audit(5) for the format.
 */
#ifndef AUDIT_LINE_H
#define AUDIT_LINE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "audit_msg.h"

#define AUDIT_HASH_LEN		32	/* SHA-256 */
#define AUDIT_HEX_LEN		(2 * AUDIT_HASH_LEN)
#define AUDIT_TIME_LEN		27	/* 2026-11-25T20:21:27.123456Z */

/* The end of the chain: the last line appended. */
struct audit_chain {
	uint64_t	 seq;			/* 0: no line yet */
	uint8_t		 head[AUDIT_HASH_LEN];	/* zeros: no line yet */
};

struct evp_md_st;
struct evp_md_ctx_st;

/* SHA-256 on the hot path: OpenSSL's, the algorithm fetched once. */
struct audit_sha256 {
	struct evp_md_st	*md;
	struct evp_md_ctx_st	*ctx;
};

/* Lines being built and not yet written. */
struct audit_buf {
	char			*p;
	size_t			 len;
	size_t			 cap;
	size_t			 line_start;	/* of the line being built */
	int			 nomem;		/* this line could not be built */
	struct audit_sha256	 sha;
	time_t			 tsec;		/* second in tday */
	char			 tday[AUDIT_TIME_LEN + 1];
};

void	audit_buf_free(struct audit_buf *ab);
void	audit_sha256(struct audit_sha256 *h, const void *in, size_t len,
	    uint8_t out[AUDIT_HASH_LEN]);
/* Drop the first n bytes (written). */
void	audit_buf_consume(struct audit_buf *ab, size_t n);

/* Start a line: {"seq":N,"time":"...","type":"TYPE" */
void	audit_line_begin(struct audit_buf *ab, const struct audit_chain *ch,
	    const struct timespec *now, const char *type);
/* ,"name": followed by a value of the given kind. */
void	audit_line_str(struct audit_buf *ab, const char *name,
	    const char *value);
void	audit_line_num(struct audit_buf *ab, const char *name, uint64_t v);
void	audit_line_bool(struct audit_buf *ab, const char *name, int v);
void	audit_line_hex(struct audit_buf *ab, const char *name,
	    const uint8_t *bin, size_t len);
/* ,"name":[{"path":"...","sha256":"..."},...] */
void	audit_line_files(struct audit_buf *ab, const char *name,
	    const char *const *paths, const char *const *sha256, size_t n);
/*
 * Finish the line with ,"prev":"HEX"} and a newline, then advance the
 * chain: head = SHA-256 of the line without its newline.  -1 when memory
 * ran out: the line is removed and the chain is unchanged.
 */
int	audit_line_end(struct audit_buf *ab, struct audit_chain *ch);
/*
 * A batch's items (audit_batch.c): "name":[{"input_len":..,
 * "input_sha256":"..","status":".."[,"message":".."][,"valid":b]},..]
 */
struct audit_item {
	size_t		 input_len;
	uint8_t		 input_sha256[AUDIT_HASH_LEN];
	const char	*status;	/* its name: "ok", "too-large"... */
	const char	*message;	/* for a refusal, or NULL */
	int		 has_valid;	/* hmac-verify answered */
	int		 valid;
};
void	audit_line_items(struct audit_buf *ab, const char *name,
	    const struct audit_item *items, size_t n);

/*
 * The answers of the decision lines from byte from on (a line's start)
 * never left: each gets ,"dropped":true,"withheld":true before its
 * latency_us, and the lines are linked again; ch->head becomes the last
 * line's hash.  Only between lines.  The number marked, -1 when memory
 * ran out (the lines then stay as they were, or partly marked but
 * linked).
 */
int	audit_buf_withhold(struct audit_buf *ab, size_t from,
	    struct audit_chain *ch);
/* A JSON string, quoted; every byte outside printable ASCII escaped. */
void	audit_json_string(struct audit_buf *ab, const char *s);
/* RFC 3339 UTC with microseconds. */
void	audit_format_time(const struct timespec *ts,
	    char out[AUDIT_TIME_LEN + 1]);
/* Lower-case hex; out holds 2 * len + 1. */
void	audit_hex(const uint8_t *bin, size_t len, char *out);

#endif /* AUDIT_LINE_H */
