/*
 * C_GenerateKeyPair and C_GenerateKey, mapped onto the broker's
 * GENERATE_KEY: the key is made on the broker's token inside a keyspace
 * the policy grants this caller, never extractable, and shows in
 * C_FindObjects at once.  The broker names a keyspace by its label
 * prefix; a program that gives no label, or one outside the prefix
 * (GnuTLS, and so Knot DNS, give none), gets $P11BROKER_KEYSPACE_PREFIX
 * put in front: no label at all becomes PREFIX + the CKA_ID in hex.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "module.h"
#include "wire.h"

#define GEN_ID_LEN	20		/* a CKA_ID when the template has none */

/* DER of the curve OIDs, and the printable name some callers send. */
static const uint8_t oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t name_ed25519[] = {
	0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'
};

struct gen_req {
	char			 label[P11B_KEY_NAME_MAX + 1];
	uint8_t			 id[P11B_ID_MAX];
	size_t			 idlen;
	enum p11b_key_type	 type;
	unsigned int		 bits;
};

static const CK_ATTRIBUTE *
find_attr(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG i;

	for (i = 0; t != NULL && i < n; i++)
		if (t[i].type == type)
			return &t[i];
	return NULL;
}

static int
attr_bool(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
    int dflt)
{
	const CK_ATTRIBUTE *a = find_attr(t, n, type);

	if (a == NULL || a->pValue == NULL || a->ulValueLen != sizeof(CK_BBOOL))
		return dflt;
	return *(const CK_BBOOL *)a->pValue != CK_FALSE;
}

static int
attr_ulong(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
    CK_ULONG *v)
{
	const CK_ATTRIBUTE *a = find_attr(t, n, type);

	if (a == NULL || a->pValue == NULL || a->ulValueLen != sizeof(CK_ULONG))
		return -1;
	*v = *(const CK_ULONG *)a->pValue;
	return 0;
}

static int
same(const CK_ATTRIBUTE *a, const uint8_t *v, size_t len)
{
	return a != NULL && a->pValue != NULL && a->ulValueLen == len &&
	    memcmp(a->pValue, v, len) == 0;
}

/*
 * The private (or secret) key must stay a sensitive token object that
 * never leaves the token: a template asking otherwise is refused, not
 * silently changed.
 */
static CK_RV
check_private(const CK_ATTRIBUTE *t, CK_ULONG n)
{
	if (attr_bool(t, n, CKA_EXTRACTABLE, 0) ||
	    !attr_bool(t, n, CKA_SENSITIVE, 1) ||
	    !attr_bool(t, n, CKA_TOKEN, 1))
		return CKR_TEMPLATE_INCONSISTENT;
	return CKR_OK;
}

/* The label and CKA_ID, from the private template, else the public. */
static CK_RV
name_key(struct gen_req *g, const CK_ATTRIBUTE *priv, CK_ULONG npriv,
    const CK_ATTRIBUTE *pub, CK_ULONG npub)
{
	const char *prefix = getenv("P11BROKER_KEYSPACE_PREFIX");
	const CK_ATTRIBUTE *l, *id;
	char given[P11B_KEY_NAME_MAX + 1] = "";
	size_t i, plen;

	if (prefix == NULL)
		prefix = "";
	plen = strlen(prefix);
	if ((id = find_attr(priv, npriv, CKA_ID)) == NULL)
		id = find_attr(pub, npub, CKA_ID);
	if (id != NULL && (id->pValue == NULL || id->ulValueLen == 0 ||
	    id->ulValueLen > P11B_ID_MAX))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (id != NULL) {
		memcpy(g->id, id->pValue, id->ulValueLen);
		g->idlen = id->ulValueLen;
	} else {
		if (RAND_bytes(g->id, GEN_ID_LEN) != 1)
			return CKR_FUNCTION_FAILED;
		g->idlen = GEN_ID_LEN;
	}
	if ((l = find_attr(priv, npriv, CKA_LABEL)) == NULL)
		l = find_attr(pub, npub, CKA_LABEL);
	if (l != NULL && l->ulValueLen > 0) {
		if (l->pValue == NULL || l->ulValueLen > P11B_KEY_NAME_MAX ||
		    !wire_key_name_valid(l->pValue, l->ulValueLen))
			return CKR_ATTRIBUTE_VALUE_INVALID;
		memcpy(given, l->pValue, l->ulValueLen);
		given[l->ulValueLen] = '\0';
	}
	if (given[0] != '\0' && strncmp(given, prefix, plen) == 0)
		strlcpy(g->label, given, sizeof(g->label));
	else if (given[0] != '\0') {
		if (plen + strlen(given) > P11B_KEY_NAME_MAX)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		snprintf(g->label, sizeof(g->label), "%s%s", prefix, given);
	} else {
		if (plen == 0)
			return CKR_TEMPLATE_INCOMPLETE;
		strlcpy(g->label, prefix, sizeof(g->label));
		for (i = 0; i < g->idlen && plen + 2 * i + 2 <=
		    P11B_KEY_NAME_MAX; i++)
			snprintf(g->label + plen + 2 * i, 3, "%02x", g->id[i]);
	}
	return CKR_OK;
}

