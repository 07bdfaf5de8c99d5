/*
 * p11broker-pkcs11.so: a PKCS#11 module whose one token is the set of keys
 * the calling process may use on a p11broker daemon.  Internal interfaces.
 *
 * Functions here return CK_RV: the module is itself the PKCS#11 boundary.
 * Broker results (enum p11b_status, P11B_ERR_*) are turned into CK_RV in
 * one place, link_ckr().
 */
#ifndef PKCS11_MODULE_H
#define PKCS11_MODULE_H

#include <sys/queue.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>
#include <openssl/evp.h>

#include "algs.h"
#include "buf.h"
#include "p11broker.h"

#define MODULE_SLOT_ID		0
#define MODULE_LABEL_DEFAULT	"p11broker"
#define MODULE_MANUFACTURER	"p11broker"
#define MODULE_MODEL		"p11broker-pkcs11"
#define MODULE_VERSION_MAJOR	0
#define MODULE_VERSION_MINOR	1
/* Raw input kept for a multi-part Ed25519 check (opstream.c). */
#define MODULE_MULTIPART_MAX	(64 * 1024 * 1024)

/* filter.c: which keys this process sees ($P11BROKER_KEYS, ..._TYPES) */
CK_RV		 filter_init(void);
int		 filter_shows(const char *name, enum p11b_key_type type);
void		 filter_free(void);
/* CKA_LABEL: the key name, or with $P11BROKER_LABELS=token the token's. */
int		 filter_token_labels(void);

/* module.c */
int		 module_initialized(void);
void		 module_lock(void);
void		 module_unlock(void);
const char	*module_token_label(void);
void		 module_debug(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
void		 pad_copy(CK_UTF8CHAR *dst, size_t dstlen, const char *src);

/* link.c: the connection to the broker, shared by all threads */
struct link;
CK_RV		 link_get(struct link **linkp);
struct p11b_conn *link_conn(struct link *link);
void		 link_put(struct link *link, int rc);
int		 link_again(struct link **linkp, int rc, int *triesp);
uint64_t	 link_generation(void);
void		 link_close(void);
void		 link_fork_lock(int lock);
void		 link_forget(void);
CK_RV		 link_ckr(int rc);

/* objects.c: the token's objects, built from ListKeys and GetPublicKey */
struct key {
	char			 name[P11B_KEY_NAME_MAX + 1];
	enum p11b_key_type	 type;
	unsigned int		 bits;
	uint32_t		 ops;		/* 1 << enum p11b_op */
	uint32_t		 algs;		/* 1 << enum p11b_alg */
	uint8_t			*spki;		/* NULL without pubkey */
	size_t			 spkilen;
	uint8_t			*cert;
	size_t			 certlen;
	uint8_t			*chain;		/* issuers' DER, concatenated */
	size_t			 chainlen;
	EVP_PKEY		*pub;		/* parsed spki */
	uint8_t			 id[P11B_ID_MAX];	/* CKA_ID */
	size_t			 idlen;
	char			 label[P11B_LABEL_MAX + 1];	/* CKA_LABEL */
	int			 local;		/* CKA_LOCAL, the token's */
	uint8_t			 identity[P11B_IDENTITY_LEN];
	size_t			 identitylen;	/* 0: an older broker */
	/* A key version (p11brokerd.conf(5)): each is a key of its own. */
	char			 version[P11B_KEY_NAME_MAX + 1];	/* "": none */
	int			 previous;	/* an older version */
};

#define ATTR_SENSITIVE		0x01	/* exists, never revealed */
#define ATTR_SECRET_VALUE	0x02	/* fetched from the broker on demand */

struct attr {
	CK_ATTRIBUTE_TYPE	 type;
	void			*value;
	CK_ULONG		 len;
	int			 flags;
};

struct object {
	CK_OBJECT_HANDLE	 handle;
	CK_OBJECT_CLASS		 class;
	struct key		*key;
	struct attr		*attrs;
	size_t			 nattrs;
	int			 gone;		/* key no longer offered */
	const uint8_t		*cert;		/* certificate objects: DER */
	size_t			 certlen;	/* (in key->cert or chain) */
};

CK_RV		 object_load(int refresh);
struct object	*object_find(CK_OBJECT_HANDLE handle);
CK_RV		 object_match(const CK_ATTRIBUTE *templ, CK_ULONG count,
		    CK_OBJECT_HANDLE **handlesp, size_t *np);
const struct attr *object_attr(const struct object *obj,
		    CK_ATTRIBUTE_TYPE type);
uint32_t	 object_all_algs(void);
/* The broker refused the key as changed: drop it, reload at next use. */
void		 object_key_changed(const struct key *key);
void		 object_invalidate(void);

/* generate.c: the key generation mechanisms, always offered. */
#define GENERATE_MECHS	4
size_t		 generate_mechs(CK_MECHANISM_TYPE *out);
CK_RV		 generate_mech_info(CK_MECHANISM_TYPE type,
		    CK_MECHANISM_INFO *info);
void		 object_free_all(void);
void		 object_forget(void);
void		 object_fork_lock(int lock);

/* attrs.c: attribute sets per object class */
struct attr_set {
	struct attr	*attrs;
	size_t		 n, cap;
	int		 failed;
};
void		 attrs_add(struct attr_set *set, CK_ATTRIBUTE_TYPE type,
		    const void *value, size_t len);
void		 attrs_add_flag(struct attr_set *set, CK_ATTRIBUTE_TYPE type,
		    int flags);
void		 attrs_add_bool(struct attr_set *set, CK_ATTRIBUTE_TYPE type,
		    int value);
void		 attrs_add_ulong(struct attr_set *set, CK_ATTRIBUTE_TYPE type,
		    CK_ULONG value);
int		 attrs_private_key(struct attr_set *set, const struct key *key);
int		 attrs_public_key(struct attr_set *set, const struct key *key);
int		 attrs_certificate(struct attr_set *set, const struct key *key,
		    const uint8_t *der, size_t len, int issuer);
int		 attrs_secret(struct attr_set *set, const struct key *key,
		    CK_OBJECT_CLASS class);
void		 attrs_free(struct attr *attrs, size_t n);

/* mech.c: mechanisms, and how each becomes a broker request */
enum mech_kind {
	MECH_ECDSA,
	MECH_RSA_PKCS,
	MECH_RSA_PSS,
	MECH_EDDSA,
	MECH_HMAC,
};

struct mech_info {
	CK_MECHANISM_TYPE	 type;
	const char		*name;
	enum mech_kind		 kind;
	const char		*hash;		/* hashed here first, or NULL */
};

const struct mech_info *mech_lookup(CK_MECHANISM_TYPE type);
int		 mech_fits_key(const struct mech_info *mi,
		    const struct key *key);
int		 mech_usable(const struct mech_info *mi, const struct key *key);
CK_RV		 mech_list(CK_MECHANISM_TYPE *list, CK_ULONG *countp);
CK_RV		 mech_get_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);
size_t		 mech_key_mechanisms(const struct key *key,
		    CK_MECHANISM_TYPE *out, size_t max);
