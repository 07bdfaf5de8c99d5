/*
 * Unit tests for the algorithm table (proto/algs.c) and
 * brokerd/common/crypto.c: every row consistent with OpenSSL's own facts
 * (digest sizes, curve sizes, DigestInfo), key/algorithm fit, DigestInfo
 * and ECDSA DER encoding, checked against OpenSSL's own decoder.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "tap.h"

static void
test_fit(void)
{
	ok(alg_fits_key(P11B_ALG_ECDSA_P256_SHA256, P11B_KEY_EC_P256),
	    "P-256 alg on P-256 key");
	ok(!alg_fits_key(P11B_ALG_ECDSA_P384_SHA384, P11B_KEY_EC_P256),
	    "P-384 alg on P-256 key refused");
	ok(!alg_fits_key(P11B_ALG_RSA_PSS_SHA256, P11B_KEY_EC_P256),
	    "RSA alg on EC key refused");
	ok(!alg_fits_key(P11B_ALG_ECDSA_P256_SHA256, P11B_KEY_RSA),
	    "EC alg on RSA key refused");
	ok(alg_fits_key(P11B_ALG_RSA_PKCS1_SHA512, P11B_KEY_RSA),
	    "PKCS#1 SHA-512 on RSA");
	ok(!alg_fits_key(P11B_ALG_HMAC_SHA256, P11B_KEY_DATA),
	    "HMAC on a data object refused");
	ok(!alg_fits_key(P11B_ALG_ED25519, P11B_KEY_SECRET),
	    "Ed25519 on a secret refused");
	ok(!alg_fits_key((enum p11b_alg)99, P11B_KEY_RSA),
	    "out-of-range algorithm refused");
	ok(!(crypto_key_ops(P11B_KEY_SECRET, 0) & (1U << P11B_OP_SECRET)),
	    "sealed secret cannot be read");
	ok(crypto_key_ops(P11B_KEY_SECRET, 1) & (1U << P11B_OP_SECRET),
	    "extractable secret can be read");
	ok(!(crypto_key_ops(P11B_KEY_EC_P256, 1) & (1U << P11B_OP_SECRET)),
	    "private keys are never secrets");
	is_int(alg_family_of(P11B_ALG_RSA_PSS_SHA384), ALG_FAMILY_RSA_PSS,
	    "family");
}

/* The curve behind an EC key type, for OpenSSL's view of its size. */
static int
curve_nid(enum p11b_key_type type)
{
	switch (type) {
	case P11B_KEY_EC_P256:
		return NID_X9_62_prime256v1;
	case P11B_KEY_EC_P384:
		return NID_secp384r1;
	case P11B_KEY_EC_P521:
		return NID_secp521r1;
	default:
		return NID_undef;
	}
}

