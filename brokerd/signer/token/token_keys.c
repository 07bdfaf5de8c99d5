/*
 * Inventory: resolve each logical key name to a token object once, at
 * start-up, and cache its handle, type, size and public key.
 *
 * A key reference matches objects by CKA_LABEL or CKA_ID.  Among the
 * matches a private key wins, then a secret key, then a data object; two
 * objects of the winning class make the reference ambiguous, which is an
 * error (the operator must say which one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "log.h"
#include "token_int.h"

#define MAX_MATCHES	16

static const uint8_t oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
/* PrintableString "edwards25519", as SoftHSM2 and OpenSC write it. */
static const uint8_t name_ed25519[] = {
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'
};

CK_RV
token_get_attr(struct token *tok, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_TYPE type, uint8_t **valp, size_t *lenp)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	*valp = NULL;
	*lenp = 0;
	if ((rv = tok->f->C_GetAttributeValue(s, obj, &a, 1)) != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return CKR_ATTRIBUTE_SENSITIVE;
	if ((a.pValue = malloc(a.ulValueLen + 1)) == NULL)
		return CKR_HOST_MEMORY;
	if ((rv = tok->f->C_GetAttributeValue(s, obj, &a, 1)) != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*valp = a.pValue;
	*lenp = a.ulValueLen;
	return CKR_OK;
}

static CK_ULONG
get_ulong(struct token *tok, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
    CK_ULONG dflt)
{
	CK_ULONG v = dflt;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	if (tok->f->C_GetAttributeValue(tok->control, obj, &a, 1) != CKR_OK)
		return dflt;
	return v;
}

static CK_BBOOL
get_bool(struct token *tok, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	if (tok->f->C_GetAttributeValue(tok->control, obj, &a, 1) != CKR_OK)
		return CK_FALSE;
	return v;
}

static int
find_objects(struct token *tok, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE *out, CK_ULONG *nout)
{
	CK_RV rv;

	*nout = 0;
	if ((rv = tok->f->C_FindObjectsInit(tok->control, tmpl, n)) != CKR_OK)
		return -1;
	rv = tok->f->C_FindObjects(tok->control, out, MAX_MATCHES, nout);
	(void)tok->f->C_FindObjectsFinal(tok->control);
	return rv == CKR_OK ? 0 : -1;
}

static int
bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static int
classify_ec(struct token *tok, CK_OBJECT_HANDLE obj, struct key_info *ki,
    int edwards)
{
	uint8_t *p;
	size_t len;
	int r = -1;

	if (token_get_attr(tok, tok->control, obj, CKA_EC_PARAMS, &p,
	    &len) != CKR_OK)
		return -1;
	if (!edwards && bytes_eq(p, len, oid_p256, sizeof(oid_p256))) {
		ki->type = P11B_KEY_EC_P256;
		ki->bits = 256;
	} else if (!edwards && bytes_eq(p, len, oid_p384, sizeof(oid_p384))) {
		ki->type = P11B_KEY_EC_P384;
		ki->bits = 384;
	} else if (!edwards && bytes_eq(p, len, oid_p521, sizeof(oid_p521))) {
		ki->type = P11B_KEY_EC_P521;
		ki->bits = 521;
	} else if (bytes_eq(p, len, oid_ed25519, sizeof(oid_ed25519)) ||
	    bytes_eq(p, len, name_ed25519, sizeof(name_ed25519))) {
		ki->type = P11B_KEY_ED25519;
		ki->bits = 255;
	} else
		goto out;
	r = 0;
 out:
	free(p);
	return r;
}

static int
classify_private(struct token *tok, CK_OBJECT_HANDLE obj,
    struct key_info *ki)
{
	uint8_t *mod;
	size_t len, i;

	switch (get_ulong(tok, obj, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION)) {
	case CKK_EC:
		return classify_ec(tok, obj, ki, 0);
	case CKK_EC_EDWARDS:
		return classify_ec(tok, obj, ki, 1);
	case CKK_RSA:
		if (token_get_attr(tok, tok->control, obj, CKA_MODULUS, &mod,
		    &len) != CKR_OK)
			return -1;
		for (i = 0; i < len && mod[i] == 0; i++)
			;
		ki->type = P11B_KEY_RSA;
		ki->bits = (unsigned int)(len - i) * 8;
		free(mod);
		return ki->bits >= 1024 ? 0 : -1;
	}
	return -1;
}

static int
classify_secret(struct token *tok, CK_OBJECT_HANDLE obj, struct key_info *ki)
{
	switch (get_ulong(tok, obj, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION)) {
	case CKK_GENERIC_SECRET:
	case CKK_SHA256_HMAC:
	case CKK_SHA384_HMAC:
	case CKK_SHA512_HMAC:
		break;
	default:
		return -1;
	}
	ki->type = P11B_KEY_SECRET;
	ki->bits = get_ulong(tok, obj, CKA_VALUE_LEN, 0) * 8;
	ki->extractable = get_bool(tok, obj, CKA_EXTRACTABLE) &&
	    !get_bool(tok, obj, CKA_SENSITIVE);
	return 0;
}

/* The public half: same CKA_ID when the key has one, else same label. */
static void
find_public(struct token *tok, const struct key_ref *ref,
    struct key_handles *kh)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_OBJECT_HANDLE found[MAX_MATCHES];
	CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ULONG n;

	if (kh->idlen > 0) {
		t[1].type = CKA_ID;
		t[1].pValue = kh->id;
		t[1].ulValueLen = kh->idlen;
	} else {
		t[1].type = CKA_LABEL;
		t[1].pValue = ref->label;
		t[1].ulValueLen = strlen(ref->label);
	}
	kh->pub = CK_INVALID_HANDLE;
	if (find_objects(tok, t, 2, found, &n) == 0 && n == 1)
		kh->pub = found[0];
}