static CK_RV
pair_type(struct gen_req *g, const CK_MECHANISM *m, const CK_ATTRIBUTE *pub,
    CK_ULONG npub)
{
	const CK_ATTRIBUTE *p = find_attr(pub, npub, CKA_EC_PARAMS);
	const CK_ATTRIBUTE *e = find_attr(pub, npub, CKA_PUBLIC_EXPONENT);
	static const uint8_t f4[] = { 0x01, 0x00, 0x01 };
	CK_ULONG bits;

	switch (m->mechanism) {
	case CKM_EC_KEY_PAIR_GEN:
		if (same(p, oid_p256, sizeof(oid_p256)))
			g->type = P11B_KEY_EC_P256;
		else if (same(p, oid_p384, sizeof(oid_p384)))
			g->type = P11B_KEY_EC_P384;
		else if (same(p, oid_ed25519, sizeof(oid_ed25519)) ||
		    same(p, name_ed25519, sizeof(name_ed25519)))
			g->type = P11B_KEY_ED25519;
		else
			return p == NULL ? CKR_TEMPLATE_INCOMPLETE :
			    CKR_CURVE_NOT_SUPPORTED;
		return CKR_OK;
	case CKM_EC_EDWARDS_KEY_PAIR_GEN:
		if (p != NULL && !same(p, oid_ed25519, sizeof(oid_ed25519)) &&
		    !same(p, name_ed25519, sizeof(name_ed25519)))
			return CKR_CURVE_NOT_SUPPORTED;
		g->type = P11B_KEY_ED25519;
		return CKR_OK;
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		if (attr_ulong(pub, npub, CKA_MODULUS_BITS, &bits) != 0)
			return CKR_TEMPLATE_INCOMPLETE;
		if (bits != 2048 && bits != 3072)
			return CKR_KEY_SIZE_RANGE;
		/* Only F4, and any encoding of it without leading junk. */
		if (e != NULL && !same(e, f4, sizeof(f4)))
			return CKR_ATTRIBUTE_VALUE_INVALID;
		g->type = P11B_KEY_RSA;
		g->bits = (unsigned int)bits;
		return CKR_OK;
	default:
		return CKR_MECHANISM_INVALID;
	}
}

/* The object with this class and CKA_ID, just loaded. */
static CK_OBJECT_HANDLE
handle_of(CK_OBJECT_CLASS cls, const struct gen_req *g)
{
	CK_ATTRIBUTE t[2] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)g->id, g->idlen },
	};
	CK_OBJECT_HANDLE *found, h = CK_INVALID_HANDLE;
	size_t n;

	if (object_match(t, 2, &found, &n) != CKR_OK)
		return CK_INVALID_HANDLE;
	if (n > 0)
		h = found[n - 1];
	free(found);
	return h;
}

static CK_RV
generate(CK_SESSION_HANDLE h, struct gen_req *g)
{
	struct p11b_key_info ki;
	struct session *s;
	struct link *l;
	uint8_t *spki = NULL;
	size_t spkilen = 0;
	int r;
	CK_RV rv;

	if ((rv = session_get(h, &s)) != CKR_OK)
		return rv;
	if (!(s->flags & CKF_RW_SESSION)) {
		session_put(s);
		return CKR_SESSION_READ_ONLY;
	}
	if ((rv = link_get(&l)) != CKR_OK) {
		session_put(s);
		return rv;
	}
	/* Never repeated on a new connection: it would make a second key. */
	r = p11b_generate_key(link_conn(l), g->label, g->type, g->bits,
	    g->id, g->idlen, &ki, &spki, &spkilen);
	link_put(l, r);
	free(spki);
	session_put(s);
	module_debug("generate %s (%s): %s", g->label,
	    p11b_key_type_name(g->type), p11b_strerror(r));
	if (r != P11B_OK)
		return r == P11B_DENIED ? CKR_TEMPLATE_INCONSISTENT :
		    r == P11B_BAD_REQUEST ? CKR_ATTRIBUTE_VALUE_INVALID :
		    link_ckr(r);
	memcpy(g->id, ki.id, ki.idlen);
	g->idlen = ki.idlen;
	object_invalidate();
	return object_load(0);
}

