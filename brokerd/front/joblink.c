/*
 * The front's side of the signer links.  Every link is non-blocking and
 * watched by the event loop's own epoll set once joblink_attach() gave
 * it (one epoll_wait per wake-up), else by an inner set whose descriptor
 * a caller can poll (the last checkpoint at exit, the fuzzer);
 * results come back in the order the jobs were sent on that link (one
 * signer worker serves one link), so each result must carry the id of
 * the oldest job outstanding there, or the link is broken.
 *
 * The current signers (one generation per signer process, in its slot)
 * serve together: a job goes to the least loaded link of any of them.
 * When one dies, each of its whole (not streamed) jobs is sent once
 * more to another current signer of the same set (one start or reload:
 * the same keys); only a job that has been tried twice, a stream, or a
 * job with no other signer left fails.
 *
 * Each signer serves one token block; a job goes to the signers of the
 * blocks that hold its key (work.tokens), and a failover (a whole job a
 * token answered TOKEN_UNAVAILABLE or sat on past the timeout) goes to
 * a signer of another of them.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "joblink.h"

#define READ_CHUNK	65536
/* The read buffer doubles, never past twice the largest message. */
#define RBUF_MAX	(2 * (SMSG_HDR_LEN + SMSG_BODY_MAX))
#define HELLO_WAIT_MS	5000
#define GHOST		((void *)-1)	/* a timed-out job's place holder */

struct slink {
	struct joblink_gen	*gen;
	int			 fd;
	int			 index;
	struct workq		 pending;	/* sent, oldest first */
	int			 npending;
	int			 stuck;		/* a job timed out here */
	int			 writing;	/* EPOLLOUT armed */
	int			 dirty;		/* jobs queued, not yet written */
	TAILQ_ENTRY(slink)	 dirty_entry;
	uint64_t		 next_id;
	int			 nstreams;	/* open on this worker */
	uint16_t		 next_sid;
	struct buf		 wb;
	size_t			 woff;		/* written from wb */
	struct buf		 rb;
};

struct joblink_gen {
	TAILQ_ENTRY(joblink_gen)	 entry;
	struct joblink		*s;
	struct slink		*links;
	int			 n;
	int			 dead;
	int			 jobs;
	int			 streams;	/* open: kept until they end */
	int			 current;
	int			 served;	/* answered a job with OK */
	int			 slot;		/* the monitor's signer slot */
	int			 token;		/* the token block it serves */
	unsigned int		 set;		/* the start or reload it serves */
};

/* A stream's worker: its parts go there, in order, whatever the load. */
struct jstream {
	struct joblink_gen	*gen;
	struct slink		*link;
	uint16_t		 sid;
};

TAILQ_HEAD(genlist, joblink_gen);

TAILQ_HEAD(linklist, slink);

struct joblink {
	int			 epfd;		/* inner: efd, links if detached */
	int			 outer;		/* the event loop's, or -1 */
	int			 efd;		/* failed-at-once jobs */
	int			 efd_set;	/* efd has a count to read */
	struct workq		 done;
	struct linklist		 dirty;		/* links with jobs to write */
	struct genlist		 gens;
	struct joblink_gen	*cur[JOBLINK_SLOTS];	/* by slot */
	unsigned int		 set;		/* of the current signers */
	unsigned int		 rr;		/* where pick() starts */
	uint64_t		 failovers[JOBLINK_TOKENS];	/* jobs moved
							   from block i */
};

int
joblink_new(struct joblink **sp)
{
	struct epoll_event ev;
	struct joblink *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	TAILQ_INIT(&s->done);
	TAILQ_INIT(&s->gens);
	TAILQ_INIT(&s->dirty);
	s->outer = -1;
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (s->efd == -1 || s->epfd == -1 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->efd, &ev) == -1) {
		joblink_free(s);
		return -1;
	}
	*sp = s;
	return 0;
}

int
joblink_fd(const struct joblink *s)
{
	return s->epfd;
}

int
joblink_wake_fd(const struct joblink *s)
{
	return s->efd;
}

