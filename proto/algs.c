/* The algorithm table (algs.h): one row per algorithm. */
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "algs.h"

#define DI_SHA256	{ 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, \
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 }, 19
#define DI_SHA384	{ 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, \
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 }, 19
#define DI_SHA512	{ 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, \
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 }, 19
#define DI_SHA224	{ 0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, \
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c }, 19
#define DI_SHA1		{ 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, \
	0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 }, 15
#define NO_DI		{ 0 }, 0
#define STRONG		0
#define WEAK		1

static const struct alg_info algs[] = {
	{ P11B_ALG_ECDSA_P256_SHA256, "ecdsa-p256-sha256", ALG_FAMILY_ECDSA,
	    P11B_KEY_EC_P256, ALG_HASH_SHA256, 32, 32, CKM_ECDSA, 0, 0,
	    NO_DI, STRONG },
	{ P11B_ALG_ECDSA_P384_SHA384, "ecdsa-p384-sha384", ALG_FAMILY_ECDSA,
	    P11B_KEY_EC_P384, ALG_HASH_SHA384, 48, 48, CKM_ECDSA, 0, 0,
	    NO_DI, STRONG },
	{ P11B_ALG_ECDSA_P521_SHA512, "ecdsa-p521-sha512", ALG_FAMILY_ECDSA,
	    P11B_KEY_EC_P521, ALG_HASH_SHA512, 64, 66, CKM_ECDSA, 0, 0,
	    NO_DI, STRONG },
	{ P11B_ALG_RSA_PKCS1_SHA256, "rsa-pkcs1-sha256", ALG_FAMILY_RSA_PKCS1,
	    P11B_KEY_RSA, ALG_HASH_SHA256, 32, 0, CKM_RSA_PKCS, 0, 0,
	    DI_SHA256, STRONG },
	{ P11B_ALG_RSA_PKCS1_SHA384, "rsa-pkcs1-sha384", ALG_FAMILY_RSA_PKCS1,
	    P11B_KEY_RSA, ALG_HASH_SHA384, 48, 0, CKM_RSA_PKCS, 0, 0,
	    DI_SHA384, STRONG },
	{ P11B_ALG_RSA_PKCS1_SHA512, "rsa-pkcs1-sha512", ALG_FAMILY_RSA_PKCS1,
	    P11B_KEY_RSA, ALG_HASH_SHA512, 64, 0, CKM_RSA_PKCS, 0, 0,
	    DI_SHA512, STRONG },
	{ P11B_ALG_RSA_PSS_SHA256, "rsa-pss-sha256", ALG_FAMILY_RSA_PSS,
	    P11B_KEY_RSA, ALG_HASH_SHA256, 32, 0, CKM_RSA_PKCS_PSS,
	    CKM_SHA256, CKG_MGF1_SHA256, NO_DI, STRONG },
	{ P11B_ALG_RSA_PSS_SHA384, "rsa-pss-sha384", ALG_FAMILY_RSA_PSS,
	    P11B_KEY_RSA, ALG_HASH_SHA384, 48, 0, CKM_RSA_PKCS_PSS,
	    CKM_SHA384, CKG_MGF1_SHA384, NO_DI, STRONG },
	{ P11B_ALG_RSA_PSS_SHA512, "rsa-pss-sha512", ALG_FAMILY_RSA_PSS,
	    P11B_KEY_RSA, ALG_HASH_SHA512, 64, 0, CKM_RSA_PKCS_PSS,
	    CKM_SHA512, CKG_MGF1_SHA512, NO_DI, STRONG },
	{ P11B_ALG_ED25519, "ed25519", ALG_FAMILY_EDDSA,
	    P11B_KEY_ED25519, ALG_HASH_NONE, 0, 0, CKM_EDDSA, 0, 0, NO_DI, STRONG },
	{ P11B_ALG_HMAC_SHA256, "hmac-sha256", ALG_FAMILY_HMAC,
	    P11B_KEY_SECRET, ALG_HASH_SHA256, 32, 0, CKM_SHA256_HMAC, 0, 0,
	    NO_DI, STRONG },
	{ P11B_ALG_HMAC_SHA384, "hmac-sha384", ALG_FAMILY_HMAC,
	    P11B_KEY_SECRET, ALG_HASH_SHA384, 48, 0, CKM_SHA384_HMAC, 0, 0,
	    NO_DI, STRONG },
	{ P11B_ALG_HMAC_SHA512, "hmac-sha512", ALG_FAMILY_HMAC,
	    P11B_KEY_SECRET, ALG_HASH_SHA512, 64, 0, CKM_SHA512_HMAC, 0, 0,
	    NO_DI, STRONG },
	{ P11B_ALG_RSA_PKCS1_SHA224, "rsa-pkcs1-sha224", ALG_FAMILY_RSA_PKCS1,
	    P11B_KEY_RSA, ALG_HASH_SHA224, 28, 0, CKM_RSA_PKCS, 0, 0,
	    DI_SHA224, STRONG },
	{ P11B_ALG_RSA_PSS_SHA224, "rsa-pss-sha224", ALG_FAMILY_RSA_PSS,
	    P11B_KEY_RSA, ALG_HASH_SHA224, 28, 0, CKM_RSA_PKCS_PSS,
	    CKM_SHA224, CKG_MGF1_SHA224, NO_DI, STRONG },
	{ P11B_ALG_RSA_PKCS1_SHA1, "rsa-pkcs1-sha1", ALG_FAMILY_RSA_PKCS1,
	    P11B_KEY_RSA, ALG_HASH_SHA1, 20, 0, CKM_RSA_PKCS, 0, 0,
	    DI_SHA1, WEAK },
	{ P11B_ALG_RSA_PSS_SHA1, "rsa-pss-sha1", ALG_FAMILY_RSA_PSS,
	    P11B_KEY_RSA, ALG_HASH_SHA1, 20, 0, CKM_RSA_PKCS_PSS,
	    CKM_SHA_1, CKG_MGF1_SHA1, NO_DI, WEAK },
	{ P11B_ALG_RSA_PKCS1_RAW, "rsa-pkcs1-raw", ALG_FAMILY_RSA_RAW,
	    P11B_KEY_RSA, ALG_HASH_NONE, 0, 0, CKM_RSA_PKCS, 0, 0,
	    NO_DI, WEAK },
};
#define NALGS	(sizeof(algs) / sizeof(algs[0]))

