/*
 * Mechanisms: which ones the token offers (those some key may use under
 * the caller's policy), their parameters, and how their input becomes a
 * broker sign request (algorithm, digest or message).
 *
 * The broker takes a digest of exactly the algorithm's length and never
 * guesses an algorithm, so the module decides it from the key and the
 * mechanism: the hash of a *_SHA* mechanism, the DigestInfo inside a
 * CKM_RSA_PKCS input, the PSS parameters.
 */
#include <sys/types.h>

#include <limits.h>
#include <string.h>

#include "module.h"

static const struct mech_info mech_table[] = {
	{ CKM_ECDSA, "ECDSA", MECH_ECDSA, NULL },
	{ CKM_ECDSA_SHA224, "ECDSA-SHA224", MECH_ECDSA, "SHA224" },
	{ CKM_ECDSA_SHA256, "ECDSA-SHA256", MECH_ECDSA, "SHA256" },
	{ CKM_ECDSA_SHA384, "ECDSA-SHA384", MECH_ECDSA, "SHA384" },
	{ CKM_ECDSA_SHA512, "ECDSA-SHA512", MECH_ECDSA, "SHA512" },
	{ CKM_RSA_PKCS, "RSA-PKCS", MECH_RSA_PKCS, NULL },
	{ CKM_SHA1_RSA_PKCS, "SHA1-RSA-PKCS", MECH_RSA_PKCS, "SHA1" },
	{ CKM_SHA224_RSA_PKCS, "SHA224-RSA-PKCS", MECH_RSA_PKCS, "SHA224" },
	{ CKM_SHA256_RSA_PKCS, "SHA256-RSA-PKCS", MECH_RSA_PKCS, "SHA256" },
	{ CKM_SHA384_RSA_PKCS, "SHA384-RSA-PKCS", MECH_RSA_PKCS, "SHA384" },
	{ CKM_SHA512_RSA_PKCS, "SHA512-RSA-PKCS", MECH_RSA_PKCS, "SHA512" },
	{ CKM_RSA_PKCS_PSS, "RSA-PKCS-PSS", MECH_RSA_PSS, NULL },
	{ CKM_SHA1_RSA_PKCS_PSS, "SHA1-RSA-PKCS-PSS", MECH_RSA_PSS, "SHA1" },
	{ CKM_SHA224_RSA_PKCS_PSS, "SHA224-RSA-PKCS-PSS", MECH_RSA_PSS,
	    "SHA224" },
	{ CKM_SHA256_RSA_PKCS_PSS, "SHA256-RSA-PKCS-PSS", MECH_RSA_PSS,
	    "SHA256" },
	{ CKM_SHA384_RSA_PKCS_PSS, "SHA384-RSA-PKCS-PSS", MECH_RSA_PSS,
	    "SHA384" },
	{ CKM_SHA512_RSA_PKCS_PSS, "SHA512-RSA-PKCS-PSS", MECH_RSA_PSS,
	    "SHA512" },
	{ CKM_EDDSA, "EDDSA", MECH_EDDSA, NULL },
	{ CKM_SHA256_HMAC, "SHA256-HMAC", MECH_HMAC, "SHA256" },
	{ CKM_SHA384_HMAC, "SHA384-HMAC", MECH_HMAC, "SHA384" },
	{ CKM_SHA512_HMAC, "SHA512-HMAC", MECH_HMAC, "SHA512" },
};
#define MECH_COUNT	(sizeof(mech_table) / sizeof(mech_table[0]))

const struct mech_info *
mech_lookup(CK_MECHANISM_TYPE type)
{
	size_t i;

	for (i = 0; i < MECH_COUNT; i++)
		if (mech_table[i].type == type)
			return &mech_table[i];
	return NULL;
}

static int
mech_key_is_ec(enum p11b_key_type t)
{
	return t == P11B_KEY_EC_P256 || t == P11B_KEY_EC_P384 ||
	    t == P11B_KEY_EC_P521;
}

/* The mechanism applies to this kind of key at all. */
int
mech_fits_key(const struct mech_info *mi, const struct key *key)
{
	switch (mi->kind) {
	case MECH_ECDSA:
		return mech_key_is_ec(key->type);
	case MECH_RSA_PKCS:
	case MECH_RSA_PSS:
		return key->type == P11B_KEY_RSA;
	case MECH_EDDSA:
		return key->type == P11B_KEY_ED25519;
	case MECH_HMAC:
		return key->type == P11B_KEY_SECRET;
	}
	return 0;
}

/* The algorithm of a family (given by any member) for a hash. */
enum p11b_alg
mech_alg_by_hash(enum p11b_alg member, const char *hash)
{
	const struct alg_info *ai = alg_info(member);
	enum alg_hash h = alg_hash_from_name(hash);

	if (ai == NULL || h == ALG_HASH_NONE)
		return P11B_ALG_NONE;
	return alg_find(ai->family, ai->key, h);
}

