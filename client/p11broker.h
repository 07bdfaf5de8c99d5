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
 *
 * A connection survives the broker closing it (idle-timeout, a restart):
 * the next call opens a new socket to the same path, and a call whose
 * request met the hang-up is made once more on it, except p11b_get_secret
 * once the broker may have read it.  A timeout is never repeated.  In a
 * child after fork() a parent's connection fails with P11B_ERR_INVALID.
 * The whole story: libp11broker(3).
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
/* p11b_hmac() and p11b_hmac_verify() with P11B_ALG_NONE; the CLI's too. */
#define P11B_HMAC_DEFAULT_ALG	P11B_ALG_HMAC_SHA256

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
 * the connection; it is not repeated, and the next call opens a new
 * socket.  Also bounds a write the broker does not read.
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
 * Why the last call on this thread failed (the broker's message or a
 * local reason), or "" when it succeeded.
 */
const char	*p11b_last_message(void);

#ifdef __cplusplus
}
#endif

#endif /* P11BROKER_H */
