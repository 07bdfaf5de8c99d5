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
	uint32_t		 tokens;	/* bit i: token block i holds it */
	char			*cert_path;	/* certificate "PATH", or NULL */
	uint8_t			*cert;		/* its DER certificates, the */
	size_t			 certlen;	/* key's first (the monitor) */
};

/*
 * A keyspace: token objects whose CKA_LABEL starts with prefix are keys
 * of their own (named by the label), granted by policy rules that name
 * the keyspace, and may be generated there (policy/keyspace.c).
 */
#define CONFIG_MAX_KEYSPACES	32

enum keyspace_type {
	KS_EC_P256 = 0,
	KS_EC_P384,
	KS_RSA_2048,
	KS_RSA_3072,
	KS_ED25519,
	KS_HMAC_256,
	KS_HMAC_384,
	KS_HMAC_512,
};
#define KS_TYPE_COUNT	8

struct keyspace {
	char			 name[P11B_KEY_NAME_MAX + 1];
	char			 prefix[P11B_KEY_NAME_MAX + 1];
	uint32_t		 types;		/* 1 << enum keyspace_type */
	int			 token;		/* the token block it is on */
	int			 line;
};

enum token_select {
	TOKEN_BY_LABEL,
	TOKEN_BY_SERIAL,
	TOKEN_BY_SLOT,
};

/*
 * One token block, its module and the keys, for the token layer: keys
 * the block does not hold (not bit token of their tokens) are announced
 * as absent, the keyspaces of other blocks are not looked at.
 */
struct token_conf {
	const char		*path;		/* the config file, for messages */
	const char		*name;		/* the token block's */
	int			 token;		/* its index */
	const char		*module;
	enum token_select	 token_by;
	const char		*token_label;	/* label or serial */
	unsigned long		 token_slot;
	const struct key_ref	*keys;
	size_t			 nkeys;
	int			 checkpoint_key;  /* index: one name only; -1 */
	const struct keyspace	*keyspaces;
	size_t			 nkeyspaces;
};

#endif /* TOKEN_REF_H */
