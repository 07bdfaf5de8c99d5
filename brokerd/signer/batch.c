/*
 * A batch job (common/signer_batch.h) in the signer: every item run back
 * to back on the worker's one session, with the same checks
 * token_execute() makes for a single job, and one result message for
 * all of them.  A session fault stops the batch: the items not yet run
 * answer TOKEN_UNAVAILABLE and the caller starts the signer over.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "signer.h"
#include "signer_batch.h"
#include "token.h"

int
signer_batch_run(struct token *tok, struct token_session *sess,
    uint64_t id, const uint8_t *body, size_t len, uint8_t **outp,
    size_t *outlenp)
{
	struct smsg_batch_item *items;
	struct job_result *res;
	struct job tmpl, job;
	size_t i, n, nkeys;
	int r;

	(void)token_keyset_info(token_current_keys(tok), &nkeys);
	if (smsg_batch_decode(body, len, nkeys, &tmpl, &items, &n) !=
	    SMSG_OK)
		fatalx("malformed batch job from the front");
	if ((res = calloc(n, sizeof(*res))) == NULL)
		fatalx("out of memory");
	for (i = 0; i < n; i++) {
		if (token_session_faulted(sess)) {
			res[i].status = P11B_TOKEN_UNAVAILABLE;
			res[i].message = "the token failed during the batch";
			continue;
		}
		job = tmpl;
		job.in = (uint8_t *)(uintptr_t)items[i].in;
		job.inlen = items[i].inlen;
		job.mac = (uint8_t *)(uintptr_t)items[i].mac;
		job.maclen = items[i].maclen;
		token_execute(sess, &job, &res[i]);
	}
	r = smsg_batch_result_encode(id, res, n, outp, outlenp);
	for (i = 0; i < n; i++)
		job_result_clear(&res[i]);
	free(res);
	free(items);
	return r == SMSG_OK ? 0 : -1;
}
