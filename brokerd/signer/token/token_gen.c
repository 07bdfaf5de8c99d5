/*
 * Keyspace keys on the signer: found on the token at load (every object
 * whose label falls in a keyspace), looked up by label and CKA_ID when a
 * job names one this process has not seen (another signer made it), and
 * generated.  New entries are appended to the current keyset under one
 * lock, which also serialises every use of the control session here;
 * workers read entries below the published count without it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "keyspace.h"
#include "log.h"
#include "token_int.h"

#define FIND_BATCH	64
#define GEN_ID_LEN	16		/* a random CKA_ID when none is given */

static pthread_mutex_t space_lock = PTHREAD_MUTEX_INITIALIZER;

/* DER of the curves' OIDs, as CKA_EC_PARAMS holds them. */
static const uint8_t der_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const uint8_t der_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t der_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

size_t
token_keyset_count(const struct token_keyset *ks)
{
	return __atomic_load_n(&ks->nkeys, __ATOMIC_ACQUIRE);
}

size_t
token_configured_keys(const struct token *tok)
{
	return tok->keys->nconf;
}

/* The keyspace key with this label (and CKA_ID, when given), or -1. */
static int
space_find(const struct token_keyset *ks, const char *label,
    const uint8_t *id, size_t idlen)
{
	size_t i, n = token_keyset_count(ks);

	for (i = ks->nconf; i < n; i++)
		if (strcmp(ks->info[i].name, label) == 0 &&
		    (idlen == 0 || (ks->info[i].idlen == idlen &&
		    memcmp(ks->info[i].id, id, idlen) == 0)))
			return (int)i;
	return -1;
}

/* Is obj one of the configured keys (never a keyspace key as well)? */
static int
configured(const struct token_keyset *ks, CK_OBJECT_HANDLE obj)
{
	size_t i;

	for (i = 0; i < ks->nconf; i++)
		if (ks->handles[i].obj == obj)
			return 1;
	return 0;
}

/*
 * Resolve the object labelled label as a keyspace key and append it.
 * Caller holds space_lock.  -1: not there, or not a usable key.
 */
static int
space_append(struct token *tok, struct token_keyset *ks, const char *label,
    int space)
{
	struct token_conf tc;
	struct key_ref ref;
	struct key_handles *kh;
	struct key_info *ki;
	char err[256];
	size_t n = ks->nkeys;

	if (n >= ks->cap) {
		log_warnx("keyspace: more than %d keys; %s left out",
		    TOKEN_SPACE_KEYS_MAX, label);
		return -1;
	}
	memset(&tc, 0, sizeof(tc));
	tc.path = tok->conf_path;
	memset(&ref, 0, sizeof(ref));
	strlcpy(ref.name, label, sizeof(ref.name));
	ref.kind = KEY_REF_LABEL;
	ref.label = ref.name;
	kh = &ks->handles[n];
	ki = &ks->info[n];
	memset(kh, 0, sizeof(*kh));
	memset(ki, 0, sizeof(*ki));
	if (token_resolve_ref(tok, &tc, &ref, kh, ki, err, sizeof(err)) != 0 ||
	    kh->cls == CKO_DATA || configured(ks, kh->obj)) {
		log_info("keyspace %s: %s left out: %s", tok->spaces[space].name,
		    label, kh->cls == CKO_DATA ? "a data object" :
		    configured(ks, kh->obj) ? "a configured key" : err);
		free(ki->spki);
		free(ki->cert);
		free(ki->chain);
		crypto_pubkey_free(kh->pubkey);
		memset(ki, 0, sizeof(*ki));
		return -1;
	}
	ki->space = space;
	__atomic_store_n(&ks->nkeys, n + 1, __ATOMIC_RELEASE);
	return (int)n;
}

