/*
 * The token's objects: one entry per key the caller may use (ListKeys),
 * with its public key and certificate (GetPublicKey) where policy lets the
 * caller read them.
 *
 * Loaded at the first call that needs objects, and again after the module
 * had to reconnect (a restarted broker may offer other keys).  Objects are
 * never freed before C_Finalize and handles are never reused: a key that
 * disappears leaves "gone" objects whose handles fail cleanly, a key that
 * is unchanged keeps its handles across reloads.
 */
#include <sys/types.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "module.h"
#include "wire.h"

#define OBJECT_REFRESH_SECONDS	30

static pthread_mutex_t	 object_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t	 object_load_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct object	**object_table;
static size_t		 object_count, object_cap;
static struct key	**key_table;
static size_t		 key_count, key_cap;
static int		 object_loaded;
static int		 object_stale;	/* a key changed under its name */
static uint64_t		 object_gen;
static time_t		 object_time;

static void
key_free(struct key *key)
{
	if (key == NULL)
		return;
	free(key->spki);
	free(key->cert);
	free(key->chain);
	EVP_PKEY_free(key->pub);
	free(key);
}

/*
 * CKA_ID, the same on all the key's objects: the token object's own, so
 * that it follows the key material and a pkcs11:id= URI or a program
 * that stored it finds the key.  A token object without one gets the
 * broker's identity of the material; only an older broker, which sends
 * neither, leaves a hash of the name.
 */
static void
key_make_id(struct key *key, const struct p11b_key_info *ki)
{
	static const char prefix[] = "p11broker key id:";
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD_CTX *ctx;

	memset(key->id, 0, sizeof(key->id));
	key->idlen = 0;
	if (ki->idlen > 0 && ki->idlen <= sizeof(key->id)) {
		memcpy(key->id, ki->id, ki->idlen);
		key->idlen = ki->idlen;
		return;
	}
	if (ki->identitylen > 0) {
		memcpy(key->id, ki->identity, ki->identitylen);
		key->idlen = ki->identitylen;
		return;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, prefix, sizeof(prefix) - 1) == 1 &&
	    EVP_DigestUpdate(ctx, key->name, strlen(key->name)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &n) == 1 && n >= 16) {
		memcpy(key->id, md, 16);
		key->idlen = 16;
	}
	EVP_MD_CTX_free(ctx);
}

static int
key_is_pair(enum p11b_key_type t)
{
	return t == P11B_KEY_EC_P256 || t == P11B_KEY_EC_P384 ||
	    t == P11B_KEY_EC_P521 || t == P11B_KEY_RSA ||
	    t == P11B_KEY_ED25519;
}

/*
 * The public half, its certificate and chain.  *racedp: the key changed
 * between ListKeys and this answer (a reload), so the load starts over.
 */
static int
key_fetch_public(struct p11b_conn *conn, struct key *key, int *racedp)
{
	struct p11b_public_key pk;
	int r;

	if ((r = p11b_get_public_key_version(conn, key->name, key->version,
	    &pk)) != P11B_OK)
		return r;
	if (pk.identitylen != key->identitylen || (pk.identitylen > 0 &&
	    memcmp(pk.identity, key->identity, pk.identitylen) != 0)) {
		*racedp = 1;
		p11b_public_key_free(&pk);
		return P11B_OK;
	}
	key->spki = pk.spki;
	key->spkilen = pk.spkilen;
	key->cert = pk.cert;
	key->certlen = pk.certlen;
	key->chain = pk.chain;
	key->chainlen = pk.chainlen;
	return P11B_OK;
}

/* A key as the broker describes it now; its public key if we may. */
static CK_RV
key_fetch(struct p11b_conn *conn, const struct p11b_key_version *kv,
    struct key **keyp, int *rcp, int *racedp)
{
	const struct p11b_key_info *ki = &kv->key;
	const uint8_t *p;
	struct key *key;
	int r;

	*keyp = NULL;
	*rcp = P11B_OK;
	if ((key = calloc(1, sizeof(*key))) == NULL)
		return CKR_HOST_MEMORY;
	memcpy(key->name, ki->name, sizeof(key->name));
	key->name[sizeof(key->name) - 1] = '\0';
	key->type = ki->type;
	key->bits = ki->bits;
	key->ops = ki->ops;
	key->algs = ki->algs;
	memcpy(key->label, ki->label, sizeof(key->label));
	key->label[sizeof(key->label) - 1] = '\0';
	key->local = ki->local;
	memcpy(key->identity, ki->identity, sizeof(key->identity));
	key->identitylen = ki->identitylen;
	memcpy(key->version, kv->version, sizeof(key->version));
	key->version[sizeof(key->version) - 1] = '\0';
	key->previous = kv->previous;
	key_make_id(key, ki);
	if (key_is_pair(key->type) && (key->ops & (1U << P11B_OP_PUBKEY))) {
		r = key_fetch_public(conn, key, racedp);
		if (r < 0) {
			/* The stream failed: give up this load. */
			*rcp = r;
			key_free(key);
			return link_ckr(r);
		}
		if (r != P11B_OK)
			module_debug("%s: no public key: %s", key->name,
			    p11b_status_name(r));
		p = key->spki;
		if (key->spki != NULL && (key->pub = d2i_PUBKEY(NULL, &p,
		    (long)key->spkilen)) == NULL)
			module_debug("%s: unreadable public key", key->name);
	}
	*keyp = key;
	return CKR_OK;
}