/* Every row of the table against OpenSSL and against the other rows. */
static void
test_alg_table(void)
{
	const struct alg_info *ai;
	const EVP_MD *md;
	EC_GROUP *g;
	size_t i, rows = 0, bytes;
	int a, bad;

	for (a = 1, bad = 0; a < P11B_ALG_COUNT; a++)
		if ((ai = alg_info(a)) == NULL || ai->alg != (enum p11b_alg)a)
			bad++;
	is_int(bad, 0, "every algorithm of enum p11b_alg has its row");
	ok(alg_info(P11B_ALG_NONE) == NULL && alg_info(P11B_ALG_COUNT) ==
	    NULL && alg_info((enum p11b_alg)99) == NULL,
	    "none and unknown algorithms have no row");
	for (i = 0; (ai = alg_row(i)) != NULL; i++) {
		rows++;
		is_int(p11b_alg_from_name(ai->name), ai->alg, ai->name);
		ok(alg_find(ai->family, ai->key, ai->hash) == ai->alg,
		    "%s: found by family, key type and hash", ai->name);
		ok(alg_key_algs(ai->key) & (1U << ai->alg),
		    "%s: listed for its key type", ai->name);
		ok(ai->mechanism != 0, "%s: has a PKCS#11 mechanism",
		    ai->name);
		md = crypto_alg_md(ai->alg);
		if (ai->family == ALG_FAMILY_EDDSA ||
		    ai->family == ALG_FAMILY_RSA_RAW)
			ok(md == NULL && ai->digest_len == 0 &&
			    ai->hash == ALG_HASH_NONE,
			    "%s: signs the input, no digest", ai->name);
		else
			ok(md != NULL && (size_t)EVP_MD_get_size(md) ==
			    ai->digest_len && p11b_alg_digest_len(ai->alg) ==
			    ai->digest_len && alg_hash_from_name(
			    alg_hash_name(ai->hash)) == ai->hash,
			    "%s: digest length %zu is OpenSSL's", ai->name,
			    ai->digest_len);
		if (ai->family == ALG_FAMILY_ECDSA) {
			g = EC_GROUP_new_by_curve_name(curve_nid(ai->key));
			bytes = g == NULL ? 0 :
			    ((size_t)EC_GROUP_order_bits(g) + 7) / 8;
			EC_GROUP_free(g);
			is_int((int)ai->ec_field_len, (int)bytes,
			    "ECDSA field length is the curve's order length");
			is_int((int)alg_ec_field_len(ai->key), (int)bytes,
			    "alg_ec_field_len for the key type");
		} else
			is_int((int)ai->ec_field_len, 0,
			    "no EC field length outside ECDSA");
		ok((ai->family == ALG_FAMILY_RSA_PKCS1) ==
		    (ai->digestinfo_len != 0) && (ai->digestinfo_len == 0 ||
		    ai->digestinfo[ai->digestinfo_len - 1] == ai->digest_len),
		    "%s: DigestInfo prefix only for PKCS#1, ending in the "
		    "digest length", ai->name);
		ok((ai->family == ALG_FAMILY_RSA_PSS) ==
		    (ai->hash_mechanism != 0 && ai->mgf != 0),
		    "%s: PSS parameters only for PSS", ai->name);
	}
	is_int((int)rows, P11B_ALG_COUNT - 1, "one row per algorithm");
	is_int(alg_find(ALG_FAMILY_HMAC, P11B_KEY_SECRET, ALG_HASH_NONE),
	    P11B_ALG_NONE, "HMAC without a hash: no default");
	is_int(alg_find(ALG_FAMILY_RSA_PSS, P11B_KEY_RSA, ALG_HASH_NONE),
	    P11B_ALG_NONE, "RSA-PSS without a hash: no default");
	is_int((int)p11b_alg_digest_len((enum p11b_alg)99), 0,
	    "unknown algorithm: no digest length");
	is_int(alg_family_of((enum p11b_alg)99), ALG_FAMILY_NONE,
	    "unknown algorithm: no family");
	ok(crypto_alg_md((enum p11b_alg)99) == NULL,
	    "unknown algorithm: no digest");
	ok(strcmp(p11b_alg_name((enum p11b_alg)99), "unknown") == 0 &&
	    strcmp(p11b_alg_name(P11B_ALG_NONE), "none") == 0,
	    "names of none and unknown");
	is_int(alg_hash_from_name("MD5"), ALG_HASH_NONE,
	    "an unknown hash name is no hash");
}

static void
test_digestinfo(void)
{
	uint8_t d[64], out[CRYPTO_MAX_DIGESTINFO];
	const uint8_t *p = out;
	X509_SIG *sig;
	const X509_ALGOR *alg;
	const ASN1_OCTET_STRING *digest;
	const ASN1_OBJECT *obj;
	size_t len;
	struct {
		enum p11b_alg	 alg;
		int		 nid;
		size_t		 dlen;
	} cases[] = {
		{ P11B_ALG_RSA_PKCS1_SHA256, NID_sha256, 32 },
		{ P11B_ALG_RSA_PKCS1_SHA384, NID_sha384, 48 },
		{ P11B_ALG_RSA_PKCS1_SHA512, NID_sha512, 64 },
	};
	size_t i;

	memset(d, 0xab, sizeof(d));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ok(crypto_digestinfo(cases[i].alg, d, cases[i].dlen, out,
		    &len) == 0, "DigestInfo %s", p11b_alg_name(cases[i].alg));
		p = out;
		sig = d2i_X509_SIG(NULL, &p, len);
		ok(sig != NULL && p == out + len, "OpenSSL parses it whole");
		if (sig == NULL)
			continue;
		X509_SIG_get0(sig, &alg, &digest);
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
		is_int(OBJ_obj2nid(obj), cases[i].nid, "hash OID");
		is_mem(ASN1_STRING_get0_data(digest), ASN1_STRING_length(digest),
		    d, cases[i].dlen, "digest bytes");
		X509_SIG_free(sig);
	}
	ok(crypto_digestinfo(P11B_ALG_RSA_PKCS1_SHA256, d, 31, out, &len) != 0,
	    "wrong digest length refused");
	ok(crypto_digestinfo(P11B_ALG_RSA_PSS_SHA256, d, 32, out, &len) != 0,
	    "no DigestInfo for PSS");
}

