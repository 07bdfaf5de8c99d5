/* Internals shared by the files of the token layer. */
#ifndef TOKEN_INT_H
#define TOKEN_INT_H

#include <p11-kit/pkcs11.h>

#include "token.h"

struct key_handles {
	CK_OBJECT_CLASS		 cls;
	CK_OBJECT_HANDLE	 obj;		/* private, secret or data */
	CK_OBJECT_HANDLE	 pub;		/* CK_INVALID_HANDLE if none */
	uint8_t			 id[CONFIG_ID_MAX];
	size_t			 idlen;
	int			 verify;	/* check each signature */
	int			 low_s;		/* normalise ECDSA s */
	void			*pubkey;	/* EVP_PKEY, for verify */
};

/*
 * One generation of resolved keys; a reload makes a new one.  Keyspace
 * keys are appended (token_gen.c) into room made at load, never moved:
 * a worker reads nkeys (atomically) and the entries below it.
 */
#define TOKEN_SPACE_KEYS_MAX	1024	/* SMSG_SPACE_KEYS_MAX */

struct token_keyset {
	struct key_info		*info;
	struct key_handles	*handles;
	size_t			 nkeys;
	size_t			 nconf;		/* the configured ones first */
	size_t			 cap;
	int			 refs;		/* event loop only */
};

struct token {
	void			*dl;
	CK_FUNCTION_LIST	*f;		/* the one instance we use */
	int			 initialized;	/* C_Initialize succeeded */
	CK_SLOT_ID		 slotid;
	CK_SESSION_HANDLE	 control;	/* keeps the login alive */
	int			 have_control;
	struct token_keyset	*keys;		/* current generation */
	char			 desc[256];
	const char		*conf_path;	/* for messages */
	const struct keyspace	*spaces;	/* the config's keyspaces */
	size_t			 nspaces;
	int			 token_index;	/* its block: keyspaces there */
};

struct token_stream;

struct token_session {
	struct token		*tok;
	CK_SESSION_HANDLE	 h;
	int			 open;
	int			 faulted;	/* a token-level error */
	struct token_stream	*streams;	/* TOKEN_STREAMS_MAX, lazily */
};

/* Streams one worker holds at most: the signer's own bound. */
#define TOKEN_STREAMS_MAX	64

/* token_ops.c, for token_stream.c */
void	token_result_set(struct job_result *res, int status, const char *msg);
void	token_result_ckr(struct token_session *sess, struct job_result *res,
	    const char *call, CK_RV rv);
void	token_do_sign(struct token_session *sess, const struct job *job,
	    struct job_result *res);

/* token_stream.c */
void	token_stream_execute(struct token_session *sess,
	    const struct job *job, struct job_result *res);
void	token_streams_close(struct token_session *sess);

/* token_keys.c */
void	token_keyset_free(struct token_keyset *ks);
/* Read one attribute into a malloc'd buffer. */
CK_RV	token_get_attr(struct token *tok, CK_SESSION_HANDLE s,
	    CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, uint8_t **valp,
	    size_t *lenp);

/* token_keys.c, for token_gen.c: one key by a label-only reference. */
int	token_resolve_ref(struct token *tok, const struct token_conf *conf,
	    const struct key_ref *ref, struct key_handles *kh,
	    struct key_info *ki, char *errbuf, size_t errlen);

/* token_gen.c */
int	token_space_load(struct token *tok, const struct token_conf *conf,
	    struct token_keyset *ks);
size_t	token_keyset_count(const struct token_keyset *ks);

/* token_ops.c: the key's algorithms the token's mechanisms can do. */
uint32_t token_key_algs(struct token *tok, const struct key_info *ki);

#endif /* TOKEN_INT_H */