/*
 * SPKI DER of an EVP_PKEY made from the public key's attributes.
 * (libp11 0.4.12's PKCS11_enumerate_public_keys fails outright on a token
 * that holds an Ed25519 key, so the public keys are read directly.)
 */
static int
spki_from_params(const char *type, OSSL_PARAM *params, struct key_info *ki)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk = NULL;
	unsigned char *p;
	int len, r = -1;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL)
		return -1;
	if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pk,
	    EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	if ((len = i2d_PUBKEY(pk, NULL)) <= 0 ||
	    (ki->spki = malloc(len)) == NULL)
		goto out;
	p = ki->spki;
	ki->spkilen = i2d_PUBKEY(pk, &p);
	r = 0;
 out:
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int
spki_ec(struct token *tok, const struct key_handles *kh, struct key_info *ki)
{
	const char *curve = ki->type == P11B_KEY_EC_P256 ? "P-256" :
	    ki->type == P11B_KEY_EC_P384 ? "P-384" : "P-521";
	ASN1_OCTET_STRING *os = NULL;
	const unsigned char *q;
	OSSL_PARAM params[3];
	uint8_t *pt;
	size_t len;
	int r = -1;

	if (token_get_attr(tok, tok->control, kh->pub, CKA_EC_POINT, &pt,
	    &len) != CKR_OK)
		return -1;
	/* CKA_EC_POINT is DER OCTET STRING { point } (PKCS#11 2.40). */
	q = pt;
	if ((os = d2i_ASN1_OCTET_STRING(NULL, &q, len)) == NULL ||
	    q != pt + len)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)curve, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    os->data, os->length);
	params[2] = OSSL_PARAM_construct_end();
	r = spki_from_params("EC", params, ki);
 out:
	ASN1_OCTET_STRING_free(os);
	free(pt);
	return r;
}