/* raw r||s -> DER, and OpenSSL must decode the same r and s. */
static void
check_der(const uint8_t *raw, size_t rawlen, const char *what)
{
	uint8_t der[2 * 66 + 9];
	const uint8_t *p = der;
	const BIGNUM *r, *s;
	BIGNUM *wr, *ws;
	ECDSA_SIG *sig;
	size_t len;

	ok(crypto_ecdsa_raw_to_der(raw, rawlen, der, sizeof(der), &len) == 0,
	    "%s: encodes", what);
	sig = d2i_ECDSA_SIG(NULL, &p, len);
	ok(sig != NULL && p == der + len, "%s: OpenSSL decodes it whole",
	    what);
	if (sig == NULL)
		return;
	ECDSA_SIG_get0(sig, &r, &s);
	wr = BN_bin2bn(raw, rawlen / 2, NULL);
	ws = BN_bin2bn(raw + rawlen / 2, rawlen / 2, NULL);
	ok(BN_cmp(r, wr) == 0 && BN_cmp(s, ws) == 0, "%s: same r and s",
	    what);
	BN_free(wr);
	BN_free(ws);
	ECDSA_SIG_free(sig);
}

static void
test_ecdsa_der(void)
{
	uint8_t raw[132], der[140];
	size_t len;

	memset(raw, 0x11, 64);
	check_der(raw, 64, "P-256 plain");
	memset(raw, 0xff, 64);
	check_der(raw, 64, "P-256 high bits (sign padding)");
	memset(raw, 0, 64);
	raw[31] = 1;
	raw[63] = 0x80;
	check_der(raw, 64, "P-256 leading zeros");
	memset(raw, 0x80, 96);
	check_der(raw, 96, "P-384");
	memset(raw, 0xfe, 132);
	raw[0] = raw[66] = 0x01;
	check_der(raw, 132, "P-521 (long form length)");
	ok(crypto_ecdsa_raw_to_der(raw, 63, der, sizeof(der), &len) != 0,
	    "odd length refused");
	ok(crypto_ecdsa_raw_to_der(raw, 64, der, 10, &len) != 0,
	    "short output buffer refused");
}

static void
test_ed25519_spki(void)
{
	uint8_t pub[32], spki[CRYPTO_ED25519_SPKI_LEN], out[32];
	const uint8_t *p = spki;
	EVP_PKEY *pk;
	size_t len = sizeof(out);
	int i;

	for (i = 0; i < 32; i++)
		pub[i] = (uint8_t)i;
	crypto_ed25519_spki(pub, spki);
	pk = d2i_PUBKEY(NULL, &p, sizeof(spki));
	ok(pk != NULL && EVP_PKEY_id(pk) == EVP_PKEY_ED25519,
	    "OpenSSL reads an Ed25519 SPKI");
	ok(pk != NULL && EVP_PKEY_get_raw_public_key(pk, out, &len) == 1 &&
	    len == 32 && memcmp(out, pub, 32) == 0, "same public key");
	EVP_PKEY_free(pk);
}

static void
test_digest(void)
{
	uint8_t out[64], want[64];
	unsigned int wlen;
	size_t len;

	ok(crypto_digest(P11B_ALG_ECDSA_P384_SHA384, (const uint8_t *)"abc",
	    3, out, &len) == 0, "SHA-384 digest");
	EVP_Digest("abc", 3, want, &wlen, EVP_sha384(), NULL);
	is_mem(out, len, want, wlen, "matches OpenSSL");
	ok(crypto_digest(P11B_ALG_ED25519, (const uint8_t *)"abc", 3, out,
	    &len) != 0, "no digest for Ed25519");
	ok(crypto_equal((const uint8_t *)"abcd", (const uint8_t *)"abcd", 4),
	    "equal");
	ok(!crypto_equal((const uint8_t *)"abcd", (const uint8_t *)"abce", 4),
	    "not equal");
}

