/*
 * Attribute sets for each object class, built once from what the broker
 * says about a key: its type, size, what the caller may do with it, and
 * the SPKI / certificate DER (parsed with libcrypto).
 *
 * Values a key has but nobody may read are ATTR_SENSITIVE; a secret key
 * or data object the caller may fetch (get-secret) has an
 * ATTR_SECRET_VALUE CKA_VALUE, read from the broker on each request and
 * never kept.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/x509.h>

#include "buf.h"
#include "module.h"

#define ATTRS_MAX_MECHS		16

static const uint8_t attrs_oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t attrs_oid_p384[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t attrs_oid_p521[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
/* PKCS#11 3.0 allows the OID or the curve name; RFC 8410's OID. */
static const uint8_t attrs_oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

void
attrs_add(struct attr_set *set, CK_ATTRIBUTE_TYPE type, const void *value,
    size_t len)
{
	struct attr *na;

	if (set->failed)
		return;
	if (set->n == set->cap) {
		if ((na = buf_array_grow(set->attrs, &set->cap,
		    sizeof(*na))) == NULL) {
			set->failed = 1;
			return;
		}
		set->attrs = na;
	}
	na = &set->attrs[set->n];
	memset(na, 0, sizeof(*na));
	na->type = type;
	na->len = len;
	if (len > 0) {
		if ((na->value = malloc(len)) == NULL) {
			set->failed = 1;
			return;
		}
		memcpy(na->value, value, len);
	}
	set->n++;
}

void
attrs_add_flag(struct attr_set *set, CK_ATTRIBUTE_TYPE type, int flags)
{
	attrs_add(set, type, NULL, 0);
	if (!set->failed)
		set->attrs[set->n - 1].flags = flags;
}

void
attrs_add_bool(struct attr_set *set, CK_ATTRIBUTE_TYPE type, int value)
{
	CK_BBOOL b = value ? CK_TRUE : CK_FALSE;

	attrs_add(set, type, &b, sizeof(b));
}

void
attrs_add_ulong(struct attr_set *set, CK_ATTRIBUTE_TYPE type, CK_ULONG value)
{
	attrs_add(set, type, &value, sizeof(value));
}

void
attrs_free(struct attr *attrs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(attrs[i].value);
	free(attrs);
}

static int
attrs_done(struct attr_set *set)
{
	return set->failed ? -1 : 0;
}

static void
attrs_common(struct attr_set *set, const struct key *key,
    CK_OBJECT_CLASS class, int private)
{
	attrs_add_ulong(set, CKA_CLASS, class);
	attrs_add_bool(set, CKA_TOKEN, 1);
	attrs_add_bool(set, CKA_PRIVATE, private);
	attrs_add_bool(set, CKA_MODIFIABLE, 0);
	attrs_add_bool(set, CKA_COPYABLE, 0);
	attrs_add_bool(set, CKA_DESTROYABLE, 0);
	char vlabel[2 * P11B_KEY_NAME_MAX + 2];

	if (filter_token_labels() && key->label[0] != '\0')
		attrs_add(set, CKA_LABEL, key->label, strlen(key->label));
	else if (key->previous) {
		/* An older version: NAME@VERSION ('@' is in no key name). */
		snprintf(vlabel, sizeof(vlabel), "%s@%s", key->name,
		    key->version);
		attrs_add(set, CKA_LABEL, vlabel, strlen(vlabel));
	} else
		attrs_add(set, CKA_LABEL, key->name, strlen(key->name));
}

static void
attrs_key_common(struct attr_set *set, const struct key *key,
    CK_KEY_TYPE type)
{
	CK_MECHANISM_TYPE mechs[ATTRS_MAX_MECHS];
	size_t n;

	attrs_add_ulong(set, CKA_KEY_TYPE, type);
	attrs_add(set, CKA_ID, key->id, key->idlen);
	attrs_add(set, CKA_START_DATE, NULL, 0);
	attrs_add(set, CKA_END_DATE, NULL, 0);
	attrs_add_bool(set, CKA_DERIVE, 0);
	/* As the token reports it for the object behind the name. */
	attrs_add_bool(set, CKA_LOCAL, key->local);
	attrs_add_ulong(set, CKA_KEY_GEN_MECHANISM,
	    CK_UNAVAILABLE_INFORMATION);
	n = mech_key_mechanisms(key, mechs, ATTRS_MAX_MECHS);
	attrs_add(set, CKA_ALLOWED_MECHANISMS, mechs, n * sizeof(mechs[0]));
}