enum p11b_alg	 mech_alg_by_hash(enum p11b_alg member, const char *hash);
enum p11b_alg	 mech_key_alg(const struct key *key, const char *hash);
const char	*mech_alg_hash(enum p11b_alg alg);
size_t		 mech_sig_len(const struct mech_info *mi,
		    const struct key *key);
CK_RV		 mech_check_pss(const struct mech_info *mi,
		    const CK_MECHANISM *mech, const struct key *key,
		    const char **hashp, long *saltp);
CK_RV		 mech_parse_digest_info(const uint8_t *in, size_t len,
		    const char **hashp, const uint8_t **digestp);
CK_RV		 mech_fit_ecdsa_digest(const struct key *key, const uint8_t *in,
		    size_t len, uint8_t *out, size_t *outlenp);

/* session.c */
enum op_state {
	OP_NONE = 0,
	OP_INIT,	/* initialised, no data yet */
	OP_SINGLE,	/* C_Sign length query answered */
	OP_MULTI,	/* C_SignUpdate called */
};

/* One sign or verify operation in a session. */
struct op {
	enum op_state		 state;
	const struct mech_info	*mech;
	struct key		*key;
	enum p11b_alg		 alg;		/* broker algorithm */
	const char		*hash;		/* digest computed here */
	long			 salt;		/* RSA-PSS salt bytes, else -1 */
	size_t			 siglen;
	EVP_MD_CTX		*md;		/* multi-part hashing */
	struct buf		 in;		/* multi-part raw input */
	struct p11b_stream	*stream;	/* multi-part to the broker */
	struct link		*link;		/* the stream's connection */
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	CK_SESSION_HANDLE	 handle;
	CK_FLAGS		 flags;
	pthread_mutex_t		 lock;		/* held during an operation */
	unsigned int		 refs;
	int			 closed;
	struct op		 sign;
	struct op		 verify;
	int			 find_active;
	CK_OBJECT_HANDLE	*found;
	size_t			 nfound, foundpos;
};

CK_RV		 session_get(CK_SESSION_HANDLE h, struct session **sp);
void		 session_put(struct session *s);
/* A call the module does not offer: the session error first, else rv. */
CK_RV		 session_refuse(CK_SESSION_HANDLE h, CK_RV rv);
CK_ULONG	 session_count(int rw);
int		 session_logged_in(void);
void		 session_close_all(void);
void		 session_forget(void);
void		 session_fork_lock(int lock);
void		 op_reset(struct op *op);

/* digest.c: local hashing for the *_SHA* mechanisms */
const EVP_MD	*digest_md(const char *hash);
CK_RV		 digest_oneshot(const char *hash, const uint8_t *in,
		    size_t len, uint8_t *out, size_t *outlenp);
CK_RV		 op_append(struct op *op, const uint8_t *in, size_t len);
CK_RV		 op_input(struct op *op, const uint8_t *in, size_t len,
		    uint8_t *digest, const uint8_t **datap, size_t *lenp);

/* opstream.c: multi-part HMAC and EdDSA signing as broker streams */
int		 op_streamed(const struct op *op, int verify);
CK_RV		 op_stream_update(struct op *op, int verify, const uint8_t *in,
		    size_t len);
CK_RV		 op_stream_sign_final(struct op *op, uint8_t *sig,
		    CK_ULONG *siglenp);
CK_RV		 op_stream_verify_final(struct op *op, const uint8_t *mac,
		    size_t maclen);
void		 op_stream_abort(struct op *op);

/* sign.c; verify.c shares the operation set-up */
CK_RV		 op_setup(struct op *op, const CK_MECHANISM *mech,
		    struct object *obj, int verify);
CK_RV		 sign_broker(struct op *op, const uint8_t *data, size_t len,
		    uint8_t *sig, CK_ULONG *siglenp);
/* C_SignInit/C_VerifyInit and C_SignUpdate/C_VerifyUpdate, shared. */
CK_RV		 op_begin(CK_SESSION_HANDLE h, int verify, CK_MECHANISM *mech,
		    CK_OBJECT_HANDLE key);
CK_RV		 op_update(CK_SESSION_HANDLE h, int verify, CK_BYTE *part,
		    CK_ULONG len);

#endif /* PKCS11_MODULE_H */
