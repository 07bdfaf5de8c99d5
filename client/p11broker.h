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

#define P11B_ID_MAX		64	/* bytes of a token CKA_ID */
#define P11B_LABEL_MAX		128	/* bytes of a token CKA_LABEL */
#define P11B_IDENTITY_LEN	16

struct p11b_key_info {
	char			name[P11B_KEY_NAME_MAX + 1];
	enum p11b_key_type	type;
	unsigned int		bits;
	uint32_t		ops;	/* bit (1 << enum p11b_op) */
	uint32_t		algs;	/* bit (1 << enum p11b_alg) */
	/* The token object behind the name (empty from an older broker). */
	uint8_t			id[P11B_ID_MAX];	/* CKA_ID */
	size_t			idlen;
	char			label[P11B_LABEL_MAX + 1];	/* CKA_LABEL */
	int			local;			/* CKA_LOCAL */
	/*
	 * Names the key material the name stands for now; a reload that
	 * maps the name elsewhere changes it.  Pass it to the *_expect
	 * calls to be refused (P11B_NO_SUCH_KEY) instead of served by
	 * another key.  identitylen is 0 from an older broker.
	 */
	uint8_t			identity[P11B_IDENTITY_LEN];
	size_t			identitylen;
};

/* A key's public half, as p11b_get_public_key_info() returns it. */
struct p11b_public_key {
	uint8_t		*spki;		/* SubjectPublicKeyInfo, DER */
	size_t		 spkilen;
	uint8_t		*cert;		/* X.509 DER, or NULL */
	size_t		 certlen;
	uint8_t		*chain;		/* issuers' DER certificates, */
	size_t		 chainlen;	/* concatenated, nearest first */
	uint8_t		 identity[P11B_IDENTITY_LEN];
	size_t		 identitylen;
};

#define P11B_LATENCY_BUCKETS	16

struct p11b_request_count {
	enum p11b_op	op;
	char		key[P11B_KEY_NAME_MAX + 1];	/* "" for none */
	int		status;				/* enum p11b_status */
	uint64_t	count;
};

/* Requests by caller (Stats). */
#define P11B_CALLERS_MAX	128	/* uids with a row of their own */
enum p11b_caller_kind {
	P11B_CALLER_UID,	/* uid: a caller the policy names */
	P11B_CALLER_UNKNOWN,	/* every caller no policy rule names */
	P11B_CALLER_OTHER,	/* named callers past P11B_CALLERS_MAX */
};

struct p11b_caller_count {
	uint32_t	uid;
	int		kind;		/* enum p11b_caller_kind */
	uint64_t	ok;
	uint64_t	refused;	/* denied, no-such-key, rate-limited */
	uint64_t	failed;		/* any other status */
};
#define P11B_SANDBOX_KILLS_MAX	16
#define P11B_SIGNERS_MAX	16
#define P11B_SYSCALL_NAME_MAX	31
#define P11B_TOKENS_MAX		8

/*
 * One token block of the broker's config, as the front sees it now.  A
 * broker without token blocks, or an older one, sends none (ntokens 0).
 */
struct p11b_token_health {
	/* The block's name, of the same charset as key names. */
	char		name[P11B_KEY_NAME_MAX + 1];
	int		ready;		/* a signer of it serves */
	unsigned int	signers;	/* signer processes configured for it */
	unsigned int	signers_up;	/* of them, serving now */
	int		pin_refused;	/* refused its PIN: not restarted */
	uint64_t	failovers;	/* jobs moved from it to another token */
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
	/* The audit log (0 without one). */
	uint64_t	audit_write_failures;	/* full disk, I/O errors */
	uint64_t	audit_copies_dropped;	/* not sent to syslog/anchor */
	uint64_t	audit_checkpoint_time;	/* last one, Unix seconds */
	struct p11b_caller_count *callers;	/* malloc'd */
	size_t		ncallers;
	/*
	 * The monitor's counts: signers started, of them restarts of one
	 * that died, logins the token refused, and sandbox kills by the
	 * system call the signer reported ("unknown" without a report,
	 * "other" past the first P11B_SANDBOX_KILLS_MAX - 1 names).
	 */
	uint64_t	signer_starts;
	uint64_t	signer_restarts;
	uint64_t	login_failures;
	struct p11b_sandbox_kill {
		char		syscall[P11B_SYSCALL_NAME_MAX + 1];
		uint64_t	count;
	}		sandbox_kills[P11B_SANDBOX_KILLS_MAX];
	size_t		nsandbox_kills;
	/*
	 * Signer processes: configured, serving now, and by slot (the
	 * totals above are theirs summed; workers counts every signer's).
	 */
	unsigned int	signers;
	unsigned int	signers_up;
	struct p11b_signer_slot {
		unsigned int	slot;
		int		up;
		int		looping;	/* dying over and over */
		uint64_t	starts;
		uint64_t	restarts;
		unsigned int	busy;		/* workers with a job */
		unsigned int	token;		/* index into tokens[] */
	}		signer_slots[P11B_SIGNERS_MAX];
	size_t		nsigner_slots;
	/* Per token block of the config (none from an older broker). */
	size_t		ntokens;
	struct p11b_token_health tokens[P11B_TOKENS_MAX];
};

