/* The front <-> signer job vocabulary (job.h): freeing what it owns. */
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

int
key_info_alg_fits(enum p11b_alg alg, int key, void *keys)
{
	const struct key_info *ki;

	/* A keyspace (policy/keyspace.h): its keys come and go. */
	if (key >= CONFIG_MAX_KEYS)
		return 1;
	ki = (const struct key_info *)keys + key;

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
