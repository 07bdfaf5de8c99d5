/*
 * The event loop: one thread, epoll, non-blocking sockets.  Each
 * connection has a read buffer that never holds more than one frame
 * beyond what is being parsed (the length is checked before buffering),
 * and a write buffer that is flushed once at the end of every loop turn.
 * A connection that has too much in flight or too much unread output is
 * not read from until it catches up.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "conn.h"
#include "audit.h"
#include "broker.h"
#include "control.h"
#include "dispatch.h"
#include "server.h"
#include "stream.h"
#include "log.h"

#define READ_CHUNK	16384
#define MAX_INFLIGHT	256		/* requests per connection */
#define WBUF_HIGH	(1024 * 1024)	/* stop reading above this */
#define MAX_EVENTS	64
#define FRAMES_PER_TURN	64		/* per connection, then the others */
#define TURN_FRAMES	4096		/* all connections: the audit lines */
#define FD_RESERVE	64		/* links, the log, epoll, signalfd */
#define STALL_POLL_MS	50		/* frames held back: look again */
#define ACCEPT_WARN_INTERVAL 60		/* seconds between accept warnings */

#define TAG_LISTEN	1
#define TAG_SIGNER	2
#define TAG_SIGNAL	3
#define TAG_CTL		4

struct server {
	struct broker		*b;
	int			 epfd;
	int			 listen_fd;
	int			 sig_fd;
	struct connset		 set;		/* conn.c's */
	int			 stopping;
	time_t			 stop_deadline;
	int			 fd_cap;	/* clients the fd limit allows */
	int			 accept_paused;	/* EMFILE: until one closes */
	uint64_t		 accept_failures; /* not yet logged */
	time_t			 accept_warned;
	int			 ready;		/* held frames can go on now */
	uint64_t		 known_gen;	/* policy of the conns' known */
	time_t			 budget_warned;
	int			 turn_frames;	/* taken in this loop turn */
	uint64_t		 turn;		/* loop turns */
	/*
	 * The turn in which no connection was found to shed, by mode
	 * (shed_unknown's most): one holding memory is not the same as
	 * any at all.
	 */
	uint64_t		 noshed_turn[2];
	uint64_t		 known_refusals; /* since known_warned */
	time_t			 known_warned;
};

static void	conn_close(struct server *, struct conn *);
static void	stop(struct server *);
static void	conn_parse(struct server *, struct conn *);
static void	accept_resume(struct server *);

/* Memory is short: a client's unread answers go before its requests. */
static int
answers_first(const struct server *s, const struct conn *c)
{
	return c->wb.len > c->woff &&
	    s->set.buffered > s->b->conf->max_buffered / 2;
}

static void
conn_arm(struct server *s, struct conn *c)
{
	struct epoll_event ev;
	int want_read, want_write;

	if (c->dead)
		return;
	want_read = !c->closing && !s->stopping && !c->stalled &&
	    c->inflight < MAX_INFLIGHT && c->wb.len - c->woff < WBUF_HIGH &&
	    !answers_first(s, c);
	want_write = c->wb.len > c->woff;
	if (want_read == c->reading && want_write == c->writing)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = (want_read ? EPOLLIN | EPOLLRDHUP : 0) |
	    (want_write ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		log_warn("epoll_ctl");
	c->reading = want_read;
	c->writing = want_write;
}

/* Write what we can; once all is sent, the buffer is wiped (secrets). */
static void
conn_flush(struct server *s, struct conn *c)
{
	ssize_t n;

	/* Nothing leaves before its decision is in the audit log. */
	if (audit_commit(s->b->audit) != 0)
		return;
	while (c->woff < c->wb.len) {
		n = send(c->fd, c->wb.p + c->woff, c->wb.len - c->woff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_close(s, c);
			return;
		}
		c->woff += n;
		c->last_active = time(NULL);
	}
	/* What was sent goes now (a slow reader would grow the buffer). */
	if (c->woff > 0 && c->woff < c->wb.len) {
		buf_consume(&c->wb, c->woff);
		c->woff = 0;
	}
	if (c->woff == c->wb.len) {
		/* An idle connection holds no buffer (the memory budget). */
		buf_wipe_free(&c->wb);
		c->woff = 0;
		conn_account(c);
		/* Closing: once the answers still at the token are sent too. */
		if (c->closing && c->inflight == 0) {
			conn_close(s, c);
			return;
		}
	}
	/*
	 * Frames held back (too many in flight, too much unread output) are
	 * parsed once there is room again: every answer passes through here.
	 */
	if (!c->closing && !c->stalled && c->rb.len >= WIRE_HDR_LEN)
		conn_parse(s, c);
	conn_arm(s, c);
}

static void
flush_dirty(struct server *s)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&s->set.dirty)) != NULL) {
		TAILQ_REMOVE(&s->set.dirty, c, dirty_entry);
		c->dirty = 0;
		if (!c->dead)
			conn_flush(s, c);
	}
}