static int
spki_rsa(struct token *tok, const struct key_handles *kh, struct key_info *ki)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t *mod = NULL, *exp = NULL;
	size_t modlen, explen;
	int r = -1;

	if (token_get_attr(tok, tok->control, kh->pub, CKA_MODULUS, &mod,
	    &modlen) != CKR_OK || token_get_attr(tok, tok->control, kh->pub,
	    CKA_PUBLIC_EXPONENT, &exp, &explen) != CKR_OK)
		goto out;
	if ((n = BN_bin2bn(mod, modlen, NULL)) == NULL ||
	    (e = BN_bin2bn(exp, explen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	r = spki_from_params("RSA", params, ki);
 out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(mod);
	free(exp);
	return r;
}

/* Ed25519: OpenSSL's SPKI prefix plus the 32-byte point. */
static int
spki_ed25519(struct token *tok, const struct key_handles *kh,
    struct key_info *ki)
{
	uint8_t *pt;
	const uint8_t *raw;
	size_t len;

	if (token_get_attr(tok, tok->control, kh->pub, CKA_EC_POINT, &pt,
	    &len) != CKR_OK)
		return -1;
	/* Either the raw 32 bytes or an OCTET STRING around them. */
	raw = len == 34 && pt[0] == 0x04 && pt[1] == 32 ? pt + 2 :
	    len == 32 ? pt : NULL;
	if (raw != NULL && (ki->spki = malloc(CRYPTO_ED25519_SPKI_LEN)) != NULL) {
		crypto_ed25519_spki(raw, ki->spki);
		ki->spkilen = CRYPTO_ED25519_SPKI_LEN;
	}
	free(pt);
	return ki->spki != NULL ? 0 : -1;
}

static void
find_certificate(struct token *tok, const struct key_handles *kh,
    struct key_info *ki)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_OBJECT_HANDLE found[MAX_MATCHES];
	CK_ATTRIBUTE t[2] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)kh->id, kh->idlen },
	};
	CK_ULONG n;

	if (kh->idlen == 0 || find_objects(tok, t, 2, found, &n) != 0 ||
	    n == 0)
		return;
	if (token_get_attr(tok, tok->control, found[0], CKA_VALUE, &ki->cert,
	    &ki->certlen) != CKR_OK) {
		ki->cert = NULL;
		ki->certlen = 0;
	}
}

static int
pick_object(struct token *tok, const struct key_ref *ref,
    CK_OBJECT_HANDLE *found, CK_ULONG n, struct key_handles *kh)
{
	static const CK_OBJECT_CLASS order[] = {
		CKO_PRIVATE_KEY, CKO_SECRET_KEY, CKO_DATA
	};
	size_t i;
	CK_ULONG j, count;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		count = 0;
		for (j = 0; j < n; j++) {
			if (get_ulong(tok, found[j], CKA_CLASS,
			    CK_UNAVAILABLE_INFORMATION) != order[i])
				continue;
			kh->obj = found[j];
			count++;
		}
		if (count == 1) {
			kh->cls = order[i];
			return 0;
		}
		if (count > 1)
			return -2;
	}
	return -1;
}

static void
describe(const struct key_ref *ref, const struct key_handles *kh,
    struct key_info *ki)
{
	const char *what = kh->cls == CKO_PRIVATE_KEY ? "private key" :
	    kh->cls == CKO_SECRET_KEY ? "secret key" : "data object";
	char id[2 * CONFIG_ID_MAX + 1] = "";
	size_t i;

	for (i = 0; i < kh->idlen && i < CONFIG_ID_MAX; i++)
		snprintf(id + 2 * i, 3, "%02x", kh->id[i]);
	if (ref->kind == KEY_REF_LABEL)
		snprintf(ki->object, sizeof(ki->object), "%s label=%s%s%s",
		    what, ref->label, kh->idlen > 0 ? " id=" : "", id);
	else
		snprintf(ki->object, sizeof(ki->object), "%s id=%s", what, id);
}

static int
resolve_class(struct token *tok, const struct key_ref *ref,
    struct key_handles *kh, struct key_info *ki)
{
	uint8_t *val;
	size_t len;

	switch (kh->cls) {
	case CKO_PRIVATE_KEY:
		if (classify_private(tok, kh->obj, ki) != 0)
			return -1;
		find_public(tok, ref, kh);
		if (kh->pub == CK_INVALID_HANDLE ||
		    (ki->type == P11B_KEY_ED25519 ? spki_ed25519(tok, kh, ki) :
		    ki->type == P11B_KEY_RSA ? spki_rsa(tok, kh, ki) :
		    spki_ec(tok, kh, ki)) != 0)
			log_warnx("key %s: no public key object on the token; "
			    "pubkey will be unavailable", ki->name);
		if (ref->cert == NULL)
			find_certificate(tok, kh, ki);
		break;
	case CKO_SECRET_KEY:
		if (classify_secret(tok, kh->obj, ki) != 0)
			return -1;
		break;
	case CKO_DATA:
		ki->type = P11B_KEY_DATA;
		ki->extractable = 1;
		if (token_get_attr(tok, tok->control, kh->obj, CKA_VALUE, &val,
		    &len) != CKR_OK)
			return -1;
		ki->bits = (unsigned int)len * 8;
		explicit_bzero(val, len);
		free(val);
		break;
	}
	return 0;
}

/*
 * The config's certificate file (read by the monitor): the first is the
 * key's and must hold its public key, the rest are its issuers.
 */