/* A label that names a keyspace key: in a keyspace, a valid key name. */
static int
space_of(const struct token *tok, const struct token_keyset *ks,
    const char *label, size_t len)
{
	size_t i;

	if (len == 0 || len > P11B_KEY_NAME_MAX || strlen(label) != len ||
	    !wire_key_name_valid(label, len))
		return -1;
	int space;

	for (i = 0; i < ks->nconf; i++)	/* a configured name wins */
		if (strcmp(ks->info[i].name, label) == 0)
			return -1;
	/* Another block's keyspace is not made or found here. */
	if ((space = keyspace_of_label(tok->spaces, tok->nspaces, label)) <
	    0 || tok->spaces[space].token != tok->token_index)
		return -1;
	return space;
}

/* The labels of every private and secret key in a keyspace. */
static int
space_labels(struct token *tok, const struct token_keyset *ks,
    char (**labelsp)[P11B_KEY_NAME_MAX + 1], size_t *np)
{
	static const CK_OBJECT_CLASS classes[] = {
		CKO_PRIVATE_KEY, CKO_SECRET_KEY
	};
	CK_OBJECT_HANDLE found[FIND_BATCH];
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	char (*labels)[P11B_KEY_NAME_MAX + 1] = NULL, (*nl)[P11B_KEY_NAME_MAX + 1];
	CK_ULONG nf, j;
	char text[P11B_KEY_NAME_MAX + 1];
	uint8_t *label;
	size_t c, len, n = 0;
	CK_RV rv;

	for (c = 0; c < 2; c++) {
		cls = classes[c];
		if (tok->f->C_FindObjectsInit(tok->control, &t, 1) != CKR_OK)
			continue;
		for (;;) {
			rv = tok->f->C_FindObjects(tok->control, found,
			    FIND_BATCH, &nf);
			if (rv != CKR_OK || nf == 0)
				break;
			for (j = 0; j < nf; j++) {
				if (token_get_attr(tok, tok->control, found[j],
				    CKA_LABEL, &label, &len) != CKR_OK)
					continue;
				/* The attribute has no NUL of its own. */
				if (len == 0 || len > P11B_KEY_NAME_MAX) {
					free(label);
					continue;
				}
				memcpy(text, label, len);
				text[len] = '\0';
				free(label);
				if (space_of(tok, ks, text, len) < 0 ||
				    n >= TOKEN_SPACE_KEYS_MAX ||
				    (nl = reallocarray(labels, n + 1,
				    sizeof(*labels))) == NULL)
					continue;
				labels = nl;
				memcpy(labels[n++], text, len + 1);
			}
		}
		(void)tok->f->C_FindObjectsFinal(tok->control);
	}
	*labelsp = labels;
	*np = n;
	return 0;
}

int
token_space_load(struct token *tok, const struct token_conf *conf,
    struct token_keyset *ks)
{
	char (*labels)[P11B_KEY_NAME_MAX + 1] = NULL;
	size_t i, n = 0;
	int space;

	(void)conf;
	if (tok->nspaces == 0)
		return 0;
	if (space_labels(tok, ks, &labels, &n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		space = space_of(tok, ks, labels[i], strlen(labels[i]));
		if (space >= 0 && space_find(ks, labels[i], NULL, 0) == -1)
			(void)space_append(tok, ks, labels[i], space);
	}
	free(labels);
	log_info("keyspaces: %zu keys found", ks->nkeys - ks->nconf);
	return 0;
}

int
token_resolve_label(struct token_session *sess, struct job *job,
    struct job_result *res)
{
	struct token *tok = sess->tok;
	struct token_keyset *ks = tok->keys;
	int k, space;