/*
 * The audit log could not be written (and fails closed): the answers
 * not yet sent must never be, so their connections are closed.
 */
static void
close_unsent(struct server *s)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&s->set.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->dirty || c->wb.len > c->woff)
			conn_close(s, c);
	}
	audit_release(s->b->audit);
}

static void
conn_close(struct server *s, struct conn *c)
{
	if (c->dead)
		return;
	stream_conn_closed(s->b, c);
	(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	log_debug("connection from uid %u pid %d closed", (unsigned)
	    c->peer.uid, (int)c->peer.pid);
	conn_detach(&s->set, c);
	accept_resume(s);
}

/* A frame's body length, checked against the limit (wire_frame_len). */
static long
frame_body_len(const uint8_t *hdr, void *arg)
{
	struct server *s = arg;

	return wire_frame_len(hdr, s->b->conf->max_frame);
}

/*
 * Shed one connection of a caller the policy does not know, to make room
 * for a caller it knows: the one holding the most memory (most: 1) or
 * the longest idle.  0 when there is none.
 */
static int
shed_unknown(struct server *s, int most)
{
	struct conn *c, *victim = NULL;

	/* None found in this turn: no walk again for every frame held back. */
	most = most != 0;
	if (s->noshed_turn[most] == s->turn)
		return 0;
	TAILQ_FOREACH(c, &s->set.conns, entry) {
		if (c->known || (most && c->counted == 0))
			continue;
		if (victim == NULL || (most ? c->counted > victim->counted :
		    c->last_active < victim->last_active))
			victim = c;
	}
	if (victim == NULL) {
		s->noshed_turn[most] = s->turn;
		/* None at all: none holding memory either. */
		if (!most)
			s->noshed_turn[1] = s->turn;
		return 0;
	}
	log_debug("shedding a connection of uid %u (not in the policy)",
	    (unsigned)victim->peer.uid);
	conn_close(s, victim);
	return 1;
}

/* Once a minute at most: memory ran short. */
static void
budget_warn(struct server *s)
{
	time_t now = time(NULL);

	if (s->budget_warned != 0 && now - s->budget_warned < 60)
		return;
	s->budget_warned = now;
	log_warnx("memory budget reached: %zu bytes buffered (max-buffered "
	    "%zu); holding back reads", s->set.buffered,
	    s->b->conf->max_buffered);
}

/*
 * May c take bytes more of the front's memory (max-buffered, all
 * connections)?  A caller the policy knows makes room by shedding
 * callers it does not know.  Past the budget, a caller may still have
 * its share of a reserve as large again (the reserve split among the
 * callers holding memory), so that no caller can starve the others; the
 * rest wait until memory is freed.
 */
static int
budget_allows(struct server *s, struct conn *c, size_t bytes)
{
	size_t budget = s->b->conf->max_buffered, share;
	int n;

	while (s->set.buffered + bytes > budget) {
		if (!c->known || !shed_unknown(s, 1))
			break;
	}
	if (s->set.buffered + bytes <= budget)
		return 1;
	n = s->set.nholding + (c->caller->buffered == 0);
	share = budget / (size_t)(n > 0 ? n : 1);
	if (s->set.buffered + bytes <= 2 * budget &&
	    c->caller->buffered + bytes <= share)
		return 1;
	budget_warn(s);
	return 0;
}

/* The frame may be taken now; else c is held back (stalled). */
static int
frame_admitted(struct server *s, struct conn *c, long need, int nframes)
{
	/*
	 * The others first, then on; and at most so many decisions (audit
	 * lines pending) in one turn.
	 */
	if (nframes >= FRAMES_PER_TURN || s->turn_frames >= TURN_FRAMES) {
		s->ready = 1;
		return 0;
	}
	if (!c->known && !caller_take(c->caller, s->b->conf->unknown_rate,
	    clock_ns()))
		return 0;
	/* Its job's copies of the input (pending_bytes), and its answer. */
	if (!budget_allows(s, c, 4 * (size_t)need + READ_CHUNK))
		return 0;
	s->turn_frames++;
	return 1;
}

/* Parse every complete frame in the read buffer. */
static void
conn_parse(struct server *s, struct conn *c)
{
	size_t off = 0;
	long need;
	int n = 0;

	while (!c->closing && !c->dead && c->inflight < MAX_INFLIGHT &&
	    c->wb.len - c->woff < WBUF_HIGH && !answers_first(s, c)) {
		need = buf_frame_need(&c->rb, off, WIRE_HDR_LEN,
		    frame_body_len, s);
		if (need == WIRE_ERR_EMPTY) {
			dispatch_frame_error(s->b, c, P11B_BAD_REQUEST,
			    "empty frame");
			break;
		}
		if (need == WIRE_ERR_TOO_LARGE) {
			dispatch_frame_error(s->b, c, P11B_TOO_LARGE,
			    "frame over the size limit");
			break;
		}
		if (c->rb.len - off < (size_t)need)
			break;
		/* A stream's parts are at the signer: the next one waits. */
		if (c->frames_held > 0 || !frame_admitted(s, c, need, n)) {
			conn_stall(c, 1);
			break;
		}
		dispatch_frame(s->b, c, c->rb.p + off + WIRE_HDR_LEN,
		    need - WIRE_HDR_LEN);
		off += need;
		n++;
	}
	if (c->dead)
		return;
	buf_consume(&c->rb, off);
	if (c->rb.len == 0) {
		buf_wipe_free(&c->rb);
		c->frame_since = 0;
	} else if (off > 0)
		c->frame_since = time(NULL);	/* the next frame started */
	conn_account(c);
}

/*
 * Room for the frame that starts the buffer (its length is checked),
 * within the memory budget: 1 when there is none now.
 */
static int
conn_rbuf_room(struct server *s, struct conn *c)
{
	size_t need = READ_CHUNK, grow;
	long frame;

	frame = buf_frame_need(&c->rb, 0, WIRE_HDR_LEN, frame_body_len, s);
	if (frame > (long)need)
		need = frame;
	if (need < c->rb.len + 1)
		need = c->rb.len + READ_CHUNK;
	if (c->rb.cap >= need)
		return 0;
	/* buf_reserve() grows to twice the capacity, or what is needed. */
	grow = (2 * c->rb.cap > need ? 2 * c->rb.cap : need) - c->rb.cap;
	if (!budget_allows(s, c, grow))
		return 1;
	if (buf_reserve(&c->rb, need - c->rb.len) != 0)
		return -1;
	conn_account(c);
	return 0;
}

static void
conn_read(struct server *s, struct conn *c, int hup)
{
	ssize_t n;
	int r;

	if ((r = conn_rbuf_room(s, c)) != 0) {
		if (r > 0 && !hup) {
			conn_stall(c, 1);	/* until memory is freed */
			conn_arm(s, c);
		} else
			conn_close(s, c);
		return;
	}
	n = recv(c->fd, c->rb.p + c->rb.len, c->rb.cap - c->rb.len,
	    MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0 && !hup && (c->inflight > 0 || c->wb.len > c->woff)) {
		/*
		 * Half-closed: the client sent all it will and still reads.
		 * Its answers go out, then the connection closes.
		 */
		c->closing = 1;
		conn_arm(s, c);
		return;
	}
	if (n <= 0) {
		/* The peer is gone; results still in flight are dropped. */
		conn_close(s, c);
		return;
	}
	if (c->rb.len == 0)
		c->frame_since = time(NULL);
	c->rb.len += n;
	c->last_active = time(NULL);
	conn_parse(s, c);
	conn_arm(s, c);
}

/*
 * uid, gid and pid of the peer, and every supplementary group: a peer
 * with more groups than the first guess gets a buffer of the size the
 * kernel asks for, so that no group granting a permission is missed.
 */
static int
peer_cred(int fd, struct peer_cred *peer)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	gid_t *groups = NULL, *ng;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1)
		return -1;
	memset(peer, 0, sizeof(*peer));
	peer->pid = uc.pid;
	peer->uid = uc.uid;
	peer->gid = uc.gid;