static CK_KEY_TYPE
attrs_ck_key_type(const struct key *key)
{
	switch (key->type) {
	case P11B_KEY_RSA:
		return CKK_RSA;
	case P11B_KEY_ED25519:
		return CKK_EC_EDWARDS;
	case P11B_KEY_EC_P256:
	case P11B_KEY_EC_P384:
	case P11B_KEY_EC_P521:
		return CKK_EC;
	case P11B_KEY_SECRET:
	case P11B_KEY_DATA:
	case P11B_KEY_NONE:
		break;
	}
	return CKK_GENERIC_SECRET;
}

static void
attrs_ec_params(struct attr_set *set, const struct key *key)
{
	switch (key->type) {
	case P11B_KEY_EC_P256:
		attrs_add(set, CKA_EC_PARAMS, attrs_oid_p256,
		    sizeof(attrs_oid_p256));
		break;
	case P11B_KEY_EC_P384:
		attrs_add(set, CKA_EC_PARAMS, attrs_oid_p384,
		    sizeof(attrs_oid_p384));
		break;
	case P11B_KEY_EC_P521:
		attrs_add(set, CKA_EC_PARAMS, attrs_oid_p521,
		    sizeof(attrs_oid_p521));
		break;
	case P11B_KEY_ED25519:
		attrs_add(set, CKA_EC_PARAMS, attrs_oid_ed25519,
		    sizeof(attrs_oid_ed25519));
		break;
	default:
		break;
	}
}

static void
attrs_bn(struct attr_set *set, CK_ATTRIBUTE_TYPE type, const EVP_PKEY *pub,
    const char *param)
{
	BIGNUM *bn = NULL;
	uint8_t *buf;
	int len;

	if (EVP_PKEY_get_bn_param(pub, param, &bn) != 1) {
		set->failed = 1;
		return;
	}
	len = BN_num_bytes(bn);
	if ((buf = malloc(len > 0 ? len : 1)) == NULL) {
		set->failed = 1;
		BN_free(bn);
		return;
	}
	BN_bn2bin(bn, buf);
	attrs_add(set, type, buf, (size_t)len);
	free(buf);
	BN_free(bn);
}

static void
attrs_rsa_public(struct attr_set *set, const struct key *key)
{
	if (key->pub == NULL)
		return;
	attrs_bn(set, CKA_MODULUS, key->pub, OSSL_PKEY_PARAM_RSA_N);
	attrs_bn(set, CKA_PUBLIC_EXPONENT, key->pub, OSSL_PKEY_PARAM_RSA_E);
}

/* CKA_EC_POINT: the point (or Ed25519 key) in a DER OCTET STRING. */
static void
attrs_ec_point(struct attr_set *set, const struct key *key)
{
	const uint8_t *p = key->spki, *pk = NULL;
	X509_PUBKEY *xpk;
	uint8_t buf[4 + 256];
	size_t hdr;
	int pklen = 0;

	if (key->spki == NULL)
		return;
	if ((xpk = d2i_X509_PUBKEY(NULL, &p, (long)key->spkilen)) == NULL ||
	    X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk) != 1 ||
	    pklen <= 0 || pklen > 255) {
		X509_PUBKEY_free(xpk);
		set->failed = 1;
		return;
	}
	buf[0] = 0x04;
	if (pklen < 0x80) {
		buf[1] = (uint8_t)pklen;
		hdr = 2;
	} else {
		buf[1] = 0x81;
		buf[2] = (uint8_t)pklen;
		hdr = 3;
	}
	memcpy(buf + hdr, pk, (size_t)pklen);
	attrs_add(set, CKA_EC_POINT, buf, hdr + (size_t)pklen);
	X509_PUBKEY_free(xpk);
}