	if ((k = space_find(ks, job->label, job->kid, job->kidlen)) >= 0) {
		job->key = k;
		return 0;
	}
	space = space_of(tok, ks, job->label, strlen(job->label));
	if (space < 0) {
		token_result_set(res, P11B_NO_SUCH_KEY, "no such key");
		return -1;
	}
	pthread_mutex_lock(&space_lock);
	if ((k = space_find(ks, job->label, job->kid, job->kidlen)) < 0 &&
	    space_find(ks, job->label, NULL, 0) < 0)
		k = space_append(tok, ks, job->label, space);
	if (k >= 0 && (job->kidlen != 0 && (ks->info[k].idlen != job->kidlen ||
	    memcmp(ks->info[k].id, job->kid, job->kidlen) != 0)))
		k = -1;			/* the label now has another id */
	pthread_mutex_unlock(&space_lock);
	if (k < 0) {
		token_result_set(res, P11B_NO_SUCH_KEY, "no such key");
		return -1;
	}
	job->key = k;
	return 0;
}

/* Any object with this label already (of any class)? */
static int
label_taken(struct token *tok, const char *label)
{
	CK_ATTRIBUTE t = { CKA_LABEL, (void *)label, strlen(label) };
	CK_OBJECT_HANDLE h;
	CK_ULONG n = 0;

	if (tok->f->C_FindObjectsInit(tok->control, &t, 1) != CKR_OK)
		return -1;
	if (tok->f->C_FindObjects(tok->control, &h, 1, &n) != CKR_OK)
		n = 1;
	(void)tok->f->C_FindObjectsFinal(tok->control);
	return n > 0;
}

#define ADD(a, n, t, p, l)	do { (a)[n].type = (t); (a)[n].pValue = \
	(void *)(p); (a)[n].ulValueLen = (l); (n)++; } while (0)

/*
 * The private (or secret) half: a token object, private, sensitive and
 * never extractable, whatever the client asked; signing only.
 */
static CK_ULONG
private_template(CK_ATTRIBUTE *a, const struct job *job, const uint8_t *id,
    size_t idlen)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG n = 0;

	ADD(a, n, CKA_TOKEN, &yes, sizeof(yes));
	ADD(a, n, CKA_PRIVATE, &yes, sizeof(yes));
	ADD(a, n, CKA_SENSITIVE, &yes, sizeof(yes));
	ADD(a, n, CKA_EXTRACTABLE, &no, sizeof(no));
	ADD(a, n, CKA_SIGN, &yes, sizeof(yes));
	ADD(a, n, CKA_DECRYPT, &no, sizeof(no));
	ADD(a, n, CKA_UNWRAP, &no, sizeof(no));
	ADD(a, n, CKA_DERIVE, &no, sizeof(no));
	ADD(a, n, CKA_LABEL, job->label, strlen(job->label));
	ADD(a, n, CKA_ID, id, idlen);
	return n;
}

static CK_RV
generate(struct token *tok, CK_SESSION_HANDLE rw, const struct job *job,
    const uint8_t *id, size_t idlen)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	static CK_BYTE e65537[] = { 0x01, 0x00, 0x01 };
	static CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
	CK_MECHANISM mech = { 0, NULL, 0 };
	CK_ATTRIBUTE pub[8], priv[18];
	CK_OBJECT_HANDLE hpub, hpriv;
	CK_ULONG npub = 0, npriv, bits = job->gen_bits, len = bits / 8;

	npriv = private_template(priv, job, id, idlen);
	ADD(pub, npub, CKA_TOKEN, &yes, sizeof(yes));
	ADD(pub, npub, CKA_VERIFY, &yes, sizeof(yes));
	ADD(pub, npub, CKA_LABEL, job->label, strlen(job->label));
	ADD(pub, npub, CKA_ID, id, idlen);
	switch (job->gen_type) {
	case P11B_KEY_EC_P256:
	case P11B_KEY_EC_P384:
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		if (job->gen_type == P11B_KEY_EC_P256)
			ADD(pub, npub, CKA_EC_PARAMS, der_p256,
			    sizeof(der_p256));
		else
			ADD(pub, npub, CKA_EC_PARAMS, der_p384,
			    sizeof(der_p384));
		break;
	case P11B_KEY_ED25519:
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		ADD(pub, npub, CKA_EC_PARAMS, der_ed25519,
		    sizeof(der_ed25519));
		break;
	case P11B_KEY_RSA:
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		ADD(pub, npub, CKA_MODULUS_BITS, &bits, sizeof(bits));
		ADD(pub, npub, CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537));
		break;
	case P11B_KEY_SECRET:
		mech.mechanism = CKM_GENERIC_SECRET_KEY_GEN;
		ADD(priv, npriv, CKA_KEY_TYPE, &generic, sizeof(generic));
		ADD(priv, npriv, CKA_VALUE_LEN, &len, sizeof(len));
		ADD(priv, npriv, CKA_VERIFY, &yes, sizeof(yes));
		ADD(priv, npriv, CKA_ENCRYPT, &no, sizeof(no));
		ADD(priv, npriv, CKA_WRAP, &no, sizeof(no));
		return tok->f->C_GenerateKey(rw, &mech, priv, npriv, &hpriv);
	case P11B_KEY_NONE:
	case P11B_KEY_EC_P521:
	case P11B_KEY_DATA:
		return CKR_KEY_TYPE_INCONSISTENT;
	}
	return tok->f->C_GenerateKeyPair(rw, &mech, pub, npub, priv, npriv,
	    &hpub, &hpriv);
}