#ifdef SO_PEERGROUPS
	len = 64 * sizeof(gid_t);
	for (;;) {
		if ((ng = realloc(groups, len > 0 ? len : 1)) == NULL) {
			free(groups);
			return -1;
		}
		groups = ng;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups,
		    &len) == 0)
			break;
		if (errno != ERANGE) {
			free(groups);
			return -1;
		}
	}
	peer->groups = groups;
	peer->ngroups = len / sizeof(gid_t);
#endif
	return 0;
}

/*
 * Out of descriptors (EMFILE, ENFILE).  The real limit is lower than the
 * one known (other descriptors, or the system's): from now on the set is
 * full one below it, and one connection of a caller the policy does not
 * know is shed so that a caller it knows can still come in
 * (conn_admitted).  With none to shed, the listener is paused until a
 * connection closes (or a second passes) instead of failing accept() in
 * a loop.  The first failure is logged, the others counted.
 */
static void
accept_pause(struct server *s)
{
	struct epoll_event ev;
	time_t now = time(NULL);

	if (s->set.nconns > 1 && s->fd_cap >= s->set.nconns)
		s->fd_cap = s->set.nconns - 1;
	if (!shed_unknown(s, 0) && !s->accept_paused) {
		memset(&ev, 0, sizeof(ev));
		ev.data.u64 = TAG_LISTEN;
		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev) == -1)
			log_warn("epoll_ctl");
		s->accept_paused = 1;
	}
	if (s->accept_warned == 0 ||
	    now - s->accept_warned >= ACCEPT_WARN_INTERVAL) {
		log_warnx("accept: out of descriptors (%llu more failures "
		    "since the last warning): at most %d clients; callers not "
		    "in the policy are shed or wait", (unsigned long long)
		    s->accept_failures, s->fd_cap);
		s->accept_warned = now;
		s->accept_failures = 0;
	} else
		s->accept_failures++;
}