CK_RV
C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_ATTRIBUTE *pubt,
    CK_ULONG npub, CK_ATTRIBUTE *privt, CK_ULONG npriv,
    CK_OBJECT_HANDLE *pubp, CK_OBJECT_HANDLE *privp)
{
	struct gen_req g;
	CK_RV rv;

	if (!module_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (m == NULL || pubp == NULL || privp == NULL ||
	    (pubt == NULL && npub > 0) || (privt == NULL && npriv > 0))
		return CKR_ARGUMENTS_BAD;
	memset(&g, 0, sizeof(g));
	if ((rv = pair_type(&g, m, pubt, npub)) != CKR_OK ||
	    (rv = check_private(privt, npriv)) != CKR_OK ||
	    (rv = name_key(&g, privt, npriv, pubt, npub)) != CKR_OK ||
	    (rv = generate(h, &g)) != CKR_OK)
		return rv;
	*privp = handle_of(CKO_PRIVATE_KEY, &g);
	*pubp = handle_of(CKO_PUBLIC_KEY, &g);
	/* Made, but hidden from this process (P11BROKER_KEYS, say). */
	if (*privp == CK_INVALID_HANDLE || *pubp == CK_INVALID_HANDLE)
		return CKR_FUNCTION_FAILED;
	return CKR_OK;
}

CK_RV
C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_ATTRIBUTE *t,
    CK_ULONG n, CK_OBJECT_HANDLE *kp)
{
	struct gen_req g;
	CK_ULONG len;
	CK_RV rv;

	if (!module_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (m == NULL || kp == NULL || (t == NULL && n > 0))
		return CKR_ARGUMENTS_BAD;
	if (m->mechanism != CKM_GENERIC_SECRET_KEY_GEN)
		return CKR_MECHANISM_INVALID;
	memset(&g, 0, sizeof(g));
	if (attr_ulong(t, n, CKA_VALUE_LEN, &len) != 0)
		return CKR_TEMPLATE_INCOMPLETE;
	if (len != 32 && len != 48 && len != 64)
		return CKR_KEY_SIZE_RANGE;
	g.type = P11B_KEY_SECRET;
	g.bits = (unsigned int)len * 8;
	if ((rv = check_private(t, n)) != CKR_OK ||
	    (rv = name_key(&g, t, n, NULL, 0)) != CKR_OK ||
	    (rv = generate(h, &g)) != CKR_OK)
		return rv;
	if ((*kp = handle_of(CKO_SECRET_KEY, &g)) == CK_INVALID_HANDLE)
		return CKR_FUNCTION_FAILED;
	return CKR_OK;
}

static const struct {
	CK_MECHANISM_TYPE	 type;
	CK_ULONG		 min, max;	/* bits; bytes for secrets */
	CK_FLAGS		 flags;
} gen_mechs[GENERATE_MECHS] = {
	{ CKM_EC_KEY_PAIR_GEN, 256, 384, CKF_HW | CKF_GENERATE_KEY_PAIR |
	    CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS },
	{ CKM_EC_EDWARDS_KEY_PAIR_GEN, 255, 255, CKF_HW |
	    CKF_GENERATE_KEY_PAIR },
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, 3072, CKF_HW |
	    CKF_GENERATE_KEY_PAIR },
	{ CKM_GENERIC_SECRET_KEY_GEN, 32, 64, CKF_HW | CKF_GENERATE },
};

/*
 * Offered whatever the policy says: whether this caller may generate,
 * and in which keyspace, is the broker's answer to the request.
 */
size_t
generate_mechs(CK_MECHANISM_TYPE *out)
{
	size_t i;

	for (i = 0; i < GENERATE_MECHS; i++)
		out[i] = gen_mechs[i].type;
	return GENERATE_MECHS;
}

CK_RV
generate_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
	size_t i;

	for (i = 0; i < GENERATE_MECHS; i++)
		if (gen_mechs[i].type == type) {
			info->ulMinKeySize = gen_mechs[i].min;
			info->ulMaxKeySize = gen_mechs[i].max;
			info->flags = gen_mechs[i].flags;
			return CKR_OK;
		}
	return CKR_MECHANISM_INVALID;
}