static int
resolve_certificate(const struct token_conf *conf, const struct key_ref *ref,
    struct key_info *ki, char *errbuf, size_t errlen)
{
	const uint8_t *p = ref->cert;
	X509_PUBKEY *xpk;
	uint8_t *der = NULL;
	X509 *x;
	size_t leaf;
	int n = -1;

	if (ref->cert == NULL)
		return 0;
	if ((x = d2i_X509(NULL, &p, (long)ref->certlen)) != NULL &&
	    (xpk = X509_get_X509_PUBKEY(x)) != NULL)
		n = i2d_X509_PUBKEY(xpk, &der);
	leaf = (size_t)(p - ref->cert);
	X509_free(x);
	if (ki->spki == NULL || n < 0 || (size_t)n != ki->spkilen ||
	    memcmp(der, ki->spki, ki->spkilen) != 0) {
		OPENSSL_free(der);
		snprintf(errbuf, errlen, "%s:%d: key %s: the certificate in "
		    "%s is not for this key%s", conf->path, ref->line,
		    ref->name, ref->cert_path, ki->spki == NULL ?
		    " (the token has no public key for it)" : "");
		return -1;
	}
	OPENSSL_free(der);
	if ((ki->cert = malloc(leaf)) == NULL || (ref->certlen > leaf &&
	    (ki->chain = malloc(ref->certlen - leaf)) == NULL)) {
		snprintf(errbuf, errlen, "token: out of memory");
		return -1;
	}
	memcpy(ki->cert, ref->cert, leaf);
	ki->certlen = leaf;
	if (ref->certlen > leaf) {
		memcpy(ki->chain, ref->cert + leaf, ref->certlen - leaf);
		ki->chainlen = ref->certlen - leaf;
	}
	return 0;
}

/* verify-signatures needs the public key; low-s an ECDSA key. */
static int
resolve_options(const struct token_conf *conf, const struct key_ref *ref,
    struct key_handles *kh, const struct key_info *ki, char *errbuf,
    size_t errlen)
{
	kh->verify = ref->verify;
	kh->low_s = ref->low_s;
	if (ref->low_s && ki->type != P11B_KEY_EC_P256 &&
	    ki->type != P11B_KEY_EC_P384 && ki->type != P11B_KEY_EC_P521) {
		snprintf(errbuf, errlen, "%s:%d: key %s: low-s is for ECDSA "
		    "keys", conf->path, ref->line, ref->name);
		return -1;
	}
	if (!ref->verify)
		return 0;
	if (ki->spki == NULL || (kh->pubkey = crypto_pubkey_load(ki->spki,
	    ki->spkilen)) == NULL) {
		snprintf(errbuf, errlen, "%s:%d: key %s: verify-signatures "
		    "needs the key's public key on the token", conf->path,
		    ref->line, ref->name);
		return -1;
	}
	return 0;
}

/*
 * The object's own attributes, reported as they are: CKA_ID, CKA_LABEL
 * (left out when it is longer than a client takes, or holds control
 * characters) and CKA_LOCAL.
 */
static void
read_object(struct token *tok, const struct key_handles *kh,
    struct key_info *ki)
{
	uint8_t *label;
	size_t len, i;

	memcpy(ki->id, kh->id, kh->idlen);
	ki->idlen = kh->idlen;
	ki->local = get_bool(tok, kh->obj, CKA_LOCAL) == CK_TRUE;
	if (token_get_attr(tok, tok->control, kh->obj, CKA_LABEL, &label,
	    &len) != CKR_OK)
		return;
	for (i = 0; i < len && label[i] >= 0x20 && label[i] != 0x7f; i++)
		;
	if (i == len && len <= P11B_LABEL_MAX) {
		memcpy(ki->label, label, len);
		ki->label[len] = '\0';
	}
	free(label);
}

static void
identity_add(EVP_MD_CTX *ctx, const void *p, size_t len)
{
	uint32_t n = (uint32_t)len;

	(void)EVP_DigestUpdate(ctx, &n, sizeof(n));
	if (len > 0)
		(void)EVP_DigestUpdate(ctx, p, len);
}

/*
 * What names the key material behind a name, for clients to hold on to
 * (KeyInfo.identity): the object's class, type, size, CKA_ID and
 * CKA_LABEL, its public key, and a secret key's CKA_CHECK_VALUE when the
 * token has one.  A reload that maps the name to another object changes
 * it; a restart that finds the same object does not (no handles in it).
 * Two secret keys with the same label, id and size on a token without
 * check values look the same: see signer/README.md.
 */
