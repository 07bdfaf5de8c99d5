/* The front <-> signer job vocabulary (job.h): freeing what it owns. */
#include <stdlib.h>
#include <string.h>

#include "job.h"

void
key_info_free(struct key_info *keys, size_t nkeys)
{
	size_t i;

	for (i = 0; keys != NULL && i < nkeys; i++) {
		free(keys[i].spki);
		free(keys[i].cert);
	}
	free(keys);
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
