/*
 * The front <-> signer job vocabulary (job.h): copying, merging and
 * freeing the keys a signer announces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algs.h"
#include "config.h"
#include "job.h"

void
key_info_free(struct key_info *keys, size_t nkeys)
{
	size_t i;

	for (i = 0; keys != NULL && i < nkeys; i++) {
		free(keys[i].spki);
		free(keys[i].cert);
		free(keys[i].chain);
	}
	free(keys);
}

static int
copy_bytes(uint8_t **dst, const uint8_t *src, size_t len)
{
	*dst = NULL;
	if (len == 0)
		return 0;
	if ((*dst = malloc(len)) == NULL)
		return -1;
	memcpy(*dst, src, len);
	return 0;
}

struct key_info *
key_info_dup(const struct key_info *keys, size_t n, size_t room)
{
	struct key_info *out;
	size_t i;

	if ((out = calloc(n + room + 1, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (key_info_copy(&out[i], &keys[i]) != 0) {
			key_info_free(out, i + 1);
			return NULL;
		}
	return out;
}

int
key_info_copy(struct key_info *dst, const struct key_info *src)
{
	*dst = *src;
	if (copy_bytes(&dst->spki, src->spki, src->spkilen) != 0 ||
	    copy_bytes(&dst->cert, src->cert, src->certlen) != 0 ||
	    copy_bytes(&dst->chain, src->chain, src->chainlen) != 0) {
		free(dst->spki);
		free(dst->cert);
		dst->spki = dst->cert = dst->chain = NULL;
		return -1;
	}
	return 0;
}

static void
key_info_clear(struct key_info *ki)
{
	free(ki->spki);
	free(ki->cert);
	free(ki->chain);
	memset(ki, 0, sizeof(*ki));
}

int
key_info_merge(const struct key_info *have, size_t nhave,
    const struct key_info *add, size_t nadd, size_t nconf,
    struct key_info **outp, size_t *noutp, int *changed, char *err,
    size_t errlen)
{
	struct key_info *out;
	size_t i, j, n = nhave;

	*changed = 0;
	if (nhave < nconf || nadd < nconf) {
		snprintf(err, errlen, "signer: fewer keys than the config has");
		return -1;
	}
	if ((out = key_info_dup(have, nhave, nadd - nconf)) == NULL)
		goto nomem;
	for (i = 0; i < nconf; i++) {
		if (add[i].absent)
			continue;
		if (!out[i].absent) {
			if (memcmp(out[i].identity, add[i].identity,
			    sizeof(add[i].identity)) != 0) {
				snprintf(err, errlen, "key %s: the token "
				    "blocks that hold it hold different "
				    "objects (%s and %s)", add[i].name,
				    out[i].object, add[i].object);
				key_info_free(out, n);
				return -1;
			}
			continue;
		}
		key_info_clear(&out[i]);
		if (key_info_copy(&out[i], &add[i]) != 0)
			goto nomem_out;
		*changed = 1;
	}
	for (i = nconf; i < nadd; i++) {
		for (j = nconf; j < n; j++)
			if (strcmp(out[j].name, add[i].name) == 0)
				break;
		if (j < n)
			continue;
		if (key_info_copy(&out[n], &add[i]) != 0)
			goto nomem_out;
		n++;
		*changed = 1;
	}
	*outp = out;
	*noutp = n;
	return 0;
 nomem_out:
	key_info_free(out, n);
 nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
key_info_alg_fits(enum p11b_alg alg, int key, void *keys)
{
	const struct key_info *ki;

	/* A keyspace (policy/keyspace.h): its keys come and go. */
	if (key >= CONFIG_MAX_KEYS)
		return 1;
	ki = (const struct key_info *)keys + key;
	/* Held by a token block not heard from yet: checked when it is. */
	if (ki->absent)
		return 1;

	return alg_fits_key(alg, ki->type);
}

void
job_result_clear(struct job_result *res)
{
	int status = res->status;
	const char *msg = res->message;

	if (res->out != NULL) {
		explicit_bzero(res->out, res->outlen);
		free(res->out);
	}
	memset(res, 0, sizeof(*res));
	res->status = status;
	res->message = msg;
}
