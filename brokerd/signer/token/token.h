/*
 * The token layer: the only code that talks PKCS#11, all through the
 * module's own function list (initialised once, here): the cold path
 * (load, find the token, inventory, public keys) and the hot path on
 * cached handles, one session per worker.  Requests come in as plain structs with no pointers into
 * connection state, so this layer can move into its own process.
 */
#ifndef TOKEN_H
#define TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "token_ref.h"
#include "job.h"

struct secret;

struct token_keyset;

struct token;
struct token_session;

/*
 * Load the module, find the token, log in with the PIN (once: a wrong PIN
 * is never retried) and resolve every configured key.  On error, errbuf
 * says what to fix; TOKEN_ERR_PIN when the token refused the PIN (never
 * try it again), -1 otherwise.
 */
#define TOKEN_ERR_PIN	(-2)
int	token_open(const struct token_conf *conf, struct secret *pin,
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
int	token_keyset_load(struct token *tok, const struct token_conf *conf,
	    struct token_keyset **ksp, char *errbuf, size_t errlen);
void	token_use_keys(struct token *tok, struct token_keyset *ks);
void	token_keyset_release(struct token_keyset *ks);
const char *token_description(const struct token *tok);

int	token_session_open(struct token *tok, struct token_session **sessp);
void	token_session_close(struct token_session *sess);
/* Run one job on the current keys; always fills res. */
void	token_execute(struct token_session *sess, const struct job *job,
	    struct job_result *res);
/*
 * Keyspace keys (token_gen.c).  token_resolve_label() finds the key a
 * job names by label and CKA_ID (this process's own copy: known from
 * the start, or looked up on the token now) and sets job->key; else it
 * fills res.  token_generate() makes the key a GENERATE job names and
 * points *newp at it (for the hello the front gets).
 */
size_t	token_configured_keys(const struct token *tok);
int	token_resolve_label(struct token_session *sess, struct job *job,
	    struct job_result *res);
void	token_generate(struct token_session *sess, const struct job *job,
	    struct job_result *res, const struct key_info **newp);

/* The last job met a token-level fault (the token is unhealthy). */
int	token_session_faulted(const struct token_session *sess);

/* CK_RV by name: "CKR_PIN_INCORRECT". */
const char *token_ckr_name(unsigned long rv);

#endif /* TOKEN_H */