static const char *hash_names[] = {
	[ALG_HASH_NONE] = NULL,
	[ALG_HASH_SHA256] = "SHA256",
	[ALG_HASH_SHA384] = "SHA384",
	[ALG_HASH_SHA512] = "SHA512",
	[ALG_HASH_SHA224] = "SHA224",
	[ALG_HASH_SHA1] = "SHA1",
};
#define NHASHES	(sizeof(hash_names) / sizeof(hash_names[0]))

/* Rows are in enum order (test_crypto checks it): row alg - 1, else a walk. */
const struct alg_info *
alg_info(enum p11b_alg alg)
{
	size_t i;

	if (alg > P11B_ALG_NONE && (size_t)alg <= NALGS &&
	    algs[alg - 1].alg == alg)
		return &algs[alg - 1];
	for (i = 0; i < NALGS; i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

const struct alg_info *
alg_row(size_t i)
{
	return i < NALGS ? &algs[i] : NULL;
}

enum alg_family
alg_family_of(enum p11b_alg alg)
{
	const struct alg_info *ai = alg_info(alg);

	return ai != NULL ? ai->family : ALG_FAMILY_NONE;
}

enum p11b_alg
alg_find(enum alg_family family, enum p11b_key_type key,
    enum alg_hash hash)
{
	size_t i;

	for (i = 0; i < NALGS; i++)
		if (algs[i].family == family && algs[i].key == key &&
		    (algs[i].hash == hash || (hash == ALG_HASH_NONE &&
		    (family == ALG_FAMILY_ECDSA || family == ALG_FAMILY_EDDSA))))
			return algs[i].alg;
	return P11B_ALG_NONE;
}

uint32_t
alg_key_algs(enum p11b_key_type key)
{
	uint32_t mask = 0;
	size_t i;

	for (i = 0; i < NALGS; i++)
		if (algs[i].key == key)
			mask |= 1U << algs[i].alg;
	return mask;
}

int
alg_fits_key(enum p11b_alg alg, enum p11b_key_type key)
{
	const struct alg_info *ai = alg_info(alg);

	return ai != NULL && ai->key == key;
}

uint32_t
alg_weak_algs(void)
{
	uint32_t mask = 0;
	size_t i;

	for (i = 0; i < NALGS; i++)
		if (algs[i].weak)
			mask |= 1U << algs[i].alg;
	return mask;
}

long
alg_pss_salt_max(enum p11b_alg alg, unsigned int bits)
{
	const struct alg_info *ai = alg_info(alg);
	size_t emlen;

	if (ai == NULL || ai->family != ALG_FAMILY_RSA_PSS || bits < 2)
		return -1;
	emlen = (bits - 1 + 7) / 8;
	if (emlen < ai->digest_len + 2)
		return -1;
	return (long)(emlen - ai->digest_len - 2);
}

size_t
alg_rsa_raw_max(unsigned int bits)
{
	size_t k = (bits + 7) / 8;

	return k > 11 ? k - 11 : 0;
}

size_t
alg_ec_field_len(enum p11b_key_type key)
{
	size_t i;

	for (i = 0; i < NALGS; i++)
		if (algs[i].family == ALG_FAMILY_ECDSA && algs[i].key == key)
			return algs[i].ec_field_len;
	return 0;
}

const char *
alg_hash_name(enum alg_hash hash)
{
	return (size_t)hash < NHASHES ? hash_names[hash] : NULL;
}

enum alg_hash
alg_hash_from_name(const char *name)
{
	size_t i;

	for (i = 1; name != NULL && i < NHASHES; i++)
		if (strcmp(hash_names[i], name) == 0)
			return (enum alg_hash)i;
	return ALG_HASH_NONE;
}
