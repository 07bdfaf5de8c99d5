/*
 * A client connection as the front's code sees it, apart from its I/O:
 * who is calling, the answers queued for it, the jobs it has with the
 * signer.  The event loop (server.c) reads and writes the descriptors;
 * dispatch answers through conn_reply() and counts jobs with
 * conn_hold()/conn_release() (declared in front.h) and never reaches
 * the loop itself.
 */
#ifndef CONN_H
#define CONN_H

#include <sys/queue.h>

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "callers.h"
#include "policy.h"
#include "conn_ops.h"

struct connset;

struct conn {
	struct connset		*set;		/* the set it belongs to */
	TAILQ_ENTRY(conn)	 entry;
	TAILQ_ENTRY(conn)	 dirty_entry;
	int			 fd;
	struct peer_cred	 peer;
	struct buf		 rb;
	struct buf		 wb;
	size_t			 woff;		/* sent from wb */
	int			 inflight;
	int			 dirty;
	int			 closing;	/* close once answered and flushed */
	time_t			 frame_since;	/* a partial frame waits */
	int			 dead;		/* fd closed, awaiting results */
	int			 reading;	/* EPOLLIN armed */
	int			 writing;	/* EPOLLOUT armed */
	time_t			 last_active;
	TAILQ_ENTRY(conn)	 stall_entry;
	int			 stalled;	/* on the stalled list */
	struct caller		*caller;	/* its uid's entry */
	int			 known;		/* the policy names the peer */
	uint64_t		 known_gen;	/* policy generation of known */
	size_t			 held;		/* bytes of its jobs */
	int			 frames_held;	/* streams wait on the signer */
	size_t			 counted;	/* its part of set->buffered */
};

TAILQ_HEAD(connlist, conn);

/* The open connections and those with answers to send. */
struct connset {
	struct connlist		 conns;
	struct connlist		 dirty;
	int			 nconns;
	int			 jobs;		/* with the signer, all conns */
	/* Frames held back: memory budget, throttle, the per-turn share. */
	struct connlist		 stalled;
	int			 nstalled;
	struct connlist		 graveyard;	/* freed at the turn's end */
	struct callerlist	 callers;
	size_t			 buffered;	/* bytes, all connections */
	int			 nholding;	/* callers holding bytes */
};

void	connset_init(struct connset *set);
/* A new connection in the set (no descriptor yet); NULL when out of memory. */
struct conn *conn_new(struct connset *set);
/*
 * Out of the set, its descriptor already closed: its buffers are wiped
 * now; it is freed at the end of the loop turn (connset_reap; events of
 * this turn may still name it), or after the last of its jobs came back.
 */
void	conn_detach(struct connset *set, struct conn *c);
/* Free the connections that are gone. */
void	connset_reap(struct connset *set);
/* The caller of a new connection (its uid's entry); -1: out of memory. */
int	conn_set_caller(struct connset *set, struct conn *c);
/* Bring c's buffers and jobs into set->buffered (after they change). */
void	conn_account(struct conn *c);
/* Hold back (1) or let go (0) the frames of a connection. */
void	conn_stall(struct conn *c, int on);

#endif /* CONN_H */
