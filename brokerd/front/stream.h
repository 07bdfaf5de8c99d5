/*
 * Streamed inputs (proto/README.md, "Streams"): a sign, hmac or
 * hmac-verify request with more set opens a stream; StreamData frames
 * under its id carry the rest.  The policy decides at the first frame;
 * the stream is one decision (one answer, one audit line, one count)
 * whatever its length.  Parts go to the signer as they come, at most
 * STREAM_PARTS_OUT at a time: the connection's frames wait meanwhile,
 * so that a stream holds a few frames of the front's memory, never its
 * input.  Bounds: max-input (bytes), frame-timeout (between parts),
 * stream-timeout (in all), max-streams and max-streams-per-uid.
 */
#ifndef STREAM_H
#define STREAM_H

#include <time.h>

#include "broker.h"

#define STREAM_PARTS_OUT	2	/* parts of one stream at the signer */

/*
 * A stream's first frame, past the key, policy and algorithm checks
 * (dispatch.c); rule_max: the deciding rule's max-input, 0 for none.
 */
void	stream_begin(struct broker *b, struct conn *c, struct request_ctx *rq,
	    const struct wire_request *req, size_t rule_max);
/* The first frame was refused: its further parts are dropped unanswered. */
void	stream_refused(struct broker *b, const struct conn *c, uint64_t id);
void	stream_data(struct broker *b, struct conn *c,
	    const struct wire_request *req);
/* A StreamData frame with invalid fields, for the stream with this id. */
void	stream_bad_part(struct broker *b, struct conn *c, uint64_t id);
/* Before the connection goes: its streams end (audited as dropped). */
void	stream_conn_closed(struct broker *b, struct conn *c);
/* Once a second: streams over frame-timeout or stream-timeout end. */
void	stream_expire(struct broker *b, time_t now);

#endif /* STREAM_H */
