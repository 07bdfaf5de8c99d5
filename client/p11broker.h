/*
 * libp11broker: client library for p11brokerd.
 *
 * A connection is a Unix stream socket to the broker.  Every call sends one
 * request and waits for its response.  One connection may be shared by any
 * number of threads: their requests are pipelined on the socket and each
 * thread gets its own response, matched by request id.
 *
 * Functions return P11B_OK (0), a positive broker status (P11B_DENIED, ...)
 * or a negative local error (P11B_ERR_*).  p11b_strerror() names either.
 * Output buffers are allocated with malloc() and belong to the caller; for
 * p11b_get_secret() use p11b_free_secret(), which wipes before freeing.
 */
#ifndef P11BROKER_H
#define P11BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "p11broker_vocab.h"

#ifdef __cplusplus
extern "C" {
#endif

#define P11B_DEFAULT_SOCKET	"/run/p11broker/p11broker.sock"

struct p11b_conn;

struct p11b_key_info {
	char			name[P11B_KEY_NAME_MAX + 1];
	enum p11b_key_type	type;
	unsigned int		bits;
	uint32_t		ops;	/* bit (1 << enum p11b_op) */
	uint32_t		algs;	/* bit (1 << enum p11b_alg) */
};

#define P11B_LATENCY_BUCKETS	16

struct p11b_request_count {
	enum p11b_op	op;
	char		key[P11B_KEY_NAME_MAX + 1];	/* "" for none */
	int		status;				/* enum p11b_status */
	uint64_t	count;
};

struct p11b_stats {
	struct p11b_request_count *requests;	/* malloc'd */
	size_t		nrequests;
	size_t		nbuckets;
	uint64_t	bucket_us[P11B_LATENCY_BUCKETS];	/* upper bounds */
	uint64_t	bucket_count[P11B_LATENCY_BUCKETS + 1];	/* last: slower */
	uint64_t	latency_sum_us;
	int		token_ready;
	unsigned int	workers;
	unsigned int	workers_busy;
	unsigned int	connections;
	uint64_t	audit_lines;
	uint64_t	policy_generation;
	uint64_t	uptime_seconds;
	/*
	 * Refusals a client cannot tell apart: by the policy (a key or
	 * operation the caller may not use; a hidden key answers
	 * no-such-key), and for a key that does not exist.
	 */
	uint64_t	policy_refusals;
	uint64_t	missing_key_refusals;
};

struct p11b_health {
	char		version[32];
	int		token_ready;
	uint64_t	uptime_seconds;
	unsigned int	workers;
};

/*
 * Connect to the broker.  path NULL means $P11BROKER_SOCKET, else
 * P11B_DEFAULT_SOCKET.  Calls on the connection time out (see
 * p11b_set_timeout) after $P11BROKER_TIMEOUT seconds, default 30.
 */
int	p11b_connect(const char *path, struct p11b_conn **connp);
/*
 * A call that has no answer after ms milliseconds (0: wait for ever)
 * fails with P11B_ERR_TIMEOUT, and so does every other call waiting on
 * the connection, which is then failed for good (reconnect).  Also
 * bounds a write the broker does not read.  Set it before the calls.
 */
void	p11b_set_timeout(struct p11b_conn *conn, unsigned int ms);
/* Call only when no other thread is inside a call on this connection. */
void	p11b_close(struct p11b_conn *conn);
/*
 * In a child after fork(): release the child's copy of a connection that
 * the parent keeps using.  The socket is closed in the child only (never
 * shut down) and the connection's locks, which a parent thread may have
 * held at the fork, are not touched.
 */
void	p11b_close_after_fork(struct p11b_conn *conn);

int	p11b_sign(struct p11b_conn *conn, const char *key, enum p11b_alg alg,
	    int flags, const uint8_t *in, size_t inlen,
	    uint8_t **sigp, size_t *siglenp);
int	p11b_hmac(struct p11b_conn *conn, const char *key, enum p11b_alg alg,
	    const uint8_t *in, size_t inlen, uint8_t **macp, size_t *maclenp);
/* *validp is 1 for a matching MAC, 0 otherwise. */
int	p11b_hmac_verify(struct p11b_conn *conn, const char *key,
	    enum p11b_alg alg, const uint8_t *in, size_t inlen,
	    const uint8_t *mac, size_t maclen, int *validp);
int	p11b_get_secret(struct p11b_conn *conn, const char *key,
	    uint8_t **secretp, size_t *lenp);
void	p11b_free_secret(uint8_t *secret, size_t len);
/* *certp is NULL when the token has no certificate for the key. */
int	p11b_get_public_key(struct p11b_conn *conn, const char *key,
	    uint8_t **spkip, size_t *spkilenp, uint8_t **certp, size_t *certlenp);
int	p11b_random(struct p11b_conn *conn, size_t len, uint8_t **outp);
int	p11b_list_keys(struct p11b_conn *conn, struct p11b_key_info **keysp,
	    size_t *nkeysp);
int	p11b_health(struct p11b_conn *conn, struct p11b_health *health);
/* Counters for metrics (admin only by policy); free with p11b_stats_free. */
int	p11b_stats(struct p11b_conn *conn, struct p11b_stats *stats);
void	p11b_stats_free(struct p11b_stats *stats);

/*
 * Input in parts (an HMAC over a file, C_SignUpdate): a stream.  Start
 * with one of the _init calls, give the input with p11b_stream_update()
 * as it comes, end with the _final of the same operation, which frees
 * the stream whatever it returns (p11b_stream_abort() gives up and
 * frees it).  The input goes to the broker in parts as it is given: no
 * side holds it whole, but for Ed25519, which the token signs in one
 * piece (the broker keeps it).  The broker decides at the first part;
 * a refused stream sends no more, and its _final returns the refusal.
 * An input within one part is sent as one ordinary request.  The
 * broker bounds a stream by max-input (P11B_TOO_LARGE), and by the time
 * between parts and in all (p11brokerd.conf(5)).  A stream is used by
 * one thread at a time; other threads may use the connection meanwhile.
 * p11b_sign(), p11b_hmac() and p11b_hmac_verify() stream an input
 * larger than one frame by themselves.
 */
struct p11b_stream;

int	p11b_hmac_init(struct p11b_conn *conn, const char *key,
	    enum p11b_alg alg, struct p11b_stream **streamp);
int	p11b_hmac_verify_init(struct p11b_conn *conn, const char *key,
	    enum p11b_alg alg, struct p11b_stream **streamp);
/* flags: P11B_SIGN_RAW only (a stream is the message, never a digest). */
int	p11b_sign_init(struct p11b_conn *conn, const char *key,
	    enum p11b_alg alg, int flags, struct p11b_stream **streamp);
int	p11b_stream_update(struct p11b_stream *stream, const uint8_t *in,
	    size_t inlen);
int	p11b_hmac_final(struct p11b_stream *stream, uint8_t **macp,
	    size_t *maclenp);
/* The MAC to check comes at the end; *validp as p11b_hmac_verify(). */
int	p11b_hmac_verify_final(struct p11b_stream *stream, const uint8_t *mac,
	    size_t maclen, int *validp);
int	p11b_sign_final(struct p11b_stream *stream, uint8_t **sigp,
	    size_t *siglenp);
void	p11b_stream_abort(struct p11b_stream *stream);

/* The broker's message for the last failed call on this thread, or "". */
const char	*p11b_last_message(void);

#ifdef __cplusplus
}
#endif

#endif /* P11BROKER_H */
