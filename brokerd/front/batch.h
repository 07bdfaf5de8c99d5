/*
 * Batches (proto/README.md, "Batches"): many inputs for one key,
 * algorithm and operation, decided item by item and sent to one signer
 * worker as one job.
 */
#ifndef BATCH_H
#define BATCH_H

#include "broker.h"

/*
 * The checks a single keyed request passes (dispatch.c: the key, the
 * expected identity, the algorithm); -1 when refused (and answered).
 */
typedef int (*batch_check_fn)(struct broker *b, struct conn *c,
	    struct request_ctx *rq, const struct wire_request *req);

/* A decoded batch request (req->batch), after the audit-refusal check. */
void	batch_handle(struct broker *b, struct conn *c, struct request_ctx *rq,
	    const struct wire_request *req, batch_check_fn check_keyed);

#endif /* BATCH_H */
