/*
 * What dispatch.c lends to stream.c: the one place every request is
 * answered (audit line, counters), and the checks of a keyed request.
 */
#ifndef DISPATCH_INT_H
#define DISPATCH_INT_H

#include "broker.h"

void	dispatch_answer(struct broker *b, struct conn *c,
	    const struct request_ctx *rq, struct wire_response *resp);
void	dispatch_refuse(struct broker *b, struct conn *c,
	    const struct request_ctx *rq, int status, const char *message);
/*
 * Key, policy (for an input of inlen bytes) and algorithm: 0 when the
 * request may go on, with the deciding rule's max-input (0: none) in
 * *max_input; -1 when it was refused (and answered).
 */
int	dispatch_check(struct broker *b, struct conn *c,
	    struct request_ctx *rq, const struct wire_request *req,
	    size_t inlen, size_t *max_input);
/* The front's memory a job holds until it is answered. */
size_t	dispatch_pending_bytes(const struct job *job);

#endif /* DISPATCH_INT_H */