static void	gen_kill(struct joblink_gen *, const char *);

/* Watch (op EPOLL_CTL_ADD/MOD) or stop watching a link in the set in use. */
static int
link_watch(struct slink *l, int op, uint32_t events)
{
	struct joblink *s = l->gen->s;
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	if (s->outer != -1)
		ev.data.u64 = (uint64_t)(uintptr_t)l | JOBLINK_EV_TAG;
	else
		ev.data.ptr = l;
	return epoll_ctl(s->outer != -1 ? s->outer : s->epfd, op, l->fd, &ev);
}

static uint32_t
link_events(const struct slink *l)
{
	return EPOLLIN | EPOLLRDHUP | (l->writing ? EPOLLOUT : 0);
}

void
joblink_attach(struct joblink *s, int epfd)
{
	struct joblink_gen *g;
	struct slink *l;
	int i;

	TAILQ_FOREACH(g, &s->gens, entry)
		for (i = 0; i < g->n; i++) {
			l = &g->links[i];
			if (l->fd != -1)
				(void)link_watch(l, EPOLL_CTL_DEL, 0);
		}
	s->outer = epfd;
	TAILQ_FOREACH(g, &s->gens, entry)
		for (i = 0; i < g->n; i++) {
			l = &g->links[i];
			if (l->fd != -1 && link_watch(l, EPOLL_CTL_ADD,
			    link_events(l)) == -1)
				gen_kill(g, "cannot watch the link");
		}
}

static void
fail_work(struct joblink *s, struct work *w, const char *why)
{
	uint64_t one = 1;

	memset(&w->res, 0, sizeof(w->res));
	w->res.status = P11B_TOKEN_UNAVAILABLE;
	strlcpy(w->msgbuf, why, sizeof(w->msgbuf));
	w->res.message = w->msgbuf;
	w->link = NULL;
	TAILQ_INSERT_TAIL(&s->done, w, entry);
	if (!s->efd_set) {
		(void)write(s->efd, &one, sizeof(one));
		s->efd_set = 1;
	}
}

static void
link_close(struct slink *l)
{
	if (l->dirty) {
		TAILQ_REMOVE(&l->gen->s->dirty, l, dirty_entry);
		l->dirty = 0;
	}
	if (l->fd == -1)
		return;
	(void)link_watch(l, EPOLL_CTL_DEL, 0);
	close(l->fd);
	l->fd = -1;
	buf_wipe_free(&l->wb);
	buf_wipe_free(&l->rb);
	l->woff = 0;
}

static void
gen_free(struct joblink *s, struct joblink_gen *g)
{
	int i;

	for (i = 0; i < g->n; i++)
		link_close(&g->links[i]);
	TAILQ_REMOVE(&s->gens, g, entry);
	free(g->links);
	free(g);
}

/* A retired generation goes once its last job is back, its streams ended. */
static void
gen_maybe_free(struct joblink *s, struct joblink_gen *g)
{
	if (!g->current && g->jobs == 0 && g->streams == 0)
		gen_free(s, g);
}

/* A retired signer's worker with nothing left to do is told to end. */
static void
link_retire(struct slink *l)
{
	if (!l->gen->current && l->fd != -1 && l->npending == 0 &&
	    l->nstreams == 0)
		(void)shutdown(l->fd, SHUT_WR);
}

static struct slink *pick(struct joblink *, uint32_t, int);
static void link_submit(struct joblink *, struct slink *, struct work *);

/* Does signer g serve a token block that may run a job for tokens? */
static int
gen_serves(const struct joblink_gen *g, uint32_t tokens)
{
	return tokens == 0 || (g->token >= 0 && g->token < JOBLINK_TOKENS &&
	    (tokens & (1U << g->token)));
}

/*
 * Whole job w, which the token of g failed (TOKEN_UNAVAILABLE, or no
 * answer in time), once to a signer of another block that holds its key
 * (1), if there is one up.  A key generation is not repeated (it may
 * have made the key); a batch or a stream is not moved.
 */