void
token_generate(struct token_session *sess, const struct job *job,
    struct job_result *res, const struct key_info **newp)
{
	struct token *tok = sess->tok;
	struct token_keyset *ks = tok->keys;
	CK_SESSION_HANDLE rw;
	uint8_t id[P11B_ID_MAX];
	size_t idlen = job->kidlen;
	int space, k;
	CK_RV rv;

	memset(res, 0, sizeof(*res));
	*newp = NULL;
	space = space_of(tok, ks, job->label, strlen(job->label));
	if (space < 0 || keyspace_type_of(job->gen_type, job->gen_bits) < 0 ||
	    !(tok->spaces[space].types & (1U << keyspace_type_of(job->gen_type,
	    job->gen_bits)))) {
		token_result_set(res, P11B_DENIED, "not a key this keyspace "
		    "holds");
		return;
	}
	pthread_mutex_lock(&space_lock);
	if (label_taken(tok, job->label) != 0) {
		token_result_set(res, P11B_BAD_REQUEST, "a key with this label "
		    "exists on the token");
		goto out;
	}
	memcpy(id, job->kid, idlen);
	if (idlen == 0) {
		idlen = GEN_ID_LEN;
		if ((rv = tok->f->C_GenerateRandom(tok->control, id,
		    idlen)) != CKR_OK) {
			token_result_ckr(sess, res, "C_GenerateRandom", rv);
			goto out;
		}
	}
	/*
	 * Every other session is read-only: a read-write one lives only
	 * for the generation (creating token objects needs one).
	 */
	if ((rv = tok->f->C_OpenSession(tok->slotid, CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, &rw)) != CKR_OK) {
		token_result_ckr(sess, res, "C_OpenSession(read-write)", rv);
		goto out;
	}
	rv = generate(tok, rw, job, id, idlen);
	(void)tok->f->C_CloseSession(rw);
	if (rv != CKR_OK) {
		log_warnx("keyspace %s: generating %s: %s",
		    tok->spaces[space].name, job->label, token_ckr_name(rv));
		token_result_ckr(sess, res, job->gen_type == P11B_KEY_SECRET ?
		    "C_GenerateKey" : "C_GenerateKeyPair", rv);
		goto out;
	}
	if ((k = space_append(tok, ks, job->label, space)) < 0) {
		token_result_set(res, P11B_INTERNAL, "the new key cannot be "
		    "read back");
		goto out;
	}
	log_info("keyspace %s: generated %s (%s)", tok->spaces[space].name,
	    job->label, ks->info[k].object);
	*newp = &ks->info[k];	/* never moves (token_int.h) */
	token_result_set(res, P11B_OK, "");
 out:
	pthread_mutex_unlock(&space_lock);
}