static int
make_identity(struct token *tok, const struct key_handles *kh,
    struct key_info *ki)
{
	static const char tag[] = "p11broker key identity 1";
	uint8_t md[EVP_MAX_MD_SIZE], *kcv = NULL;
	unsigned int mdlen = 0;
	size_t kcvlen = 0;
	uint32_t v[3];
	EVP_MD_CTX *ctx;
	int r = -1;

	if (kh->cls == CKO_SECRET_KEY && token_get_attr(tok, tok->control,
	    kh->obj, CKA_CHECK_VALUE, &kcv, &kcvlen) != CKR_OK) {
		kcv = NULL;
		kcvlen = 0;
	}
	v[0] = (uint32_t)kh->cls;
	v[1] = (uint32_t)ki->type;
	v[2] = ki->bits;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	identity_add(ctx, tag, sizeof(tag) - 1);
	identity_add(ctx, v, sizeof(v));
	identity_add(ctx, ki->id, ki->idlen);
	identity_add(ctx, ki->label, strlen(ki->label));
	identity_add(ctx, ki->spki, ki->spkilen);
	identity_add(ctx, kcv, kcvlen);
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
	    mdlen < P11B_IDENTITY_LEN)
		goto out;
	memcpy(ki->identity, md, P11B_IDENTITY_LEN);
	r = 0;
 out:
	EVP_MD_CTX_free(ctx);
	free(kcv);
	return r;
}

static int
resolve_key(struct token *tok, const struct token_conf *conf,
    const struct key_ref *ref, struct key_handles *kh, struct key_info *ki,
    char *errbuf, size_t errlen)
{
	CK_OBJECT_HANDLE found[MAX_MATCHES];
	CK_ATTRIBUTE t;
	CK_ULONG n;
	uint8_t *id;
	size_t idlen;
	int r;

	strlcpy(ki->name, ref->name, sizeof(ki->name));
	if (ref->kind == KEY_REF_LABEL) {
		t.type = CKA_LABEL;
		t.pValue = ref->label;
		t.ulValueLen = strlen(ref->label);
	} else {
		t.type = CKA_ID;
		t.pValue = (void *)ref->id;
		t.ulValueLen = ref->idlen;
	}
	if (find_objects(tok, &t, 1, found, &n) != 0 || n == 0 ||
	    (r = pick_object(tok, ref, found, n, kh)) == -1) {
		snprintf(errbuf, errlen, "%s:%d: key %s: no private key, "
		    "secret key or data object with that %s on %s", conf->path,
		    ref->line, ref->name, ref->kind == KEY_REF_LABEL ?
		    "label" : "id", tok->desc);
		return -1;
	}
	if (r == -2) {
		snprintf(errbuf, errlen, "%s:%d: key %s: more than one object "
		    "of the same class matches; use a unique label or id",
		    conf->path, ref->line, ref->name);
		return -1;
	}
	if (token_get_attr(tok, tok->control, kh->obj, CKA_ID, &id,
	    &idlen) == CKR_OK) {
		if (idlen <= sizeof(kh->id)) {
			memcpy(kh->id, id, idlen);
			kh->idlen = idlen;
		}
		free(id);
	}
	describe(ref, kh, ki);
	read_object(tok, kh, ki);
	if (resolve_class(tok, ref, kh, ki) != 0) {
		snprintf(errbuf, errlen, "%s:%d: key %s: unsupported key type "
		    "or curve (%s)", conf->path, ref->line, ref->name,
		    ki->object);
		return -1;
	}
	ki->algs = token_key_algs(tok, ki);
	if (make_identity(tok, kh, ki) != 0) {
		snprintf(errbuf, errlen, "token: out of memory");
		return -1;
	}
	if (resolve_certificate(conf, ref, ki, errbuf, errlen) != 0)
		return -1;
	return resolve_options(conf, ref, kh, ki, errbuf, errlen);
}

int
token_resolve_ref(struct token *tok, const struct token_conf *conf,
    const struct key_ref *ref, struct key_handles *kh, struct key_info *ki,
    char *errbuf, size_t errlen)
{
	return resolve_key(tok, conf, ref, kh, ki, errbuf, errlen);
}

/*
 * The checkpoint key under a second name would be a signing key the
 * policy can grant: a checkpoint is checked by its public key alone, so
 * the reservation follows the token object (the same handle) and the
 * key pair (the same public key, when the token has it), not the name.
 */
