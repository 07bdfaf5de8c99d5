/*
 * The algorithm table: one row per algorithm with every fact that the
 * daemon, the token layer, the client library and the PKCS#11 module
 * need about it.  Adding an algorithm is its value in enum p11b_alg
 * (proto/p11broker_vocab.h), one row in proto/algs.c, and tests.  An
 * algorithm without a row is unknown everywhere: no code may fall back
 * to a default digest or mechanism.
 */
#ifndef ALGS_H
#define ALGS_H

#include <stddef.h>
#include <stdint.h>

#include "p11broker_vocab.h"

enum alg_family {
	ALG_FAMILY_NONE,
	ALG_FAMILY_ECDSA,
	ALG_FAMILY_RSA_PKCS1,
	ALG_FAMILY_RSA_PSS,
	ALG_FAMILY_EDDSA,
	ALG_FAMILY_HMAC,
	ALG_FAMILY_RSA_RAW,	/* PKCS#1 v1.5 padding over the input as given */
};

enum alg_hash {
	ALG_HASH_NONE,
	ALG_HASH_SHA256,
	ALG_HASH_SHA384,
	ALG_HASH_SHA512,
	ALG_HASH_SHA224,
	ALG_HASH_SHA1,
};

#define ALG_DIGESTINFO_MAX	19	/* DER prefix before the digest */

struct alg_info {
	enum p11b_alg		 alg;
	const char		*name;		/* CLI, policy, logs */
	enum alg_family		 family;
	enum p11b_key_type	 key;		/* the key type it signs with */
	enum alg_hash		 hash;		/* ALG_HASH_NONE: Ed25519 */
	size_t			 digest_len;	/* the input a digest must have */
	size_t			 ec_field_len;	/* ECDSA: bytes in r and in s */
	/* PKCS#11: the mechanism the token runs (ECDSA and RSA over the
	 * digest or DigestInfo), and RSA-PSS's hash and MGF. */
	unsigned long		 mechanism;	/* CKM_* */
	unsigned long		 hash_mechanism; /* CKM_SHA*: PSS, else 0 */
	unsigned long		 mgf;		/* CKG_MGF1_*: PSS, else 0 */
	/* RSA PKCS#1 v1.5: the DER DigestInfo prefix (RFC 8017 9.2). */
	uint8_t			 digestinfo[ALG_DIGESTINFO_MAX];
	size_t			 digestinfo_len;
	/* Weak (SHA-1, raw PKCS#1): usable only where a policy rule names
	 * it for the key, never through a rule that pins no algorithm. */
	int			 weak;
};

/* The row of a known algorithm; NULL for P11B_ALG_NONE and unknown. */
const struct alg_info *alg_info(enum p11b_alg alg);
/* Row i of the table, for walking it; NULL past the last. */
const struct alg_info *alg_row(size_t i);
/* Its family; ALG_FAMILY_NONE for none and unknown. */
enum alg_family	alg_family_of(enum p11b_alg alg);
/*
 * The algorithm of a family for a key type and hash; for ECDSA and EdDSA
 * the key type alone decides (hash ALG_HASH_NONE).  P11B_ALG_NONE when
 * there is none: RSA and HMAC need their hash.
 */
enum p11b_alg	alg_find(enum alg_family family, enum p11b_key_type key,
		    enum alg_hash hash);
/* Bit mask (1 << alg) of the algorithms a key type signs or MACs with. */
uint32_t	alg_key_algs(enum p11b_key_type key);
/* Does the algorithm fit the key type (curve, RSA, secret)? */
int		alg_fits_key(enum p11b_alg alg, enum p11b_key_type key);
/* ECDSA r (or s) length for an EC key type; 0 for any other. */
size_t		alg_ec_field_len(enum p11b_key_type key);
/* Bit mask (1 << alg) of the weak algorithms. */
uint32_t	alg_weak_algs(void);
/*
 * RSA-PSS: the longest salt a key of modulus bits allows with the
 * algorithm's hash, emLen - hLen - 2 (RFC 8017 9.1.1, emLen the bytes of
 * bits - 1); -1 when the key is too short or alg is not PSS.
 */
long		alg_pss_salt_max(enum p11b_alg alg, unsigned int bits);
/* The raw input RSA PKCS#1 v1.5 can pad for this key: k - 11 bytes. */
size_t		alg_rsa_raw_max(unsigned int bits);
/* "SHA256", "SHA384", ... (PKCS#11's spelling); NULL for none. */
const char	*alg_hash_name(enum alg_hash hash);
enum alg_hash	alg_hash_from_name(const char *name);

#endif /* ALGS_H */
