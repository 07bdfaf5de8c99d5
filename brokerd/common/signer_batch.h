/*
 * A batch between the front and the signer: one job message
 * (SMSG_BATCH_JOB) with one key, operation, algorithm and sign options
 * and up to SMSG_BATCH_MAX inputs, run back to back on one worker's
 * session and answered with one message (SMSG_BATCH_RESULT) holding a
 * result per input, in order.  Same rules as signer_msg.h: every length
 * is checked; a message that fails a check ends the link.
 */
#ifndef SIGNER_BATCH_H
#define SIGNER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "job.h"
#include "signer_msg.h"

#define SMSG_BATCH_MAX		CONFIG_MAX_BATCH_MAX
#define SMSG_BATCH_FIXED	12	/* job body before the items */
#define SMSG_BATCH_ITEM_FIXED	8	/* each item before its bytes */
#define SMSG_BRES_FIXED		4	/* result body before the items */
#define SMSG_BRES_ITEM_FIXED	7	/* each result before its bytes */

struct smsg_batch_item {
	const uint8_t	*in;
	size_t		 inlen;
	const uint8_t	*mac;		/* hmac-verify */
	size_t		 maclen;
};

/*
 * The items of a batch job, and once answered their results (res[i]
 * with its message in msgs[i]).
 */
struct smsg_batch {
	size_t			 n;
	struct smsg_batch_item	*items;		/* malloc'd array */
	struct job_result	*res;		/* NULL until answered */
	char			(*msgs)[SMSG_TEXT_MAX + 1];
};

/*
 * The job: tmpl gives key, op (sign, hmac, hmac-verify), alg, flags and
 * salt; in, mac, stream and random_len must be empty.  The decoder fills
 * tmpl and a malloc'd items array pointing into body.
 */
int	smsg_batch_encode(uint64_t id, const struct job *tmpl,
	    const struct smsg_batch_item *items, size_t n, uint8_t **bufp,
	    size_t *lenp);
int	smsg_batch_decode(const uint8_t *body, size_t len, size_t nkeys,
	    struct job *tmpl, struct smsg_batch_item **itemsp, size_t *np);

/* The results: exactly n of them, as smsg_result_*() checks each. */
int	smsg_batch_result_encode(uint64_t id, const struct job_result *res,
	    size_t n, uint8_t **bufp, size_t *lenp);
int	smsg_batch_result_decode(const uint8_t *body, size_t len, size_t n,
	    struct smsg_batch *b);

/* Free the items array and the results (outputs wiped). */
void	smsg_batch_clear(struct smsg_batch *b);

#endif /* SIGNER_BATCH_H */