static int
key_same(const struct key *a, const struct key *b)
{
	return strcmp(a->name, b->name) == 0 && a->type == b->type &&
	    a->bits == b->bits && a->ops == b->ops && a->algs == b->algs &&
	    a->idlen == b->idlen && memcmp(a->id, b->id, a->idlen) == 0 &&
	    strcmp(a->label, b->label) == 0 && a->local == b->local &&
	    a->identitylen == b->identitylen &&
	    memcmp(a->identity, b->identity, a->identitylen) == 0 &&
	    strcmp(a->version, b->version) == 0 &&
	    a->previous == b->previous && a->chainlen == b->chainlen &&
	    (a->chainlen == 0 || memcmp(a->chain, b->chain, a->chainlen) == 0) &&
	    a->spkilen == b->spkilen && a->certlen == b->certlen &&
	    (a->spkilen == 0 || memcmp(a->spki, b->spki, a->spkilen) == 0) &&
	    (a->certlen == 0 || memcmp(a->cert, b->cert, a->certlen) == 0);
}

/* Append to a pointer table (object_mutex held). */
static int
table_add(void ***tablep, size_t *countp, size_t *capp, void *item)
{
	void **nt;
	size_t ncap;

	if (*countp == *capp) {
		ncap = *capp == 0 ? 16 : *capp * 2;
		if ((nt = reallocarray(*tablep, ncap, sizeof(*nt))) == NULL)
			return -1;
		*tablep = nt;
		*capp = ncap;
	}
	(*tablep)[(*countp)++] = item;
	return 0;
}

static CK_RV
object_add(struct key *key, CK_OBJECT_CLASS class, const uint8_t *der,
    size_t derlen, int issuer)
{
	struct attr_set set;
	struct object *obj;
	int r;

	memset(&set, 0, sizeof(set));
	switch (class) {
	case CKO_PRIVATE_KEY:
		r = attrs_private_key(&set, key);
		break;
	case CKO_PUBLIC_KEY:
		r = attrs_public_key(&set, key);
		break;
	case CKO_CERTIFICATE:
		r = attrs_certificate(&set, key, der, derlen, issuer);
		break;
	default:
		r = attrs_secret(&set, key, class);
		break;
	}
	if (r != 0 || (obj = calloc(1, sizeof(*obj))) == NULL) {
		attrs_free(set.attrs, set.n);
		return r > 0 ? CKR_OK : CKR_HOST_MEMORY;
	}
	obj->class = class;
	obj->key = key;
	obj->attrs = set.attrs;
	obj->nattrs = set.n;
	obj->cert = der;
	obj->certlen = derlen;
	pthread_mutex_lock(&object_mutex);
	obj->handle = object_count + 1;
	r = table_add((void ***)&object_table, &object_count, &object_cap,
	    obj);
	pthread_mutex_unlock(&object_mutex);
	if (r != 0) {
		attrs_free(obj->attrs, obj->nattrs);
		free(obj);
		return CKR_HOST_MEMORY;
	}
	return CKR_OK;
}