static int
failover(struct joblink *s, struct joblink_gen *g, struct work *w)
{
	struct slink *l;

	if (w->retried || w->job.stream != JOB_WHOLE || w->batch != NULL ||
	    w->job.op == P11B_OP_GENERATE || g->set != s->set ||
	    (l = pick(s, w->tokens, g->token)) == NULL ||
	    l->gen->token == g->token)
		return 0;
	w->retried = 1;
	s->failovers[g->token]++;
	link_submit(s, l, w);
	return 1;
}

/*
 * A job of a signer that died: once more on another current signer of
 * its set (the same keys), if it is whole and was not retried before
 * (1).  Signing, HMAC, verifying, reading a public key, a secret or
 * random bytes may run twice: none changes the token.
 */
static int
retry_work(struct joblink *s, struct joblink_gen *g, struct work *w)
{
	struct slink *l;

	if (g->current && g->set == s->set && !w->retried &&
	    w->job.stream == JOB_WHOLE && (l = pick(s, w->tokens,
	    g->token)) != NULL) {
		w->retried = 1;
		if (l->gen->token != g->token)
			s->failovers[g->token]++;
		link_submit(s, l, w);
		return 1;
	}
	fail_work(s, w, "the signer stopped");
	return 0;
}

/*
 * The signer died or broke the protocol: its jobs go to the others
 * (retry_work) or fail.
 */
static void
gen_kill(struct joblink_gen *g, const char *why)
{
	struct joblink *s = g->s;
	struct workq held = TAILQ_HEAD_INITIALIZER(held);
	struct work *w;
	int i, retried = 0;

	if (g->dead)
		return;
	g->dead = 1;
	for (i = 0; i < g->n; i++) {
		while ((w = TAILQ_FIRST(&g->links[i].pending)) != NULL) {
			TAILQ_REMOVE(&g->links[i].pending, w, entry);
			g->jobs--;
			if (w->arg == GHOST)
				free(w);
			else
				TAILQ_INSERT_TAIL(&held, w, entry);
		}
		g->links[i].npending = 0;
		link_close(&g->links[i]);
	}
	while ((w = TAILQ_FIRST(&held)) != NULL) {
		TAILQ_REMOVE(&held, w, entry);
		retried += retry_work(s, g, w);
	}
	if (!g->current)
		return;
	if (retried > 0)
		log_info("signer %d: %d of its jobs sent to the other signers",
		    g->slot, retried);
	if (pick(s, 0, -1) == NULL)
		log_warnx("signer %d: %s; no other signer serves: answering "
		    "TOKEN_UNAVAILABLE until one is back", g->slot, why);
	else
		log_warnx("signer %d: %s; the other signers serve", g->slot,
		    why);
}

void
joblink_free(struct joblink *s)
{
	struct joblink_gen *g;

	if (s == NULL)
		return;
	while ((g = TAILQ_FIRST(&s->gens)) != NULL)
		gen_free(s, g);
	if (s->efd != -1)
		close(s->efd);
	if (s->epfd != -1)
		close(s->epfd);
	free(s);
}

/* Read exactly len bytes within the deadline (the hello). */
static int
read_full(int fd, uint8_t *buf, size_t len, uint64_t deadline)
{
	struct pollfd pfd;
	size_t off = 0;
	ssize_t n;
	uint64_t now;

	while (off < len) {
		n = read(fd, buf + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0)
			return -1;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		if ((now = clock_ms()) >= deadline)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, (int)(deadline - now));
	}
	return 0;
}

static int
read_hello(int fd, struct smsg_hello *hello, char *errbuf, size_t errlen)
{
	uint8_t hdr[SMSG_HDR_LEN], *body = NULL;
	uint64_t deadline = clock_ms() + HELLO_WAIT_MS;
	struct smsg_hdr h;
	int r = -1;

	if (read_full(fd, hdr, sizeof(hdr), deadline) != 0 ||
	    smsg_hdr_decode(hdr, &h) != SMSG_OK || h.type != SMSG_HELLO ||
	    (body = malloc(h.len > 0 ? h.len : 1)) == NULL ||
	    read_full(fd, body, h.len, deadline) != 0 ||
	    smsg_hello_decode(body, h.len, hello) != SMSG_OK)
		snprintf(errbuf, errlen, "signer: no valid hello");
	else
		r = 0;
	free(body);
	return r;
}

