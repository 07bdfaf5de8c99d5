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
	set->nconns = 0;
	set->jobs = 0;
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
	free(c->peer.groups);
	buf_wipe_free(&c->rb);
	buf_wipe_free(&c->wb);
	free(c);
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
	c->dead = 1;
	TAILQ_REMOVE(&set->conns, c, entry);
	set->nconns--;
	if (c->inflight == 0)
		conn_free(c);
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

void
conn_hold(struct conn *c)
{
	c->inflight++;
	c->set->jobs++;
}

int
conn_release(struct conn *c)
{
	c->inflight--;
	c->set->jobs--;
	if (!c->dead)
		return 1;
	if (c->inflight == 0)
		conn_free(c);
	return 0;
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