static void
accept_resume(struct server *s)
{
	struct epoll_event ev;

	if (!s->accept_paused || s->listen_fd == -1)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = TAG_LISTEN;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev) == -1)
		log_warn("epoll_ctl");
	s->accept_paused = 0;
}

/*
 * A caller the policy knows turned away: every place is taken by callers
 * it knows too.  Worth the operator's eye (max-clients is too low for
 * them), once a minute at most.
 */
static void
known_refused(struct server *s, const struct conn *c)
{
	time_t now = time(NULL);

	s->known_refusals++;
	if (s->known_warned != 0 && now - s->known_warned < 60)
		return;
	log_warnx("connection of uid %u (in the policy) refused: %d clients, "
	    "all of callers the policy knows (%llu such refusals since the "
	    "last warning); raise max-clients", (unsigned)c->peer.uid,
	    s->set.nconns - 1, (unsigned long long)s->known_refusals);
	s->known_warned = now;
	s->known_refusals = 0;
}

/*
 * Room for c: at most max-clients-per-uid of one uid, and at most
 * max-clients (or what the descriptor limit allows) in all; when full,
 * a caller the policy knows takes the place of one it does not know.
 */
static int
conn_admitted(struct server *s, struct conn *c)
{
	const struct config *conf = s->b->conf;
	int max = conf->max_clients < s->fd_cap ? conf->max_clients :
	    s->fd_cap;

	if (c->caller->nconns > conf->max_clients_per_uid) {
		log_debug("connection refused: uid %u has %d",
		    (unsigned)c->peer.uid, conf->max_clients_per_uid);
		return 0;
	}
	if (s->set.nconns <= max)
		return 1;
	if (c->known && shed_unknown(s, 0))
		return 1;
	if (c->known)
		known_refused(s, c);
	else
		log_debug("connection refused: %d clients", s->set.nconns - 1);
	return 0;
}

static void
accept_one(struct server *s)
{
	struct epoll_event ev;
	struct conn *c;
	int fd;

	fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE)
			accept_pause(s);
		else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (s->stopping) {
		close(fd);
		return;
	}
	if ((c = conn_new(&s->set)) == NULL || peer_cred(fd, &c->peer) ||
	    conn_set_caller(&s->set, c) != 0) {
		log_warn("accept: peer credentials");
		if (c != NULL)
			conn_detach(&s->set, c);
		close(fd);
		return;
	}
	c->known = policy_knows(s->b->policy, &c->peer);
	c->known_gen = s->b->policy_generation;
	c->last_active = time(NULL);
	if (!conn_admitted(s, c)) {
		conn_detach(&s->set, c);
		close(fd);
		return;
	}
	c->fd = fd;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_warn("epoll_ctl");
		conn_detach(&s->set, c);
		close(fd);
		return;
	}
	c->reading = 1;
	log_debug("connection from uid %u gid %u pid %d%s", (unsigned)
	    c->peer.uid, (unsigned)c->peer.gid, (int)c->peer.pid,
	    c->known ? "" : " (not in the policy)");
}

