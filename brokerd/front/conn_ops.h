/*
 * What the rest of the front may do with a connection it does not own:
 * answer on it, read its peer, hold it while a job is out.  The table of
 * connections itself is conn.h's (the event loop's).
 */
#ifndef CONN_OPS_H
#define CONN_OPS_H

#include <stddef.h>

struct conn;
struct connset;
struct wire_response;
struct peer_cred;

/* Queue a response frame (the loop sends it at the end of the turn). */
void	conn_reply(struct conn *c, const struct wire_response *resp);
const struct peer_cred *conn_peer(const struct conn *c);
/* Does the policy in force name the peer (by uid, gid or group)? */
int	conn_known(const struct conn *c);
/* Connections open now. */
int	connset_count(const struct connset *set);
/* Close the connection once its queued answers are sent. */
void	conn_close_after_reply(struct conn *c);
/*
 * Count a request handed to the workers / answered by them, with the
 * bytes it holds meanwhile (in the front's memory budget).
 */
void	conn_hold(struct conn *c, size_t bytes);
/* Returns 0 when the connection is gone and the reply must be dropped. */
int	conn_release(struct conn *c, size_t bytes);
/*
 * A stream's parts are all at the signer (on 1, off 0, counted): the
 * connection's next frames wait.
 */
void	conn_hold_frames(struct conn *c, int on);
/* Bytes the connection holds elsewhere (an Ed25519 stream's message). */
void	conn_hold_bytes(struct conn *c, size_t add, size_t sub);
/*
 * A refusal of a caller the policy does not know: 1 when it is only
 * counted (callers.c sums it up in the audit log), 0 when it gets its
 * own decision line.
 */
int	conn_refusal_counted(struct conn *c);

#endif /* CONN_OPS_H */
