/*
 * One decoded frame through policy to an answer or the signer.
 */
#ifndef DISPATCH_H
#define DISPATCH_H

#include "broker.h"

/* dispatch.c */
void	dispatch_frame(struct broker *b, struct conn *c, const uint8_t *body,
	    size_t len);
/* Answer a frame that could not be read (id 0), then hang up. */
void	dispatch_frame_error(struct broker *b, struct conn *c, int status,
	    const char *message);

/* generate.c: GENERATE_KEY in a keyspace. */
void	generate_handle(struct broker *b, struct conn *c,
	    struct request_ctx *rq, const struct wire_request *req);
/* The key index the policy knows key by: its own, or its keyspace's. */
int	generate_policy_index(const struct broker *b, int key);

#endif /* DISPATCH_H */