int
joblink_gen_open(struct joblink *s, int *fds, int nfds,
    struct joblink_gen **genp, struct smsg_hello *hello, char *errbuf,
    size_t errlen)
{
	struct joblink_gen *g;
	struct slink *l;
	int i;

	if (nfds < 1 || read_hello(fds[0], hello, errbuf, errlen) != 0)
		goto fail;
	if ((unsigned int)nfds != hello->workers) {
		snprintf(errbuf, errlen, "signer: %u workers but %d links",
		    hello->workers, nfds);
		smsg_hello_free(hello);
		goto fail;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->links = calloc(nfds, sizeof(*g->links))) == NULL) {
		free(g);
		smsg_hello_free(hello);
		snprintf(errbuf, errlen, "signer: out of memory");
		goto fail;
	}
	g->s = s;
	g->n = nfds;
	TAILQ_INSERT_TAIL(&s->gens, g, entry);
	for (i = 0; i < nfds; i++) {
		l = &g->links[i];
		l->gen = g;
		l->fd = fds[i];
		l->index = i;
		l->next_id = 1;
		TAILQ_INIT(&l->pending);
		if (link_watch(l, EPOLL_CTL_ADD, link_events(l)) == -1) {
			snprintf(errbuf, errlen, "signer: epoll: %s",
			    strerror(errno));
			for (i++; i < nfds; i++) {
				g->links[i].gen = g;
				g->links[i].fd = fds[i];
			}
			gen_free(s, g);
			smsg_hello_free(hello);
			return -1;
		}
	}
	*genp = g;
	return 0;
 fail:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return -1;
}

void
joblink_discard(struct joblink *s, struct joblink_gen *g)
{
	gen_free(s, g);
}

/* No longer current: its jobs and streams finish there, then it exits. */
static void
gen_retire(struct joblink *s, struct joblink_gen *old)
{
	int i;

	s->cur[old->slot] = NULL;
	old->current = 0;
	for (i = 0; i < old->n; i++)
		link_retire(&old->links[i]);
	gen_maybe_free(s, old);
}

void
joblink_new_set(struct joblink *s)
{
	int i;

	for (i = 0; i < JOBLINK_SLOTS; i++)
		if (s->cur[i] != NULL)
			gen_retire(s, s->cur[i]);
	s->set++;
}

void
joblink_use(struct joblink *s, struct joblink_gen *g, int slot, int token)
{
	if (slot < 0 || slot >= JOBLINK_SLOTS) {
		gen_free(s, g);
		return;
	}
	if (s->cur[slot] != NULL)
		gen_retire(s, s->cur[slot]);
	s->cur[slot] = g;
	g->slot = slot;
	g->token = token;
	g->set = s->set;
	g->current = 1;
}

static void
link_arm(struct slink *l, int want_write)
{
	if (l->fd == -1 || want_write == l->writing)
		return;
	l->writing = want_write;
	(void)link_watch(l, EPOLL_CTL_MOD, link_events(l));
}

