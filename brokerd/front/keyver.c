/* Key versions in the front (keyver.h). */
#include <string.h>

#include "broker.h"
#include "crypto.h"
#include "keyver.h"
#include "versions.h"

static int
ver_find(const struct broker *b, const char *name, const char *version)
{
	return versions_find(b->conf->keys, b->conf->nkeys, name, version);
}

static int
ver_next(const struct broker *b, int i)
{
	return versions_next(b->conf->keys, b->conf->nkeys, i);
}

void
keyver_note(const struct broker *b, struct request_ctx *rq)
{
	rq->version[0] = '\0';
	if (rq->key_index >= 0 && (size_t)rq->key_index < b->conf->nkeys)
		strlcpy(rq->version, b->conf->keys[rq->key_index].version,
		    sizeof(rq->version));
}

int
keyver_select(const struct broker *b, struct request_ctx *rq,
    const char *version)
{
	int i;

	/* A keyspace key (past the configured ones) has no versions. */
	if (rq->key_index >= 0 && (size_t)rq->key_index >= b->conf->nkeys) {
		if (version != NULL && version[0] != '\0')
			return -1;
		rq->version[0] = '\0';
		return rq->key_index;
	}
	if ((i = ver_find(b, rq->key, version)) == -1 || (size_t)i >= b->nkeys)
		return -1;
	strlcpy(rq->version, b->conf->keys[i].version, sizeof(rq->version));
	return i;
}

int
keyver_pin(const struct broker *b, struct request_ctx *rq,
    const uint8_t *identity)
{
	int i;

	for (i = rq->key_index; i != -1; i = ver_next(b, i))
		if ((size_t)i < b->nkeys && memcmp(b->keys[i].identity,
		    identity, P11B_IDENTITY_LEN) == 0)
			break;
	if (i == -1)
		return -1;
	rq->pinned = 1;
	rq->version_key = i;
	rq->version[0] = '\0';
	if ((size_t)i < b->conf->nkeys)
		strlcpy(rq->version, b->conf->keys[i].version,
		    sizeof(rq->version));
	return 0;
}

/* Can entry i check a MAC made with alg? */
static int
version_fits(const struct broker *b, int i, enum p11b_alg alg)
{
	const struct key_info *ki = &b->keys[i];

	return alg_fits_key(alg, ki->type) && (ki->algs & (1U << alg));
}

int
keyver_verify_next(struct broker *b, struct request_ctx *rq,
    struct work *work)
{
	int i;

	if (work->job.op != P11B_OP_HMAC_VERIFY || rq->pinned ||
	    work->job.stream != JOB_WHOLE || work->res.status != P11B_OK ||
	    work->res.valid)
		return 0;
	/* By name: a reload since may have moved or dropped the version. */
	i = ver_find(b, rq->key, rq->version);
	while ((i = ver_next(b, i)) != -1 &&
	    ((size_t)i >= b->nkeys || !version_fits(b, i, work->job.alg)))
		;
	if (i == -1)
		return 0;
	if (work->gen != b->keyset) {
		keygen_hold(b->keyset);
		keygen_release(work->gen);
		work->gen = b->keyset;
	}
	strlcpy(rq->version, b->conf->keys[i].version, sizeof(rq->version));
	job_result_clear(&work->res);
	memset(&work->res, 0, sizeof(work->res));
	work->job.key = i;
	joblink_submit(b->jobs, work);
	return 1;
}

int
keyver_previous(const struct broker *b, const struct request_ctx *rq)
{
	int i;

	if (rq->version[0] == '\0' ||
	    (i = ver_find(b, rq->key, rq->version)) == -1)
		return 0;
	return b->conf->keys[i].previous;
}

void
keyver_list_entry(const struct broker *b, size_t i,
    struct wire_key_version *kv, uint32_t *ops)
{
	memset(kv, 0, sizeof(*kv));
	if (i >= b->conf->nkeys)
		return;
	strlcpy(kv->version, b->conf->keys[i].version, sizeof(kv->version));
	kv->previous = b->conf->keys[i].previous;
	/* An older version only checks: its public key, its MACs. */
	if (kv->previous)
		*ops &= 1U << P11B_OP_PUBKEY | 1U << P11B_OP_HMAC_VERIFY;
}
