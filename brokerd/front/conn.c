/* Client connections apart from their I/O (conn.h). */
#include <stdlib.h>

#include "conn.h"
#include "broker.h"
#include "log.h"

void
connset_init(struct connset *set)
{
	TAILQ_INIT(&set->conns);
	TAILQ_INIT(&set->dirty);
	TAILQ_INIT(&set->stalled);
	TAILQ_INIT(&set->graveyard);
	set->nstalled = 0;
	TAILQ_INIT(&set->callers);
	set->nconns = 0;
	set->jobs = 0;
	set->buffered = 0;
}

struct conn *
conn_new(struct connset *set)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->set = set;
	c->fd = -1;
	TAILQ_INSERT_TAIL(&set->conns, c, entry);
	set->nconns++;
	return c;
}

static void
conn_free(struct conn *c)
{
	c->set->buffered -= c->counted;
	free(c->peer.groups);
	buf_wipe_free(&c->rb);
	buf_wipe_free(&c->wb);
	free(c);
}

void
connset_reap(struct connset *set)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&set->graveyard)) != NULL) {
		TAILQ_REMOVE(&set->graveyard, c, entry);
		conn_free(c);
	}
}

int
conn_set_caller(struct connset *set, struct conn *c)
{
	if ((c->caller = caller_get(&set->callers, c->peer.uid)) == NULL)
		return -1;
	c->caller->nconns++;
	return 0;
}

/* A caller's bytes change by what one of its connections now holds. */
static void
caller_account(struct connset *set, struct caller *cl, size_t was,
    size_t now)
{
	int before = cl->buffered > 0;

	cl->buffered = cl->buffered - was + now;
	set->nholding += (cl->buffered > 0) - before;
}

void
conn_account(struct conn *c)
{
	size_t now = c->rb.cap + c->wb.cap + c->held;

	if (c->caller != NULL)
		caller_account(c->set, c->caller, c->counted, now);
	c->set->buffered = c->set->buffered - c->counted + now;
	c->counted = now;
}

void
conn_stall(struct conn *c, int on)
{
	if (on == c->stalled || (on && c->dead))
		return;
	if (on)
		TAILQ_INSERT_TAIL(&c->set->stalled, c, stall_entry);
	else
		TAILQ_REMOVE(&c->set->stalled, c, stall_entry);
	c->set->nstalled += on ? 1 : -1;
	c->stalled = on;
}

void
conn_detach(struct connset *set, struct conn *c)
{
	if (c->dead)
		return;
	if (c->dirty) {
		TAILQ_REMOVE(&set->dirty, c, dirty_entry);
		c->dirty = 0;
	}
	conn_stall(c, 0);
	buf_wipe_free(&c->rb);
	buf_wipe_free(&c->wb);
	conn_account(c);
	if (c->caller != NULL) {
		/* Its jobs' bytes stay in the set's count, not the caller's. */
		caller_account(set, c->caller, c->counted, 0);
		caller_put(&set->callers, c->caller);
	}
	c->caller = NULL;
	c->dead = 1;
	TAILQ_REMOVE(&set->conns, c, entry);
	set->nconns--;
	if (c->inflight == 0)
		TAILQ_INSERT_TAIL(&set->graveyard, c, entry);
}

int
connset_count(const struct connset *set)
{
	return set == NULL ? 0 : set->nconns;
}

const struct peer_cred *
conn_peer(const struct conn *c)
{
	return &c->peer;
}

int
conn_known(const struct conn *c)
{
	return c->known;
}

void
conn_hold(struct conn *c, size_t bytes)
{
	c->inflight++;
	c->set->jobs++;
	c->held += bytes;
	conn_account(c);
}

int
conn_release(struct conn *c, size_t bytes)
{
	c->inflight--;
	c->set->jobs--;
	c->held -= bytes;
	conn_account(c);
	if (!c->dead)
		return 1;
	if (c->inflight == 0)
		TAILQ_INSERT_TAIL(&c->set->graveyard, c, entry);
	return 0;
}

void
conn_hold_frames(struct conn *c, int on)
{
	c->frames_held += on ? 1 : -1;
}

void
conn_hold_bytes(struct conn *c, size_t add, size_t sub)
{
	c->held = c->held + add - sub;
	conn_account(c);
}

void
conn_reply(struct conn *c, const struct wire_response *resp)
{
	uint8_t *frame;
	size_t len;
	int r;

	if (c->dead)
		return;
	if ((r = wire_response_encode(resp, &frame, &len)) != 0) {
		log_warnx("response encode: %s", wire_strerror(r));
		c->closing = 1;
		return;
	}
	if (c->woff > 0 && c->woff == c->wb.len) {
		buf_consume(&c->wb, c->woff);
		c->woff = 0;
	}
	r = buf_append(&c->wb, frame, len);
	freezero(frame, len);		/* may hold a secret */
	if (r != 0) {
		c->closing = 1;
		return;
	}
	conn_account(c);
	if (!c->dirty) {
		c->dirty = 1;
		TAILQ_INSERT_TAIL(&c->set->dirty, c, dirty_entry);
	}
}

void
conn_close_after_reply(struct conn *c)
{
	c->closing = 1;
}

int
conn_refusal_counted(struct conn *c)
{
	if (c->known || c->caller == NULL)
		return 0;
	return !caller_refused(c->caller, time(NULL));
}
