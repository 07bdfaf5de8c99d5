/*
 * Internal to libp11broker: one request/response exchange on a (possibly
 * shared) connection, and the thread's last message.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "p11broker_vocab.h"

struct p11b_conn;
struct wire_request;
struct wire_response;

/*
 * Send req (its id is assigned here) and wait for the response with the
 * same id.  Returns 0 with *resp filled (free it with wire_response_free())
 * or a negative P11B_ERR_* with the thread's message set.
 */
int	conn_call(struct p11b_conn *conn, struct wire_request *req,
	    struct wire_response *resp);

/*
 * A streamed request (client/stream.c): conn_stream_open() assigns the
 * id and sends the first frame; conn_stream_send() sends the next ones
 * under that id (1: the broker has answered already, send no more);
 * conn_stream_finish() waits for the one answer and frees the stream.
 * A failed send fails the connection; finish then says so.
 */
struct conn_stream;
int	conn_stream_open(struct p11b_conn *conn, struct wire_request *req,
	    struct conn_stream **csp);
int	conn_stream_send(struct p11b_conn *conn, struct conn_stream *cs,
	    struct wire_request *req);
int	conn_stream_finish(struct p11b_conn *conn, struct conn_stream *cs,
	    struct wire_response *resp);

/*
 * Inputs larger than this go as a stream (client/stream.c): a request
 * must fit the broker's default max-frame.
 */
#define CLIENT_WHOLE_MAX	(60 * 1024)
/* What a whole request may carry beyond the stream's own fields. */
struct stream_opts {
	const uint8_t	*identity;	/* the key expected, or NULL */
	size_t		 identitylen;
	long		 salt;		/* RSA-PSS salt length, or -1 */
};
int	stream_whole(struct p11b_conn *conn, enum p11b_op op, const char *key,
	    enum p11b_alg alg, int flags, const struct stream_opts *opts,
	    const uint8_t *in, size_t inlen, const uint8_t *mac, size_t maclen,
	    uint8_t **outp, size_t *outlenp, int *validp);

/*
 * How many times the connection's socket has been replaced (a broker
 * that closed it or was restarted): its key set may have changed.
 */
uint64_t	conn_generation(struct p11b_conn *conn);

/* A successful answer's key version, for p11b_last_version() (versions.c). */
void	client_note_version(const struct wire_response *resp);

/* Set the thread's p11b_last_message(); control characters are replaced. */
void	conn_set_message(const char *msg);

#endif /* CLIENT_H */
