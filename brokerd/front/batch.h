/*
 * Batches (proto/README.md, "Batches"): many inputs for one key,
 * algorithm and operation, decided item by item and sent to one signer
 * worker as one job.
 */
#ifndef BATCH_H
#define BATCH_H

#include "broker.h"

/* A decoded batch request (req->batch), after the audit-refusal check. */
void	batch_handle(struct broker *b, struct conn *c, struct request_ctx *rq,
	    const struct wire_request *req);

#endif /* BATCH_H */
