/*
 * What the config says about the token and its keys, in the form the
 * token layer takes it (brokerd/signer/token/ reads this, never the rest
 * of the config language).
 */
#ifndef TOKEN_REF_H
#define TOKEN_REF_H

#include <stddef.h>
#include <stdint.h>

#include "p11broker_vocab.h"

#define CONFIG_ID_MAX		64	/* bytes of a CKA_ID */

enum key_ref_kind {
	KEY_REF_LABEL,
	KEY_REF_ID,
};

struct key_ref {
	char			 name[P11B_KEY_NAME_MAX + 1];
	/* Versions (policy/versions.h): "" for a key without them. */
	char			 version[P11B_KEY_NAME_MAX + 1];
	int			 previous;	/* an older version */
	enum key_ref_kind	 kind;
	char			*label;
	uint8_t			 id[CONFIG_ID_MAX];
	size_t			 idlen;
	int			 verify;	/* check every signature */
	int			 low_s;		/* ECDSA: s <= n/2 */
	size_t			 max_input;	/* streamed input, 0: global */
	int			 line;
	char			*cert_path;	/* certificate "PATH", or NULL */
	uint8_t			*cert;		/* its DER certificates, the */
	size_t			 certlen;	/* key's first (the monitor) */
};

enum token_select {
	TOKEN_BY_LABEL,
	TOKEN_BY_SERIAL,
	TOKEN_BY_SLOT,
};

/* The token statement, the module and the keys, for the token layer. */
struct token_conf {
	const char		*path;		/* the config file, for messages */
	const char		*module;
	enum token_select	 token_by;
	const char		*token_label;	/* label or serial */
	unsigned long		 token_slot;
	const struct key_ref	*keys;
	size_t			 nkeys;
	int			 checkpoint_key;  /* index: one name only; -1 */
};

#endif /* TOKEN_REF_H */