static void
collect_results(struct server *s)
{
	joblink_complete(s->b->jobs);
}

/*
 * Idle connections (idle-timeout, 0: never), and frames that take too
 * long to arrive once begun (frame-timeout, always: slowloris).
 */
static void
expire_idle(struct server *s)
{
	struct conn *c, *next;
	time_t now = time(NULL);
	int timeout = s->b->conf->idle_timeout;
	int frame_timeout = s->b->conf->frame_timeout;

	for (c = TAILQ_FIRST(&s->set.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (timeout != 0 && c->inflight == 0 &&
		    now - c->last_active >= timeout) {
			log_debug("closing idle connection from pid %d",
			    (int)c->peer.pid);
			conn_close(s, c);
		} else if (c->reading && c->frame_since != 0 &&
		    now - c->frame_since >= frame_timeout) {
			log_info("closing connection from uid %u pid %d: a "
			    "frame took over %d s", (unsigned)c->peer.uid,
			    (int)c->peer.pid, frame_timeout);
			conn_close(s, c);
		}
	}
	stream_expire(s->b, now);
}

/* After a reload: who the policy knows may have changed. */
static void
refresh_known(struct server *s)
{
	struct conn *c;

	if (s->known_gen == s->b->policy_generation)
		return;
	s->known_gen = s->b->policy_generation;
	TAILQ_FOREACH(c, &s->set.conns, entry)
		c->known = policy_knows(s->b->policy, &c->peer);
}

/* Frames held back: each connection takes its turn again. */
static void
retry_stalled(struct server *s)
{
	struct conn *c;
	int n = s->set.nstalled;

	s->ready = 0;
	while (n-- > 0 && (c = TAILQ_FIRST(&s->set.stalled)) != NULL) {
		conn_stall(c, 0);
		if (c->rb.len >= WIRE_HDR_LEN)
			conn_parse(s, c);
		conn_arm(s, c);
	}
}

/* Once a second: accept again, warn of accept failures. */
static void
accept_sweep(struct server *s)
{
	if (s->accept_failures > 0 && time(NULL) - s->accept_warned >=
	    ACCEPT_WARN_INTERVAL) {
		log_warnx("accept: %llu more failures for want of descriptors",
		    (unsigned long long)s->accept_failures);
		s->accept_warned = time(NULL);
		s->accept_failures = 0;
	}
	accept_resume(s);
}

static int
add_fd(struct server *s, int fd, uint64_t tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = tag;
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void
handle_signal(struct server *s)
{
	struct signalfd_siginfo si;

	while (read(s->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP || si.ssi_signo == SIGUSR1) {
			log_warnx("signal %u: send it to the monitor (the "
			    "daemon's first process)", si.ssi_signo);
			continue;
		}
		if (!s->stopping)
			log_info("signal %u: stopping", si.ssi_signo);
		stop(s);
	}
}

static void
stop(struct server *s)
{
	if (s->stopping)
		return;
	s->stopping = 1;
	s->stop_deadline = time(NULL) + s->b->conf->stop_timeout;
	/* New connections are refused from now on, not left waiting. */
	(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
	close(s->listen_fd);
	s->listen_fd = -1;
}

/* What the monitor sends (front_control); stop when it is gone. */
static void
handle_ctl(struct server *s)
{
	if (front_control(s->b) != 0) {
		log_warnx("the monitor went away; stopping");
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->b->ctl_fd, NULL);
		stop(s);
	}
}

/* Once a second: jobs the token sits on for too long. */
static void
sweep_signer(struct server *s)
{
	front_sweep(s->b);
	/* Jobs answered by the sweep are waiting. */
	collect_results(s);
}

static void
handle_event(struct server *s, struct epoll_event *ev)
{
	struct conn *c;

	switch (ev->data.u64) {
	case TAG_LISTEN:
		accept_one(s);
		return;
	case TAG_SIGNER:
		collect_results(s);
		return;
	case TAG_CTL:
		handle_ctl(s);
		return;
	case TAG_SIGNAL:
		handle_signal(s);
		return;
	}
	if (ev->data.u64 & JOBLINK_EV_TAG) {	/* a signer link */
		joblink_event(s->b->jobs, ev->data.u64, ev->events);
		return;
	}
	c = ev->data.ptr;
	if (c->dead)
		return;
	if (ev->events & EPOLLOUT)
		conn_flush(s, c);
	if (!c->dead && (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR |
	    EPOLLRDHUP)))
		conn_read(s, c, (ev->events & (EPOLLHUP | EPOLLERR)) != 0);
}

/*
 * The clients the descriptor limit leaves room for (raised to its hard
 * limit first): max-clients above it would end in EMFILE.
 */
static int
fd_cap(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024 - FD_RESERVE;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1024 * 1024)
		return 1024 * 1024;
	return rl.rlim_cur > 2 * FD_RESERVE ? (int)rl.rlim_cur - FD_RESERVE :
	    FD_RESERVE;
}