static void
link_flush(struct slink *l)
{
	ssize_t n;

	while (l->woff < l->wb.len) {
		n = write(l->fd, l->wb.p + l->woff, l->wb.len - l->woff);
		if (n > 0) {
			l->woff += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		gen_kill(l->gen, "link write failed");
		return;
	}
	/*
	 * What was sent goes now, not once all is: on a busy link the
	 * buffer would otherwise grow with every job ever queued on it.
	 */
	if (l->woff > 0) {
		buf_consume(&l->wb, l->woff);
		l->woff = 0;
	}
	link_arm(l, l->woff < l->wb.len);
}

static int
link_queue(struct slink *l, const uint8_t *msg, size_t len)
{
	if (l->woff > 0 && l->woff == l->wb.len) {
		buf_consume(&l->wb, l->woff);
		l->woff = 0;
	}
	return buf_append(&l->wb, msg, len);
}

/* Queue w on link l (of a live generation). */
static void
link_submit(struct joblink *s, struct slink *l, struct work *w)
{
	uint8_t *msg;
	size_t len;

	w->id = l->next_id++;
	w->nbatch = w->batch != NULL ? w->batch->n : 0;
	if ((w->batch != NULL ? smsg_batch_encode(w->id, &w->job,
	    w->batch->items, w->batch->n, &msg, &len) :
	    smsg_work_encode(w->id, &w->job, &msg, &len)) != SMSG_OK) {
		fail_work(s, w, "cannot encode the job");
		return;
	}
	if (link_queue(l, msg, len) != 0) {
		freezero(msg, len);
		fail_work(s, w, "out of memory");
		return;
	}
	freezero(msg, len);
	w->link = l;
	w->sent_ms = clock_ms();
	TAILQ_INSERT_TAIL(&l->pending, w, entry);
	l->npending++;
	l->gen->jobs++;
	/* Written by joblink_flush(), once per loop turn for all jobs. */
	if (!l->dirty) {
		l->dirty = 1;
		TAILQ_INSERT_TAIL(&s->dirty, l, dirty_entry);
	}
}

/* The least loaded worker of g that is not stuck, better than best. */
static struct slink *
pick_gen(struct joblink_gen *g, struct slink *best, int streams)
{
	struct slink *l;
	int i;

	if (g == NULL || g->dead)
		return best;
	for (i = 0; i < g->n; i++) {
		l = &g->links[i];
		if (l->stuck || l->fd == -1)
			continue;
		if (best == NULL || (streams ? l->nstreams < best->nstreams :
		    l->npending < best->npending))
			best = l;
	}
	return best;
}

/*
 * The least loaded worker of the current signers of the token blocks in
 * tokens (0: any); ties go round the signers, so that light load too
 * reaches every process.  Signers of block avoid only when no other
 * block's serves (-1: none avoided).
 */
static struct slink *
pick(struct joblink *s, uint32_t tokens, int avoid)
{
	struct slink *best = NULL, *other = NULL;
	struct joblink_gen *g;
	unsigned int i, start = s->rr++;

	for (i = 0; i < JOBLINK_SLOTS; i++) {
		g = s->cur[(start + i) % JOBLINK_SLOTS];
		if (g == NULL || !gen_serves(g, tokens))
			continue;
		if (g->token == avoid)
			best = pick_gen(g, best, 0);
		else
			other = pick_gen(g, other, 0);
	}
	return other != NULL ? other : best;
}

/* The token blocks a job may go to: its submitter's, else its key's. */
static uint32_t
work_tokens(const struct work *w)
{
	const struct key_info *keys;
	size_t n;

	if (w->tokens != 0 || w->gen == NULL || w->job.key < 0)
		return w->tokens;
	keys = keygen_keys(w->gen, &n);
	return (size_t)w->job.key < n ? keys[w->job.key].tokens : 0;
}

static int
any_up(const struct joblink *s)
{
	int i;

	for (i = 0; i < JOBLINK_SLOTS; i++)
		if (s->cur[i] != NULL && !s->cur[i]->dead)
			return 1;
	return 0;
}

void
joblink_submit(struct joblink *s, struct work *w)
{
	struct slink *l;

	w->retried = 0;
	w->tokens = work_tokens(w);
	if (!any_up(s)) {
		fail_work(s, w, "the signer is not running");
		return;
	}
	if ((l = pick(s, w->tokens, -1)) == NULL) {
		fail_work(s, w, pick(s, 0, -1) != NULL ? "no token that holds "
		    "the key is up" : "every token session is stuck");
		return;
	}
	link_submit(s, l, w);
}

int
joblink_stream_open(struct joblink *s, uint32_t tokens, struct jstream **jsp)
{
	struct joblink_gen *g;
	struct slink *l = NULL;
	struct jstream *js;
	int i;

	for (i = 0; i < JOBLINK_SLOTS; i++)
		if (s->cur[i] != NULL && gen_serves(s->cur[i], tokens))
			l = pick_gen(s->cur[i], l, 1);
	if (l == NULL || (js = calloc(1, sizeof(*js))) == NULL)
		return -1;
	g = l->gen;
	js->gen = g;
	js->link = l;
	js->sid = l->next_sid++;
	l->nstreams++;
	g->streams++;
	*jsp = js;
	return 0;
}

void
joblink_stream_submit(struct joblink *s, struct jstream *js, struct work *w)
{
	w->job.sid = js->sid;
	if (js->gen->dead || js->link->fd == -1) {
		fail_work(s, w, "the signer stopped during the stream");
		return;
	}
	link_submit(s, js->link, w);
}

void
joblink_stream_close(struct joblink *s, struct jstream *js)
{
	struct joblink_gen *g;

	if (js == NULL)
		return;
	g = js->gen;
	js->link->nstreams--;
	g->streams--;
	link_retire(js->link);
	free(js);
	gen_maybe_free(s, g);
}

void
joblink_flush(struct joblink *s)
{
	struct slink *l;

	while ((l = TAILQ_FIRST(&s->dirty)) != NULL) {
		TAILQ_REMOVE(&s->dirty, l, dirty_entry);
		l->dirty = 0;
		if (l->fd != -1)
			link_flush(l);
	}
}

/*
 * A batch job's one result message: the results stay with the batch
 * (a ghost's are dropped); the job itself is answered OK.
 */
static int
link_batch_result(struct slink *l, struct work *w, const struct smsg_hdr *h,
    const uint8_t *body, struct workq *done)
{
	struct smsg_batch ghost;
	struct smsg_batch *b = w->arg == GHOST ? &ghost : w->batch;
	size_t i;

	memset(&ghost, 0, sizeof(ghost));
	ghost.n = w->nbatch;
	if (h->type != SMSG_BATCH_RESULT || h->id != w->id ||
	    smsg_batch_result_decode(body, h->len, w->nbatch, b) != SMSG_OK)
		return -1;
	TAILQ_REMOVE(&l->pending, w, entry);
	l->npending--;
	l->gen->jobs--;
	if (w->arg == GHOST) {
		smsg_batch_clear(&ghost);
		free(w);
		if (l->stuck && --l->stuck == 0)
			log_info("signer: worker %d answers again", l->index);
	} else {
		for (i = 0; i < b->n; i++)
			if (b->res[i].status == P11B_OK)
				l->gen->served = 1;
		memset(&w->res, 0, sizeof(w->res));
		w->res.status = P11B_OK;
		w->link = NULL;
		TAILQ_INSERT_TAIL(done, w, entry);
	}
	link_retire(l);
	return 0;
}

/* One complete result message; -1 when the signer broke the protocol. */
static int
link_result(struct joblink *s, struct slink *l, const struct smsg_hdr *h,
    const uint8_t *body, struct workq *done)
{
	struct joblink_gen *g = l->gen;
	struct work *w = TAILQ_FIRST(&l->pending);
	struct job_result res;

	if (w != NULL && w->nbatch > 0)
		return link_batch_result(l, w, h, body, done);
	if (h->type != SMSG_RESULT || w == NULL || h->id != w->id ||
	    smsg_result_decode(body, h->len, &res, w->msgbuf,
	    sizeof(w->msgbuf)) != SMSG_OK)
		return -1;
	TAILQ_REMOVE(&l->pending, w, entry);
	l->npending--;
	g->jobs--;
	/* The token failed it: another block's signer may serve it. */
	if (w->arg != GHOST && res.status == P11B_TOKEN_UNAVAILABLE &&
	    failover(s, g, w)) {
		job_result_clear(&res);
		link_retire(l);
		return 0;
	}
	if (w->arg == GHOST) {		/* answered already, by the sweep */
		job_result_clear(&res);
		free(w);
		if (l->stuck && --l->stuck == 0)
			log_info("signer: worker %d answers again", l->index);
	} else {
		if (res.status == P11B_OK)
			g->served = 1;
		w->res = res;		/* its message is in w->msgbuf */
		w->link = NULL;
		TAILQ_INSERT_TAIL(done, w, entry);
	}
	link_retire(l);
	return 0;
}

static void
link_read(struct joblink *s, struct slink *l, struct workq *done)
{
	struct smsg_hdr h;
	size_t off, room;
	long need;
	ssize_t n;
	int short_read;

	for (;;) {
		if (l->rb.cap - l->rb.len < READ_CHUNK &&
		    (2 * l->rb.cap > RBUF_MAX ||
		    buf_reserve(&l->rb, READ_CHUNK) != 0)) {
			gen_kill(l->gen, "out of memory");
			return;
		}
		room = l->rb.cap - l->rb.len;
		n = read(l->fd, l->rb.p + l->rb.len, room);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			gen_kill(l->gen, n == 0 ? "the signer went away" :
			    "link read failed");
			return;
		}
		l->rb.len += (size_t)n;
		short_read = (size_t)n < room;
		off = 0;
		for (;;) {
			need = buf_frame_need(&l->rb, off, SMSG_HDR_LEN,
			    smsg_body_len, &h);
			if (need < 0) {
				gen_kill(l->gen, "malformed message from the "
				    "signer");
				return;
			}
			if (l->rb.len - off < (size_t)need)
				break;
			if (link_result(s, l, &h, l->rb.p + off + SMSG_HDR_LEN,
			    done) != 0) {
				gen_kill(l->gen, "malformed result from the "
				    "signer");
				return;
			}
			off += (size_t)need;
		}
		buf_consume(&l->rb, off);
		/* Drained for now; epoll says when there is more. */
		if (short_read)
			break;
	}
}