/* The key's certificate, then one object per issuer in its chain. */
static CK_RV
object_add_certs(struct key *key)
{
	size_t off, n;
	int issuer = 1;
	CK_RV rv;

	if (key->cert == NULL)
		return CKR_OK;
	if ((rv = object_add(key, CKO_CERTIFICATE, key->cert, key->certlen,
	    0)) != CKR_OK)
		return rv;
	for (off = 0; off < key->chainlen; off += n, issuer++) {
		/* The library checked each entry is one DER element. */
		if ((n = wire_der_len(key->chain + off,
		    key->chainlen - off)) == 0)
			break;
		if ((rv = object_add(key, CKO_CERTIFICATE, key->chain + off,
		    n, issuer)) != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

/* The objects that stand for one key. */
static CK_RV
object_add_key(struct key *key)
{
	CK_RV rv = CKR_OK;

	if (key_is_pair(key->type)) {
		if (key->ops & (1U << P11B_OP_SIGN))
			rv = object_add(key, CKO_PRIVATE_KEY, NULL, 0, 0);
		if (rv == CKR_OK && key->pub != NULL)
			rv = object_add(key, CKO_PUBLIC_KEY, NULL, 0, 0);
		if (rv == CKR_OK)
			rv = object_add_certs(key);
	} else if (key->type == P11B_KEY_SECRET)
		rv = object_add(key, CKO_SECRET_KEY, NULL, 0, 0);
	else if (key->type == P11B_KEY_DATA &&
	    (key->ops & (1U << P11B_OP_SECRET)))
		rv = object_add(key, CKO_DATA, NULL, 0, 0);
	return rv;
}

/* Mark the objects of keys that the new list does not keep (lock held). */
static void
object_mark(struct key *const *keep, size_t nkeep)
{
	size_t i, j;

	for (i = 0; i < object_count; i++) {
		for (j = 0; j < nkeep; j++)
			if (object_table[i]->key == keep[j])
				break;
		object_table[i]->gone = j == nkeep;
	}
}

/* Merge a fresh key list: unchanged keys keep their objects. */
static CK_RV
object_merge(struct key **fresh, size_t n)
{
	struct key **keep;
	size_t i, j;
	CK_RV rv = CKR_OK;

	if ((keep = calloc(n + 1, sizeof(*keep))) == NULL)
		return CKR_HOST_MEMORY;
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&object_mutex);
		for (j = 0; j < key_count; j++)
			if (key_same(key_table[j], fresh[i]))
				break;
		if (j < key_count) {
			keep[i] = key_table[j];
			pthread_mutex_unlock(&object_mutex);
			key_free(fresh[i]);
			fresh[i] = NULL;
			continue;
		}
		if (table_add((void ***)&key_table, &key_count, &key_cap,
		    fresh[i]) != 0) {
			pthread_mutex_unlock(&object_mutex);
			rv = CKR_HOST_MEMORY;
			break;
		}
		pthread_mutex_unlock(&object_mutex);
		keep[i] = fresh[i];
		fresh[i] = NULL;
		if ((rv = object_add_key(keep[i])) != CKR_OK)
			break;
	}
	if (rv == CKR_OK) {
		pthread_mutex_lock(&object_mutex);
		object_mark(keep, n);
		pthread_mutex_unlock(&object_mutex);
	}
	free(keep);
	return rv;
}

/* The keys this process is shown ($P11BROKER_KEYS, ..._KEY_TYPES). */
static size_t
object_filter(struct p11b_key_version *infos, size_t n)
{
	size_t i, kept = 0;

	for (i = 0; i < n; i++) {
		if (!filter_shows(infos[i].key.name, infos[i].key.type)) {
			module_debug("%s: hidden by the key filter",
			    infos[i].key.name);
			continue;
		}
		if (kept != i)
			infos[kept] = infos[i];
		kept++;
	}
	return kept;
}

/* At most this many tries when a reload races a load. */
#define OBJECT_LOAD_TRIES	3

static CK_RV
object_reload(void)
{
	struct p11b_key_version *infos = NULL;
	struct key **fresh = NULL;
	struct link *l;
	size_t i, n = 0;
	int r, tries = 0, raced, loads = 0;
	CK_RV rv;

	if ((rv = link_get(&l)) != CKR_OK)
		return rv;
 again:
	do {
		/* Every version of a key: objects of their own. */
		r = p11b_list_key_versions(link_conn(l), &infos, &n);
	} while (link_again(&l, r, &tries));
	if (r != P11B_OK) {
		link_put(l, r);
		/* Not even a list: no key at all for this caller. */
		return r == P11B_DENIED ? CKR_OK : link_ckr(r);
	}
	n = object_filter(infos, n);
	if ((fresh = calloc(n + 1, sizeof(*fresh))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	raced = 0;
	for (i = 0; i < n; i++)
		if ((rv = key_fetch(link_conn(l), &infos[i], &fresh[i],
		    &r, &raced)) != CKR_OK)
			goto out;
	if (raced && ++loads < OBJECT_LOAD_TRIES) {
		for (i = 0; i < n; i++)
			key_free(fresh[i]);
		free(fresh);
		free(infos);
		fresh = NULL;
		infos = NULL;
		goto again;
	}
	rv = raced ? CKR_DEVICE_ERROR : object_merge(fresh, n);
 out:
	link_put(l, r);
	if (fresh != NULL)
		for (i = 0; i < n; i++)
			key_free(fresh[i]);
	free(fresh);
	free(infos);
	return rv;
}

/*
 * Make sure the objects reflect the broker we are connected to; with
 * refresh (a new search), also what it offers now, at most every
 * OBJECT_REFRESH_SECONDS (a reloaded policy or key set).
 */
CK_RV
object_load(int refresh)
{
	struct timespec now;
	CK_RV rv = CKR_OK;
	int stale;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&object_load_mutex);
	pthread_mutex_lock(&object_mutex);
	stale = object_stale;
	object_stale = 0;
	pthread_mutex_unlock(&object_mutex);
	if (!object_loaded || link_generation() != object_gen || stale ||
	    (refresh && now.tv_sec - object_time >= OBJECT_REFRESH_SECONDS)) {
		if ((rv = object_reload()) != CKR_OK && stale) {
			pthread_mutex_lock(&object_mutex);
			object_stale = 1;
			pthread_mutex_unlock(&object_mutex);
		} else if (rv == CKR_OK) {
			object_loaded = 1;
			/* The generation of the connection just used. */
			object_gen = link_generation();
			object_time = now.tv_sec;
		}
	}
	pthread_mutex_unlock(&object_load_mutex);
	return rv;
}

/*
 * The broker refused a request naming this key's identity: the name now
 * stands for other material.  Its objects go (their handles fail from
 * now on) and the next search loads the new key under new handles.
 */
void
object_key_changed(const struct key *key)
{
	size_t i;

	pthread_mutex_lock(&object_mutex);
	for (i = 0; i < object_count; i++)
		if (object_table[i]->key == key)
			object_table[i]->gone = 1;
	object_stale = 1;
	pthread_mutex_unlock(&object_mutex);
}

/* A key was made (generate.c): the next load asks the broker again. */
void
object_invalidate(void)
{
	pthread_mutex_lock(&object_mutex);
	object_stale = 1;
	pthread_mutex_unlock(&object_mutex);
}

struct object *
object_find(CK_OBJECT_HANDLE h)
{
	struct object *obj = NULL;

	pthread_mutex_lock(&object_mutex);
	if (h != CK_INVALID_HANDLE && h <= object_count)
		obj = object_table[h - 1];
	pthread_mutex_unlock(&object_mutex);
	return obj;
}

const struct attr *
object_attr(const struct object *obj, CK_ATTRIBUTE_TYPE type)
{
	size_t i;

	for (i = 0; i < obj->nattrs; i++)
		if (obj->attrs[i].type == type)
			return &obj->attrs[i];
	return NULL;
}

static int
object_matches(const struct object *obj, const CK_ATTRIBUTE *templ,
    CK_ULONG count)
{
	const struct attr *a;
	CK_ULONG i;

	for (i = 0; i < count; i++) {
		a = object_attr(obj, templ[i].type);
		/* Secret values are never compared: no oracle. */
		if (a == NULL || a->flags != 0 ||
		    a->len != templ[i].ulValueLen ||
		    (a->len > 0 && (templ[i].pValue == NULL ||
		    memcmp(a->value, templ[i].pValue, a->len) != 0)))
			return 0;
	}
	return 1;
}

CK_RV
object_match(const CK_ATTRIBUTE *templ, CK_ULONG count,
    CK_OBJECT_HANDLE **handlesp, size_t *np)
{
	CK_OBJECT_HANDLE *handles;
	size_t i, n = 0;

	pthread_mutex_lock(&object_mutex);
	if ((handles = calloc(object_count + 1, sizeof(*handles))) == NULL) {
		pthread_mutex_unlock(&object_mutex);
		return CKR_HOST_MEMORY;
	}
	for (i = 0; i < object_count; i++)
		if (!object_table[i]->gone &&
		    object_matches(object_table[i], templ, count))
			handles[n++] = object_table[i]->handle;
	pthread_mutex_unlock(&object_mutex);
	*handlesp = handles;
	*np = n;
	return CKR_OK;
}

void
object_free_all(void)
{
	size_t i;

	for (i = 0; i < object_count; i++) {
		attrs_free(object_table[i]->attrs, object_table[i]->nattrs);
		free(object_table[i]);
	}
	for (i = 0; i < key_count; i++)
		key_free(key_table[i]);
	free(object_table);
	free(key_table);
	object_table = NULL;
	key_table = NULL;
	object_count = object_cap = key_count = key_cap = 0;
	object_loaded = 0;
	object_stale = 0;
}

/*
 * Around fork(): the child gets the tables in a consistent state.  A
 * reload in progress (a broker round trip) finishes first.
 */
void
object_fork_lock(int lock)
{
	if (lock) {
		pthread_mutex_lock(&object_load_mutex);
		pthread_mutex_lock(&object_mutex);
	} else {
		pthread_mutex_unlock(&object_mutex);
		pthread_mutex_unlock(&object_load_mutex);
	}
}

/* In a child after fork(): the parent's locks are not ours. */
void
object_forget(void)
{
	pthread_mutex_init(&object_mutex, NULL);
	pthread_mutex_init(&object_load_mutex, NULL);
	object_free_all();
}
