/*
 * Internal to libp11broker: one request/response exchange on a (possibly
 * shared) connection, and the thread's last message.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stdint.h>

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
 * How many times the connection's socket has been replaced (a broker
 * that closed it or was restarted): its key set may have changed.
 */
uint64_t	conn_generation(struct p11b_conn *conn);

/* Set the thread's p11b_last_message(); control characters are replaced. */
void	conn_set_message(const char *msg);

#endif /* CLIENT_H */