/*
 * The broker algorithm for a key: ECDSA and EdDSA have one per key; RSA
 * and HMAC take the hash (NULL: none yet).
 */
enum p11b_alg
mech_key_alg(const struct key *key, const char *hash)
{
	switch (key->type) {
	case P11B_KEY_EC_P256:
	case P11B_KEY_EC_P384:
	case P11B_KEY_EC_P521:
		return alg_find(ALG_FAMILY_ECDSA, key->type, ALG_HASH_NONE);
	case P11B_KEY_ED25519:
		return alg_find(ALG_FAMILY_EDDSA, key->type, ALG_HASH_NONE);
	case P11B_KEY_SECRET:
		return alg_find(ALG_FAMILY_HMAC, key->type,
		    alg_hash_from_name(hash));
	case P11B_KEY_RSA:
	case P11B_KEY_DATA:
	case P11B_KEY_NONE:
		break;
	}
	return P11B_ALG_NONE;
}

const char *
mech_alg_hash(enum p11b_alg alg)
{
	const struct alg_info *ai = alg_info(alg);

	return ai != NULL ? alg_hash_name(ai->hash) : NULL;
}

static int
mech_alg_allowed(const struct key *key, enum p11b_alg alg)
{
	return alg != P11B_ALG_NONE && (key->algs & (1U << alg)) != 0;
}

/* Bit mask (1 << alg) of a family's algorithms. */
static uint32_t
mech_family_algs(enum alg_family family)
{
	const struct alg_info *ai;
	uint32_t mask = 0;
	size_t i;

	for (i = 0; (ai = alg_row(i)) != NULL; i++)
		if (ai->family == family)
			mask |= 1U << ai->alg;
	return mask;
}

/* Some input to this mechanism could be signed with this key. */
int
mech_usable(const struct mech_info *mi, const struct key *key)
{
	uint32_t pkcs1, pss;

	if (!mech_fits_key(mi, key))
		return 0;
	/* CKM_RSA_PKCS: any DigestInfo the key may sign, or raw input. */
	pkcs1 = mech_family_algs(ALG_FAMILY_RSA_PKCS1) |
	    mech_family_algs(ALG_FAMILY_RSA_RAW);
	pss = mech_family_algs(ALG_FAMILY_RSA_PSS);
	switch (mi->kind) {
	case MECH_RSA_PKCS:
		if (mi->hash == NULL)
			return (key->algs & pkcs1) != 0;
		return mech_alg_allowed(key, mech_alg_by_hash(
		    P11B_ALG_RSA_PKCS1_SHA256, mi->hash));
	case MECH_RSA_PSS:
		if (mi->hash == NULL)
			return (key->algs & pss) != 0;
		return mech_alg_allowed(key, mech_alg_by_hash(
		    P11B_ALG_RSA_PSS_SHA256, mi->hash));
	case MECH_HMAC:
		return mech_alg_allowed(key, mech_key_alg(key, mi->hash));
	case MECH_ECDSA:
	case MECH_EDDSA:
		return mech_alg_allowed(key, mech_key_alg(key, NULL));
	}
	return 0;
}

size_t
mech_key_mechanisms(const struct key *key, CK_MECHANISM_TYPE *out,
    size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < MECH_COUNT && n < max; i++)
		if (mech_usable(&mech_table[i], key))
			out[n++] = mech_table[i].type;
	return n;
}

CK_RV
mech_list(CK_MECHANISM_TYPE *list, CK_ULONG *countp)
{
	CK_MECHANISM_TYPE all[MECH_COUNT + GENERATE_MECHS];
	CK_MECHANISM_INFO info;
	CK_ULONG n = 0;
	size_t i;

	for (i = 0; i < MECH_COUNT; i++)
		if (mech_get_info(mech_table[i].type, &info) == CKR_OK)
			all[n++] = mech_table[i].type;
	n += generate_mechs(all + n);
	if (list == NULL) {
		*countp = n;
		return CKR_OK;
	}
	if (*countp < n) {
		*countp = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(list, all, n * sizeof(all[0]));
	*countp = n;
	return CKR_OK;
}

/* Key sizes in bits (bytes for HMAC keys, as PKCS#11 counts them). */
static void
mech_key_size(const struct mech_info *mi, const struct key *key,
    CK_ULONG *minp, CK_ULONG *maxp)
{
	CK_ULONG size = key->bits;

	if (mi->kind == MECH_HMAC)
		size = key->bits / 8;
	if (*minp == 0 || size < *minp)
		*minp = size;
	if (size > *maxp)
		*maxp = size;
}

CK_RV
mech_get_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
	const struct mech_info *mi;
	struct object *obj;
	CK_OBJECT_HANDLE h;
	int any = 0;

	memset(info, 0, sizeof(*info));
	if ((mi = mech_lookup(type)) == NULL)
		return generate_mech_info(type, info);
	for (h = 1; (obj = object_find(h)) != NULL; h++) {
		if (obj->gone || (obj->class != CKO_PRIVATE_KEY &&
		    obj->class != CKO_SECRET_KEY) ||
		    !mech_usable(mi, obj->key))
			continue;
		mech_key_size(mi, obj->key, &info->ulMinKeySize,
		    &info->ulMaxKeySize);
		any = 1;
	}
	if (!any)
		return CKR_MECHANISM_INVALID;
	/* The token makes every signature and MAC (CKF_HW). */
	info->flags = CKF_HW | CKF_SIGN | CKF_VERIFY;
	if (mi->kind == MECH_ECDSA)
		info->flags |= CKF_EC_F_P | CKF_EC_NAMEDCURVE |
		    CKF_EC_UNCOMPRESS;
	return CKR_OK;
}

