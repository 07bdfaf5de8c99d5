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
};

TAILQ_HEAD(connlist, conn);

/* The open connections and those with answers to send. */
struct connset {
	struct connlist		 conns;
	struct connlist		 dirty;
	int			 nconns;
	int			 jobs;		/* with the signer, all conns */
};

void	connset_init(struct connset *set);
/* A new connection in the set (no descriptor yet); NULL when out of memory. */
struct conn *conn_new(struct connset *set);
/*
 * Out of the set, its descriptor already closed: freed now, or when the
 * last of its jobs comes back (conn_release).
 */
void	conn_detach(struct connset *set, struct conn *c);

#endif /* CONN_H */
