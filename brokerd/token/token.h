/*
 * The token layer: the only code that talks PKCS#11.  The cold path
 * (load, find the token, inventory, public keys) uses libp11; the hot path
 * calls the module's own function list on cached handles, one session per
 * worker.  Requests come in as plain structs with no pointers into
 * connection state, so this layer can move into its own process.
 */
#ifndef TOKEN_H
#define TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "p11broker.h"

struct secret;

/* What the rest of the broker knows about a configured key. */
struct key_info {
	char			 name[P11B_KEY_NAME_MAX + 1];
	enum p11b_key_type	 type;
	unsigned int		 bits;
	int			 extractable;	/* get-secret possible */
	uint8_t			*spki;		/* public key, DER */
	size_t			 spkilen;
	uint8_t			*cert;		/* certificate, DER, if any */
	size_t			 certlen;
	char			 object[160];	/* "private key label=... id=..." */
};

struct token_keyset;

/* One operation for a worker: copies, never pointers to connections. */
struct token_job {
	struct token_keyset *keys;	/* the generation key indexes into */
	int		 key;		/* key index, -1: none */
	enum p11b_op	 op;
	enum p11b_alg	 alg;
	int		 flags;		/* P11B_SIGN_* */
	uint8_t		*in;
	size_t		 inlen;
	uint8_t		*mac;
	size_t		 maclen;
	uint32_t	 random_len;
};

struct token_result {
	int		 status;	/* enum p11b_status */
	const char	*message;	/* static string */
	uint8_t		*out;		/* malloc'd */
	size_t		 outlen;
	int		 valid;		/* hmac-verify */
	int		 secret;	/* out must be wiped */
};

struct token;
struct token_session;

/*
 * Load the module, find the token, log in with the PIN (once: a wrong PIN
 * is never retried) and resolve every configured key.  On error, errbuf
 * says what to fix; TOKEN_ERR_PIN when the token refused the PIN (never
 * try it again), -1 otherwise.
 */
#define TOKEN_ERR_PIN	(-2)
int	token_open(const struct config *conf, struct secret *pin,
	    struct token **tokp, char *errbuf, size_t errlen);
void	token_close(struct token *tok);
/* The current generation of keys (held by the token). */
struct token_keyset *token_current_keys(struct token *tok);
const struct key_info *token_keyset_info(const struct token_keyset *ks,
	    size_t *nkeys);
/*
 * Resolve the config's keys anew (for a reload) without disturbing the
 * current generation.  The caller holds the one reference to the new
 * set: token_use_keys() makes it current and takes that reference over,
 * token_keyset_release() drops it.
 */
int	token_keyset_load(struct token *tok, const struct config *conf,
	    struct token_keyset **ksp, char *errbuf, size_t errlen);
void	token_use_keys(struct token *tok, struct token_keyset *ks);
/* A key set around key_info from elsewhere (taken over), no handles. */
struct token_keyset *token_keyset_from_info(struct key_info *info,
	    size_t nkeys);
/* Jobs in flight hold their generation (event loop thread only). */
void	token_keyset_hold(struct token_keyset *ks);
void	token_keyset_release(struct token_keyset *ks);
const char *token_description(const struct token *tok);

int	token_session_open(struct token *tok, struct token_session **sessp);
void	token_session_close(struct token_session *sess);
/* Run one job; always fills res. */
void	token_execute(struct token_session *sess, const struct token_job *job,
	    struct token_result *res);
void	token_result_clear(struct token_result *res);
/* The last job met a token-level fault (the token is unhealthy). */
int	token_session_faulted(const struct token_session *sess);

/* CK_RV by name: "CKR_PIN_INCORRECT". */
const char *token_ckr_name(unsigned long rv);

#endif /* TOKEN_H */