/* Known before any request: what the length-query idiom answers. */
size_t
mech_sig_len(const struct mech_info *mi, const struct key *key)
{
	switch (mi->kind) {
	case MECH_ECDSA:
		return 2 * alg_ec_field_len(key->type);	/* r || s */
	case MECH_RSA_PKCS:
	case MECH_RSA_PSS:
		return (key->bits + 7) / 8;
	case MECH_EDDSA:
		return 64;
	case MECH_HMAC:
		return p11b_alg_digest_len(mech_key_alg(key, mi->hash));
	}
	return 0;
}

/* The RSA-PSS algorithm whose hash mechanism this is (NULL: none). */
static const struct alg_info *
mech_pss_of(CK_MECHANISM_TYPE hash_mech)
{
	const struct alg_info *ai;
	size_t i;

	for (i = 0; (ai = alg_row(i)) != NULL; i++)
		if (ai->family == ALG_FAMILY_RSA_PSS &&
		    ai->hash_mechanism == hash_mech)
			return ai;
	return NULL;
}

/*
 * PSS parameters: MGF1 with the message hash (the only MGF the broker
 * uses) and any salt length the key allows, 0 up to emLen - hLen - 2;
 * OpenSSL's default ("max") is that maximum.
 */
CK_RV
mech_check_pss(const struct mech_info *mi, const CK_MECHANISM *mech,
    const struct key *key, const char **hashp, long *saltp)
{
	const CK_RSA_PKCS_PSS_PARAMS *pp;
	const struct alg_info *ai;
	const char *hash;

	if (mech->pParameter == NULL ||
	    mech->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
		return CKR_MECHANISM_PARAM_INVALID;
	pp = mech->pParameter;
	if ((ai = mech_pss_of(pp->hashAlg)) == NULL || pp->mgf != ai->mgf ||
	    pp->sLen > (CK_ULONG)LONG_MAX ||
	    (long)pp->sLen > alg_pss_salt_max(ai->alg, key->bits))
		return CKR_MECHANISM_PARAM_INVALID;
	hash = alg_hash_name(ai->hash);
	if (mi->hash != NULL && strcmp(mi->hash, hash) != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	*hashp = hash;
	*saltp = (long)pp->sLen;
	return CKR_OK;
}

CK_RV
mech_parse_digest_info(const uint8_t *in, size_t len, const char **hashp,
    const uint8_t **digestp)
{
	const struct alg_info *ai;
	size_t i;

	for (i = 0; (ai = alg_row(i)) != NULL; i++) {
		if (ai->digestinfo_len == 0 ||
		    len != ai->digestinfo_len + ai->digest_len ||
		    memcmp(in, ai->digestinfo, ai->digestinfo_len) != 0)
			continue;
		*hashp = alg_hash_name(ai->hash);
		*digestp = in + ai->digestinfo_len;
		return CKR_OK;
	}
	/* Not a DigestInfo for a hash the broker signs with. */
	return CKR_DATA_INVALID;
}

/*
 * CKM_ECDSA signs whatever hash the caller brings.  ECDSA uses the
 * leftmost order-length bits of it (FIPS 186-4 6.4), so a longer digest
 * is cut and a shorter one is the same number with zeros in front: either
 * way the broker gets the digest length of the key's algorithm and the
 * token computes exactly the signature the caller asked for.  Only P-521
 * (order longer than its SHA-512 digest) cannot take more than 64 bytes.
 */
CK_RV
mech_fit_ecdsa_digest(const struct key *key, const uint8_t *in, size_t len,
    uint8_t *out, size_t *outlenp)
{
	size_t want = p11b_alg_digest_len(mech_key_alg(key, NULL));

	if (len == 0 || want == 0)
		return CKR_DATA_LEN_RANGE;
	if (len >= want) {
		if (len > want && key->type == P11B_KEY_EC_P521)
			return CKR_DATA_LEN_RANGE;
		memcpy(out, in, want);
	} else {
		memset(out, 0, want - len);
		memcpy(out + want - len, in, len);
	}
	*outlenp = want;
	return CKR_OK;
}