/* What epoll reported for link l. */
static void
link_event(struct joblink *s, struct slink *l, uint32_t events,
    struct workq *done)
{
	if (l == NULL || l->fd == -1)
		return;
	if (events & EPOLLOUT)
		link_flush(l);
	if (l->fd != -1 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR |
	    EPOLLRDHUP)))
		link_read(s, l, done);
}

static void
gens_tidy(struct joblink *s)
{
	struct joblink_gen *g, *next;

	for (g = TAILQ_FIRST(&s->gens); g != NULL; g = next) {
		next = TAILQ_NEXT(g, entry);
		gen_maybe_free(s, g);
	}
}

void
joblink_collect(struct joblink *s, struct workq *done)
{
	struct epoll_event evs[32];
	uint64_t count;
	int i, n;

	if (s->efd_set) {
		(void)read(s->efd, &count, sizeof(count));
		s->efd_set = 0;
	}
	TAILQ_CONCAT(done, &s->done, entry);
	/* Attached, the links' own events come through joblink_event(). */
	n = s->outer != -1 ? 0 : epoll_wait(s->epfd, evs, 32, 0);
	for (i = 0; i < n; i++)
		link_event(s, evs[i].data.ptr, evs[i].events, done);
	TAILQ_CONCAT(done, &s->done, entry);
	gens_tidy(s);
}