/* DER of a certificate's subject, issuer or serial (NULL: none). */
static void
attrs_cert_der_field(struct attr_set *set, CK_ATTRIBUTE_TYPE type,
    const uint8_t *cert, size_t certlen)
{
	const uint8_t *p = cert;
	uint8_t *der = NULL;
	X509 *x;
	int len = -1;

	if (cert == NULL) {
		attrs_add(set, type, NULL, 0);
		return;
	}
	if ((x = d2i_X509(NULL, &p, (long)certlen)) == NULL) {
		attrs_add(set, type, NULL, 0);
		return;
	}
	if (type == CKA_SUBJECT)
		len = i2d_X509_NAME(X509_get_subject_name(x), &der);
	else if (type == CKA_ISSUER)
		len = i2d_X509_NAME(X509_get_issuer_name(x), &der);
	else if (type == CKA_SERIAL_NUMBER)
		len = i2d_ASN1_INTEGER(
		    (ASN1_INTEGER *)X509_get0_serialNumber(x), &der);
	attrs_add(set, type, der, len > 0 ? (size_t)len : 0);
	OPENSSL_free(der);
	X509_free(x);
}

static void
attrs_cert_field(struct attr_set *set, CK_ATTRIBUTE_TYPE type,
    const struct key *key)
{
	attrs_cert_der_field(set, type, key->cert, key->certlen);
}

/* Returns 0, 1 (no object for this key) or -1 (out of memory). */
int
attrs_private_key(struct attr_set *set, const struct key *key)
{
	CK_MECHANISM_TYPE mechs[ATTRS_MAX_MECHS];
	CK_KEY_TYPE type = attrs_ck_key_type(key);

	attrs_common(set, key, CKO_PRIVATE_KEY, 1);
	attrs_key_common(set, key, type);
	attrs_cert_field(set, CKA_SUBJECT, key);
	attrs_add_bool(set, CKA_SENSITIVE, 1);
	attrs_add_bool(set, CKA_ALWAYS_SENSITIVE, 1);
	attrs_add_bool(set, CKA_EXTRACTABLE, 0);
	attrs_add_bool(set, CKA_NEVER_EXTRACTABLE, 1);
	attrs_add_bool(set, CKA_DECRYPT, 0);
	attrs_add_bool(set, CKA_SIGN,
	    mech_key_mechanisms(key, mechs, ATTRS_MAX_MECHS) > 0);
	attrs_add_bool(set, CKA_SIGN_RECOVER, 0);
	attrs_add_bool(set, CKA_UNWRAP, 0);
	attrs_add_bool(set, CKA_WRAP_WITH_TRUSTED, 0);
	attrs_add_bool(set, CKA_ALWAYS_AUTHENTICATE, 0);
	if (key->spki != NULL)
		attrs_add(set, CKA_PUBLIC_KEY_INFO, key->spki, key->spkilen);
	if (type == CKK_RSA) {
		attrs_rsa_public(set, key);
		attrs_add_flag(set, CKA_PRIVATE_EXPONENT, ATTR_SENSITIVE);
		attrs_add_flag(set, CKA_PRIME_1, ATTR_SENSITIVE);
		attrs_add_flag(set, CKA_PRIME_2, ATTR_SENSITIVE);
		attrs_add_flag(set, CKA_EXPONENT_1, ATTR_SENSITIVE);
		attrs_add_flag(set, CKA_EXPONENT_2, ATTR_SENSITIVE);
		attrs_add_flag(set, CKA_COEFFICIENT, ATTR_SENSITIVE);
	} else {
		attrs_ec_params(set, key);
		attrs_add_flag(set, CKA_VALUE, ATTR_SENSITIVE);
	}
	return attrs_done(set);
}

int
attrs_public_key(struct attr_set *set, const struct key *key)
{
	CK_KEY_TYPE type = attrs_ck_key_type(key);

	if (key->pub == NULL)
		return 1;
	attrs_common(set, key, CKO_PUBLIC_KEY, 0);
	attrs_key_common(set, key, type);
	attrs_cert_field(set, CKA_SUBJECT, key);
	attrs_add_bool(set, CKA_ENCRYPT, 0);
	attrs_add_bool(set, CKA_VERIFY, 1);
	attrs_add_bool(set, CKA_VERIFY_RECOVER, 0);
	attrs_add_bool(set, CKA_WRAP, 0);
	attrs_add_bool(set, CKA_TRUSTED, 0);
	attrs_add(set, CKA_PUBLIC_KEY_INFO, key->spki, key->spkilen);
	if (type == CKK_RSA) {
		attrs_rsa_public(set, key);
		attrs_add_ulong(set, CKA_MODULUS_BITS, key->bits);
	} else {
		attrs_ec_params(set, key);
		attrs_ec_point(set, key);
	}
	return attrs_done(set);
}