struct p11b_health {
	char		version[32];
	int		token_ready;
	uint64_t	uptime_seconds;
	unsigned int	workers;	/* every signer's together */
	unsigned int	signers;	/* signer processes configured */
	unsigned int	signers_up;	/* of them, serving */
	size_t		ntokens;	/* 0 from an older broker */
	struct p11b_token_health tokens[P11B_TOKENS_MAX];
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
/*
 * RSA-PSS with a chosen salt length: 0 up to the key's maximum (modulus
 * bytes - digest length - 2); p11b_sign() uses the digest length.
 */
int	p11b_sign_pss(struct p11b_conn *conn, const char *key,
	    enum p11b_alg alg, int flags, size_t salt_len, const uint8_t *in,
	    size_t inlen, uint8_t **sigp, size_t *siglenp);
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
/* All of it in one answer, identity included; free with the next. */
int	p11b_get_public_key_info(struct p11b_conn *conn, const char *key,
	    struct p11b_public_key *pk);
void	p11b_public_key_free(struct p11b_public_key *pk);
/*
 * As p11b_sign/p11b_hmac/p11b_hmac_verify/p11b_get_secret, refused with
 * P11B_NO_SUCH_KEY unless the key is still the one p11b_list_keys()
 * described with identity (NULL or 0 bytes: no check).
 */
int	p11b_sign_expect(struct p11b_conn *conn, const char *key,
	    const uint8_t *identity, size_t identitylen, enum p11b_alg alg,
	    int flags, const uint8_t *in, size_t inlen,
	    uint8_t **sigp, size_t *siglenp);
int	p11b_sign_pss_expect(struct p11b_conn *conn, const char *key,
	    const uint8_t *identity, size_t identitylen, enum p11b_alg alg,
	    int flags, size_t salt_len, const uint8_t *in, size_t inlen,
	    uint8_t **sigp, size_t *siglenp);
int	p11b_hmac_expect(struct p11b_conn *conn, const char *key,
	    const uint8_t *identity, size_t identitylen, enum p11b_alg alg,
	    const uint8_t *in, size_t inlen, uint8_t **macp, size_t *maclenp);
int	p11b_hmac_verify_expect(struct p11b_conn *conn, const char *key,
	    const uint8_t *identity, size_t identitylen, enum p11b_alg alg,
	    const uint8_t *in, size_t inlen, const uint8_t *mac, size_t maclen,
	    int *validp);
int	p11b_get_secret_expect(struct p11b_conn *conn, const char *key,
	    const uint8_t *identity, size_t identitylen, uint8_t **secretp,
	    size_t *lenp);
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
/*
 * Before the first p11b_stream_update(): the key identity the caller
 * expects (KeyInfo.identity, P11B_IDENTITY_LEN bytes; 0 for none), as
 * with p11b_sign_expect(); a mismatch ends the stream P11B_NO_SUCH_KEY.
 */
int	p11b_stream_expect(struct p11b_stream *stream, const uint8_t *identity,
	    size_t identitylen);
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


/*
 * Why the last call on this thread failed (the broker's message or a
 * local reason), or "" when it succeeded.
 */
const char	*p11b_last_message(void);

/*
 * Batches: many inputs for one key, one algorithm and one operation in
 * one request, run back to back on one token session and answered with
 * a result per item (libp11broker(3), BATCHES).  Fill in (and for
 * hmac-verify mac) of each item; a call that returns 0 has set every
 * item's status, and for an item answered P11B_OK its out (signature or
 * MAC, malloc'd, free with p11b_batch_clear()) or valid.  Any other
 * return is the whole batch's: a broker status (the key, the algorithm,
 * more items than the broker's max-batch, a frame over its limit) or a
 * local error; no item has a result then.
 */
struct p11b_batch_item {
	const uint8_t	*in;
	size_t		 inlen;
	const uint8_t	*mac;		/* hmac-verify: the MAC to check */
	size_t		 maclen;
	int		 status;	/* out: P11B_OK or the item's status */
	uint8_t		*out;		/* out: signature or MAC, or NULL */
	size_t		 outlen;
	int		 valid;		/* out: hmac-verify */
};

/* op: P11B_OP_SIGN, P11B_OP_HMAC or P11B_OP_HMAC_VERIFY. */
int	p11b_batch(struct p11b_conn *conn, enum p11b_op op, const char *key,
	    const uint8_t *identity, size_t identitylen, enum p11b_alg alg,
	    int flags, struct p11b_batch_item *items, size_t n);
int	p11b_sign_batch(struct p11b_conn *conn, const char *key,
	    enum p11b_alg alg, int flags, struct p11b_batch_item *items,
	    size_t n);
int	p11b_hmac_batch(struct p11b_conn *conn, const char *key,
	    enum p11b_alg alg, struct p11b_batch_item *items, size_t n);
int	p11b_hmac_verify_batch(struct p11b_conn *conn, const char *key,
	    enum p11b_alg alg, struct p11b_batch_item *items, size_t n);
/* Free the items' outputs (the items themselves stay). */
void	p11b_batch_clear(struct p11b_batch_item *items, size_t n);

/*
 * Key generation (keyspaces, p11brokerd.conf(5)): a new key on the token
 * with label (which must start with the prefix of a keyspace the policy
 * lets this caller "generate" in; it is the key's name too), never
 * extractable.  type: P11B_KEY_EC_P256, _EC_P384, _ED25519 (bits 0),
 * _RSA (bits 2048 or 3072) or _SECRET (an HMAC key, bits 256, 384 or
 * 512).  id: its CKA_ID (1-64 bytes), or NULL for 16 random bytes.  On
 * success *key describes it as p11b_list_keys() would and *spki holds
 * its public key (DER; NULL for a secret key), freed with free().
 */
int	p11b_generate_key(struct p11b_conn *conn, const char *label,
	    enum p11b_key_type type, unsigned int bits, const uint8_t *id,
	    size_t idlen, struct p11b_key_info *key, uint8_t **spkip,
	    size_t *spkilenp);

/*
 * Key versions (p11brokerd.conf(5), "Key versions").  A logical key may
 * have a current version and older ones: p11b_sign() and p11b_hmac() use
 * the current one; p11b_hmac_verify() tries the current one, then the
 * older ones, newest first (a streamed input: the current one only).
 * p11b_list_keys() describes the current versions only.
 */
struct p11b_key_version {
	struct p11b_key_info	key;	/* name: the logical key's; id, label,
					 * identity: this version's object */
	char			version[P11B_KEY_NAME_MAX + 1]; /* "": none */
	int			previous;	/* an older version */
};

/*
 * Every key the caller may use, each version an entry of its own, a
 * key's current version first; free the array with free().
 */
int	p11b_list_key_versions(struct p11b_conn *conn,
	    struct p11b_key_version **versionsp, size_t *nversionsp);
/* As p11b_get_public_key_info(), of a version (NULL or "": current). */
int	p11b_get_public_key_version(struct p11b_conn *conn, const char *key,
	    const char *version, struct p11b_public_key *pk);
/*
 * The version named by this thread's last successful sign, hmac,
 * hmac-verify (the one whose MAC matched; "" when none did) or public
 * key call, "" for a key without versions.  *previousp (if not NULL):
 * 1 when it is an older version, so a MAC that only matched an older
 * version can be made again under the current one.
 */
const char	*p11b_last_version(int *previousp);

#ifdef __cplusplus
}
#endif

#endif /* P11BROKER_H */