static int
server_setup(struct server *s, struct broker *b, int listen_fd)
{
	sigset_t mask;

	memset(s, 0, sizeof(*s));
	s->b = b;
	s->listen_fd = listen_fd;
	s->fd_cap = fd_cap();
	s->known_gen = b->policy_generation;
	connset_init(&s->set);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	if ((s->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    (s->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    add_fd(s, listen_fd, TAG_LISTEN) == -1 ||
	    add_fd(s, joblink_wake_fd(b->jobs), TAG_SIGNER) == -1 ||
	    add_fd(s, b->ctl_fd, TAG_CTL) == -1 ||
	    add_fd(s, s->sig_fd, TAG_SIGNAL) == -1) {
		log_warn("event loop set-up");
		return -1;
	}
	joblink_attach(b->jobs, s->epfd);
	return 0;
}

/* Before the sandbox: the epoll set and the signalfd (b->server). */
int
server_init(struct broker *b, int listen_fd)
{
	struct server *s;

	if ((s = malloc(sizeof(*s))) == NULL) {
		log_warn("event loop set-up");
		return -1;
	}
	if (server_setup(s, b, listen_fd) != 0) {
		free(s);
		return -1;
	}
	b->server = s;
	b->conns = &s->set;
	return 0;
}

int
server_run(struct broker *b)
{
	struct epoll_event evs[MAX_EVENTS];
	struct server *sp = b->server;
	struct conn *c;
	time_t last_sweep = time(NULL);
	int i, n;

	log_info("serving %zu keys with %d workers", b->nkeys,
	    b->conf->workers);
	for (;;) {
		n = epoll_wait(sp->epfd, evs, MAX_EVENTS, sp->ready ? 0 :
		    TAILQ_EMPTY(&sp->set.stalled) ? 1000 : STALL_POLL_MS);
		if (n == -1 && errno != EINTR)
			fatal("epoll_wait");
		sp->turn_frames = 0;
		sp->turn++;
		for (i = 0; i < n; i++)
			handle_event(sp, &evs[i]);
		if (audit_commit(b->audit) != 0)
			close_unsent(sp);
		flush_dirty(sp);
		if (!TAILQ_EMPTY(&sp->set.stalled))
			retry_stalled(sp);
		if (time(NULL) != last_sweep) {
			last_sweep = time(NULL);
			refresh_known(sp);
			expire_idle(sp);
			accept_sweep(sp);
			callers_sweep(&sp->set.callers, b->audit,
			    b->conf->refusal_interval, last_sweep, 0);
			sweep_signer(sp);
		}
		/* This turn's jobs (and any checkpoint) to the signer. */
		joblink_flush(b->jobs);
		connset_reap(&sp->set);
		/* Also the jobs of clients that hung up: all get decided. */
		if (sp->stopping && (sp->set.jobs == 0 ||
		    time(NULL) >= sp->stop_deadline))
			break;
	}
	while ((c = TAILQ_FIRST(&sp->set.conns)) != NULL)
		conn_close(sp, c);
	/* Refusals still counted go in before the stop line. */
	callers_sweep(&sp->set.callers, b->audit, b->conf->refusal_interval,
	    time(NULL), 1);
	connset_reap(&sp->set);
	joblink_attach(b->jobs, -1);	/* the last checkpoint polls its own */
	close(sp->epfd);
	close(sp->sig_fd);
	free(sp);
	b->server = NULL;
	b->conns = NULL;
	return 0;
}