/*
 * The salt-length bounds against OpenSSL's own: its "max" salt (what
 * `openssl req -sigopt rsa_padding_mode:pss` uses by default) verifies
 * with exactly alg_pss_salt_max(), and one byte more cannot be made.
 */
static void
pss_against_openssl(unsigned int bits, enum p11b_alg alg)
{
	const EVP_MD *md = crypto_alg_md(alg);
	EVP_PKEY *pkey = EVP_RSA_gen(bits);
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t digest[64], sig[512];
	size_t siglen = sizeof(sig), dlen = p11b_alg_digest_len(alg);
	long max = alg_pss_salt_max(alg, bits);
	int signed_max, over;

	memset(digest, 0x5a, sizeof(digest));
	signed_max = pkey != NULL && (ctx = EVP_PKEY_CTX_new(pkey, NULL)) !=
	    NULL && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_MAX) == 1 &&
	    EVP_PKEY_sign(ctx, sig, &siglen, digest, dlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	ctx = NULL;
	ok(signed_max && crypto_verify(pkey, alg, (int)max, digest, dlen,
	    sig, siglen) == 1, "%s, %u-bit key: OpenSSL's max salt is %ld",
	    p11b_alg_name(alg), bits, max);
	siglen = sizeof(sig);
	over = pkey != NULL && (ctx = EVP_PKEY_CTX_new(pkey, NULL)) != NULL &&
	    EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)max + 1) == 1 &&
	    EVP_PKEY_sign(ctx, sig, &siglen, digest, dlen) == 1;
	ok(!over, "%s, %u-bit key: salt %ld cannot be made",
	    p11b_alg_name(alg), bits, max + 1);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
}

static void
test_pss_salt_bounds(void)
{
	is_int((int)alg_pss_salt_max(P11B_ALG_RSA_PSS_SHA256, 2048), 222,
	    "2048 bits, SHA-256: 256 - 32 - 2");
	is_int((int)alg_pss_salt_max(P11B_ALG_RSA_PSS_SHA512, 2048), 190,
	    "2048 bits, SHA-512: 256 - 64 - 2");
	is_int((int)alg_pss_salt_max(P11B_ALG_RSA_PSS_SHA1, 1024), 106,
	    "1024 bits, SHA-1: 128 - 20 - 2");
	is_int((int)alg_pss_salt_max(P11B_ALG_RSA_PSS_SHA224, 2049), 226,
	    "2049 bits: emLen counts bits - 1, 256 bytes");
	is_int((int)alg_pss_salt_max(P11B_ALG_RSA_PSS_SHA512, 528), 0,
	    "528 bits, SHA-512: room for no salt");
	is_int((int)alg_pss_salt_max(P11B_ALG_RSA_PSS_SHA512, 520), -1,
	    "520 bits cannot carry a SHA-512 PSS encoding");
	is_int((int)alg_pss_salt_max(P11B_ALG_RSA_PKCS1_SHA256, 2048), -1,
	    "no salt outside PSS");
	is_int((int)alg_pss_salt_max((enum p11b_alg)99, 2048), -1,
	    "no salt for an unknown algorithm");
	is_int((int)alg_rsa_raw_max(2048), 245, "raw PKCS#1: k - 11");
	is_int((int)alg_rsa_raw_max(88), 0, "raw PKCS#1: no room");
	pss_against_openssl(1024, P11B_ALG_RSA_PSS_SHA256);
	pss_against_openssl(1031, P11B_ALG_RSA_PSS_SHA1);
	pss_against_openssl(1025, P11B_ALG_RSA_PSS_SHA512);
	pss_against_openssl(2048, P11B_ALG_RSA_PSS_SHA224);
	ok(alg_weak_algs() == (1U << P11B_ALG_RSA_PKCS1_SHA1 |
	    1U << P11B_ALG_RSA_PSS_SHA1 | 1U << P11B_ALG_RSA_PKCS1_RAW),
	    "weak: SHA-1 and raw PKCS#1, nothing else");
}

int
main(void)
{
	test_pss_salt_bounds();
	test_alg_table();
	test_fit();
	test_digestinfo();
	test_ecdsa_der();
	test_ed25519_spki();
	test_digest();
	return tap_done();
}
