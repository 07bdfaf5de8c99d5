/*
 * Answering a request: the audit line (or the summed refusal of a caller
 * the policy does not know), the counters, the reply.  dispatch.c and
 * stream.c answer through here.
 */
#ifndef ANSWER_H
#define ANSWER_H

#include "broker.h"

void	answer_send(struct broker *b, struct conn *c,
	    const struct request_ctx *rq, struct wire_response *resp);
void	answer_refuse(struct broker *b, struct conn *c,
	    const struct request_ctx *rq, int status, const char *message);

#endif /* ANSWER_H */