static void
run_done(struct workq *done)
{
	struct work *w;

	while ((w = TAILQ_FIRST(done)) != NULL) {
		TAILQ_REMOVE(done, w, entry);
		w->done(w);
	}
}

void
joblink_event(struct joblink *s, uint64_t data, uint32_t events)
{
	struct workq done = TAILQ_HEAD_INITIALIZER(done);

	link_event(s, (struct slink *)(uintptr_t)(data & ~(uint64_t)
	    JOBLINK_EV_TAG), events, &done);
	TAILQ_CONCAT(&done, &s->done, entry);
	gens_tidy(s);
	run_done(&done);
}

int
joblink_ready(const struct joblink *s)
{
	int i;

	for (i = 0; i < JOBLINK_SLOTS; i++)
		if (pick_gen(s->cur[i], NULL, 0) != NULL)
			return 1;
	return 0;
}

int
joblink_served(const struct joblink *s)
{
	int i;

	for (i = 0; i < JOBLINK_SLOTS; i++)
		if (s->cur[i] != NULL && !s->cur[i]->dead && s->cur[i]->served)
			return 1;
	return 0;
}

int
joblink_slot_up(const struct joblink *s, int slot)
{
	return slot >= 0 && slot < JOBLINK_SLOTS && s->cur[slot] != NULL &&
	    !s->cur[slot]->dead;
}