/*
 * The key's certificate (issuer 0: CKA_ID the key's, category "token
 * user") or one of its issuers (no CKA_ID, so that nothing pairs it with
 * the key; category "authority"; label "NAME ca1", "NAME ca2", ...).
 */
int
attrs_certificate(struct attr_set *set, const struct key *key,
    const uint8_t *der, size_t len, int issuer)
{
	char label[P11B_KEY_NAME_MAX + 16];

	if (der == NULL)
		return 1;
	if (issuer == 0)
		attrs_common(set, key, CKO_CERTIFICATE, 0);
	else {
		attrs_add_ulong(set, CKA_CLASS, CKO_CERTIFICATE);
		attrs_add_bool(set, CKA_TOKEN, 1);
		attrs_add_bool(set, CKA_PRIVATE, 0);
		attrs_add_bool(set, CKA_MODIFIABLE, 0);
		attrs_add_bool(set, CKA_COPYABLE, 0);
		attrs_add_bool(set, CKA_DESTROYABLE, 0);
		snprintf(label, sizeof(label), "%s ca%d", key->name, issuer);
		attrs_add(set, CKA_LABEL, label, strlen(label));
	}
	attrs_add_ulong(set, CKA_CERTIFICATE_TYPE, CKC_X_509);
	attrs_add_bool(set, CKA_TRUSTED, 0);
	attrs_add_ulong(set, CKA_CERTIFICATE_CATEGORY, issuer == 0 ? 1 : 2);
	if (issuer == 0)
		attrs_add(set, CKA_ID, key->id, key->idlen);
	else
		attrs_add(set, CKA_ID, NULL, 0);
	attrs_add(set, CKA_START_DATE, NULL, 0);
	attrs_add(set, CKA_END_DATE, NULL, 0);
	attrs_cert_der_field(set, CKA_SUBJECT, der, len);
	attrs_cert_der_field(set, CKA_ISSUER, der, len);
	attrs_cert_der_field(set, CKA_SERIAL_NUMBER, der, len);
	attrs_add(set, CKA_VALUE, der, len);
	return attrs_done(set);
}

/* A secret key (HMAC, get-secret) or a data object (get-secret only). */
int
attrs_secret(struct attr_set *set, const struct key *key,
    CK_OBJECT_CLASS class)
{
	int readable = (key->ops & (1U << P11B_OP_SECRET)) != 0;
	int hmac = (key->ops & (1U << P11B_OP_HMAC)) != 0;
	int hmac_verify = (key->ops & (1U << P11B_OP_HMAC_VERIFY)) != 0;

	attrs_common(set, key, class, 1);
	attrs_add_flag(set, CKA_VALUE,
	    readable ? ATTR_SECRET_VALUE : ATTR_SENSITIVE);
	if (class == CKO_DATA) {
		attrs_add(set, CKA_APPLICATION, "p11broker", 9);
		attrs_add(set, CKA_OBJECT_ID, NULL, 0);
		return attrs_done(set);
	}
	attrs_key_common(set, key, CKK_GENERIC_SECRET);
	attrs_add_ulong(set, CKA_VALUE_LEN, key->bits / 8);
	attrs_add_bool(set, CKA_SENSITIVE, !readable);
	attrs_add_bool(set, CKA_ALWAYS_SENSITIVE, !readable);
	attrs_add_bool(set, CKA_EXTRACTABLE, readable);
	attrs_add_bool(set, CKA_NEVER_EXTRACTABLE, !readable);
	attrs_add_bool(set, CKA_SIGN, hmac);
	attrs_add_bool(set, CKA_VERIFY, hmac || hmac_verify);
	attrs_add_bool(set, CKA_ENCRYPT, 0);
	attrs_add_bool(set, CKA_DECRYPT, 0);
	attrs_add_bool(set, CKA_WRAP, 0);
	attrs_add_bool(set, CKA_UNWRAP, 0);
	attrs_add_bool(set, CKA_TRUSTED, 0);
	attrs_add_bool(set, CKA_WRAP_WITH_TRUSTED, 0);
	attrs_add_bool(set, CKA_ALWAYS_AUTHENTICATE, 0);
	return attrs_done(set);
}