static int
check_checkpoint_alias(const struct token_conf *conf,
    const struct token_keyset *ks, char *errbuf, size_t errlen)
{
	const struct key_handles *ch;
	const struct key_info *ci;
	int c = conf->checkpoint_key;
	size_t i;

	if (c < 0 || (size_t)c >= ks->nkeys || ks->info[c].absent)
		return 0;
	ch = &ks->handles[c];
	ci = &ks->info[c];
	for (i = 0; i < ks->nconf; i++) {
		if (i == (size_t)c || ks->info[i].absent)
			continue;
		if (ks->handles[i].obj != ch->obj && (ci->spki == NULL ||
		    ks->info[i].spki == NULL || ks->info[i].spkilen !=
		    ci->spkilen || memcmp(ks->info[i].spki, ci->spki,
		    ci->spkilen) != 0))
			continue;
		snprintf(errbuf, errlen, "%s:%d: key %s is the %s the "
		    "audit checkpoint-key %s (line %d, %s); a checkpoint key "
		    "may have only one name", conf->path, conf->keys[i].line,
		    conf->keys[i].name, ks->handles[i].obj == ch->obj ?
		    "same token object as" : "same key pair as",
		    conf->keys[c].name, conf->keys[c].line, ci->object);
		return -1;
	}
	return 0;
}

int
token_keyset_load(struct token *tok, const struct token_conf *conf,
    struct token_keyset **ksp, char *errbuf, size_t errlen)
{
	struct token_keyset *ks;
	size_t i;

	size_t cap = conf->nkeys + (conf->nkeyspaces > 0 ?
	    TOKEN_SPACE_KEYS_MAX : 0);

	if ((ks = calloc(1, sizeof(*ks))) == NULL ||
	    (ks->info = calloc(cap + 1, sizeof(*ks->info))) == NULL ||
	    (ks->handles = calloc(cap + 1, sizeof(*ks->handles))) == NULL) {
		snprintf(errbuf, errlen, "token: out of memory");
		token_keyset_free(ks);
		return -1;
	}
	for (i = 0; i < conf->nkeys; i++) {
		ks->nkeys = i + 1;
		ks->info[i].space = -1;
		/* Another block's key: announced absent, never used here. */
		if (!(conf->keys[i].tokens & (1U << conf->token))) {
			strlcpy(ks->info[i].name, conf->keys[i].name,
			    sizeof(ks->info[i].name));
			ks->info[i].type = P11B_KEY_NONE;
			ks->info[i].absent = 1;
			continue;
		}
		if (resolve_key(tok, conf, &conf->keys[i], &ks->handles[i],
		    &ks->info[i], errbuf, errlen) != 0) {
			token_keyset_free(ks);
			return -1;
		}
	}
	ks->nkeys = ks->nconf = conf->nkeys;
	ks->cap = cap;
	tok->conf_path = conf->path;
	tok->token_index = conf->token;
	tok->spaces = conf->keyspaces;
	tok->nspaces = conf->nkeyspaces;
	if (token_space_load(tok, conf, ks) != 0) {
		snprintf(errbuf, errlen, "token: out of memory");
		token_keyset_free(ks);
		return -1;
	}
	if (check_checkpoint_alias(conf, ks, errbuf, errlen) != 0) {
		token_keyset_free(ks);
		return -1;
	}
	ks->refs = 1;			/* the caller's */
	*ksp = ks;
	return 0;
}

void
token_keyset_free(struct token_keyset *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; ks->handles != NULL && i < ks->nkeys; i++)
		crypto_pubkey_free(ks->handles[i].pubkey);
	key_info_free(ks->info, ks->nkeys);
	free(ks->handles);
	free(ks);
}

const struct key_info *
token_keyset_info(const struct token_keyset *ks, size_t *nkeys)
{
	*nkeys = token_keyset_count(ks);
	return ks->info;
}

struct token_keyset *
token_current_keys(struct token *tok)
{
	return tok->keys;
}

void
token_keyset_release(struct token_keyset *ks)
{
	if (--ks->refs == 0)
		token_keyset_free(ks);
}

void
token_use_keys(struct token *tok, struct token_keyset *ks)
{
	struct token_keyset *old = tok->keys;

	tok->keys = ks;			/* takes over the caller's reference */
	if (old != NULL)
		token_keyset_release(old);
}