int
joblink_token_ready(const struct joblink *s, int token)
{
	int i;

	for (i = 0; i < JOBLINK_SLOTS; i++)
		if (s->cur[i] != NULL && s->cur[i]->token == token &&
		    pick_gen(s->cur[i], NULL, 0) != NULL)
			return 1;
	return 0;
}

int
joblink_token_served(const struct joblink *s, int token)
{
	int i;

	for (i = 0; i < JOBLINK_SLOTS; i++)
		if (s->cur[i] != NULL && s->cur[i]->token == token &&
		    !s->cur[i]->dead && s->cur[i]->served)
			return 1;
	return 0;
}

uint64_t
joblink_failovers(const struct joblink *s, int token)
{
	return token >= 0 && token < JOBLINK_TOKENS ? s->failovers[token] :
	    0;
}

int
joblink_slot_busy(const struct joblink *s, int slot)
{
	const struct joblink_gen *g;
	int i, busy = 0;

	if (!joblink_slot_up(s, slot))
		return 0;
	g = s->cur[slot];
	for (i = 0; i < g->n; i++)
		busy += g->links[i].npending > 0;
	return busy;
}

int
joblink_busy(const struct joblink *s)
{
	int i, busy = 0;

	for (i = 0; i < JOBLINK_SLOTS; i++)
		busy += joblink_slot_busy(s, i);
	return busy;
}

/* Answer g's jobs waiting too long; 1 when every worker of g is stuck. */
static int
sweep_gen(struct joblink *s, struct joblink_gen *g, uint64_t timeout_ms)
{
	struct work *w, *ghost;
	struct slink *l;
	uint64_t now = clock_ms();
	int i;

	if (g == NULL || g->dead)
		return 0;
	for (i = 0; i < g->n; i++) {
		l = &g->links[i];
		TAILQ_FOREACH(w, &l->pending, entry) {
			if (w->arg == GHOST || now - w->sent_ms < timeout_ms)
				continue;
			/* Answer now; keep a place holder for the result. */
			if ((ghost = calloc(1, sizeof(*ghost))) == NULL)
				break;
			ghost->arg = GHOST;
			ghost->id = w->id;
			ghost->nbatch = w->nbatch;
			ghost->link = l;
			TAILQ_INSERT_AFTER(&l->pending, w, ghost, entry);
			TAILQ_REMOVE(&l->pending, w, entry);
			if (l->stuck++ == 0)
				log_warnx("signer: worker %d: no answer in "
				    "%llu ms; not using it until it answers",
				    l->index, (unsigned long long)timeout_ms);
			if (!failover(s, g, w))
				fail_work(s, w, "the token did not answer in "
				    "time");
			w = ghost;
		}
	}
	return pick_gen(g, NULL, 0) == NULL;
}

uint32_t
joblink_sweep(struct joblink *s, uint64_t timeout_ms)
{
	uint32_t stuck = 0;
	int i;

	if (timeout_ms == 0)
		return 0;
	for (i = 0; i < JOBLINK_SLOTS; i++)
		if (sweep_gen(s, s->cur[i], timeout_ms))
			stuck |= 1U << i;
	return stuck;
}

void
joblink_complete(struct joblink *s)
{
	struct workq done = TAILQ_HEAD_INITIALIZER(done);

	joblink_collect(s, &done);
	run_done(&done);
}
