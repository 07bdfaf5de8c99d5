/*
 * The event loop: one thread, epoll, non-blocking sockets.  Each
 * connection has a read buffer that never holds more than one frame
 * beyond what is being parsed (the length is checked before buffering),
 * and a write buffer that is flushed once at the end of every loop turn.
 * A connection that has too much in flight or too much unread output is
 * not read from until it catches up.
 */
#include <sys/epoll.h>
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
#include "conn.h"
#include "audit.h"
#include "broker.h"
#include "control.h"
#include "dispatch.h"
#include "server.h"
#include "log.h"

#define READ_CHUNK	16384
#define MAX_INFLIGHT	256		/* requests per connection */
#define WBUF_HIGH	(1024 * 1024)	/* stop reading above this */
#define MAX_EVENTS	64
#define DRAIN_SECONDS	5

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
};

static void	conn_close(struct server *, struct conn *);
static void	stop(struct server *);
static void	conn_parse(struct server *, struct conn *);

static void
conn_arm(struct server *s, struct conn *c)
{
	struct epoll_event ev;
	int want_read, want_write;

	if (c->dead)
		return;
	want_read = !c->closing && !s->stopping && c->inflight < MAX_INFLIGHT &&
	    c->wb.len - c->woff < WBUF_HIGH;
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
	if (c->woff == c->wb.len) {
		buf_consume(&c->wb, c->woff);
		c->woff = 0;
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
	if (!c->closing && c->rb.len >= WIRE_HDR_LEN)
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
	(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	log_debug("connection from uid %u pid %d closed", (unsigned)
	    c->peer.uid, (int)c->peer.pid);
	conn_detach(&s->set, c);
}

/* A frame's body length, checked against the limit (wire_frame_len). */
static long
frame_body_len(const uint8_t *hdr, void *arg)
{
	struct server *s = arg;

	return wire_frame_len(hdr, s->b->conf->max_frame);
}

/* Parse every complete frame in the read buffer. */
static void
conn_parse(struct server *s, struct conn *c)
{
	size_t off = 0;
	long need;

	while (!c->closing && c->inflight < MAX_INFLIGHT &&
	    c->wb.len - c->woff < WBUF_HIGH) {
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
		dispatch_frame(s->b, c, c->rb.p + off + WIRE_HDR_LEN,
		    need - WIRE_HDR_LEN);
		off += need;
	}
	buf_consume(&c->rb, off);
}

/* Room for the frame that starts the buffer (its length is checked). */
static int
conn_rbuf_room(struct server *s, struct conn *c)
{
	size_t need = READ_CHUNK;
	long frame;

	frame = buf_frame_need(&c->rb, 0, WIRE_HDR_LEN, frame_body_len, s);
	if (frame > (long)need)
		need = frame;
	if (need < c->rb.len + 1)
		need = c->rb.len + READ_CHUNK;
	return buf_reserve(&c->rb, need - c->rb.len);
}

static void
conn_read(struct server *s, struct conn *c, int hup)
{
	ssize_t n;

	if (conn_rbuf_room(s, c) != 0) {
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
	if (c->rb.len == 0)
		c->frame_since = 0;
	else if (c->frame_since == 0)
		c->frame_since = time(NULL);
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

static void
accept_one(struct server *s)
{
	struct epoll_event ev;
	struct conn *c;
	int fd;

	fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (s->set.nconns >= s->b->conf->max_clients || s->stopping) {
		log_debug("connection refused: %d clients", s->set.nconns);
		close(fd);
		return;
	}
	if ((c = conn_new(&s->set)) == NULL || peer_cred(fd, &c->peer)) {
		log_warn("accept: peer credentials");
		if (c != NULL)
			conn_detach(&s->set, c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->last_active = time(NULL);
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
	log_debug("connection from uid %u gid %u pid %d", (unsigned)
	    c->peer.uid, (unsigned)c->peer.gid, (int)c->peer.pid);
}

static void
collect_results(struct server *s)
{
	joblink_complete(s->b->jobs);
}

static void
expire_idle(struct server *s)
{
	struct conn *c, *next;
	time_t now = time(NULL);
	int timeout = s->b->conf->idle_timeout;

	if (timeout == 0)
		return;
	for (c = TAILQ_FIRST(&s->set.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->inflight == 0 && now - c->last_active >= timeout) {
			log_debug("closing idle connection from pid %d",
			    (int)c->peer.pid);
			conn_close(s, c);
		} else if (c->reading && c->frame_since != 0 &&
		    now - c->frame_since >= timeout) {
			/* A frame trickling in byte by byte (slowloris). */
			log_debug("closing connection from pid %d: a frame "
			    "took over %d s", (int)c->peer.pid, timeout);
			conn_close(s, c);
		}
	}
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
	s->stop_deadline = time(NULL) + DRAIN_SECONDS;
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
	c = ev->data.ptr;
	if (c->dead)
		return;
	if (ev->events & EPOLLOUT)
		conn_flush(s, c);
	if (!c->dead && (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR |
	    EPOLLRDHUP)))
		conn_read(s, c, (ev->events & (EPOLLHUP | EPOLLERR)) != 0);
}

static int
server_setup(struct server *s, struct broker *b, int listen_fd)
{
	sigset_t mask;

	memset(s, 0, sizeof(*s));
	s->b = b;
	s->listen_fd = listen_fd;
	connset_init(&s->set);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	if ((s->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    (s->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    add_fd(s, listen_fd, TAG_LISTEN) == -1 ||
	    add_fd(s, joblink_fd(b->jobs), TAG_SIGNER) == -1 ||
	    add_fd(s, b->ctl_fd, TAG_CTL) == -1 ||
	    add_fd(s, s->sig_fd, TAG_SIGNAL) == -1) {
		log_warn("event loop set-up");
		return -1;
	}
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
		n = epoll_wait(sp->epfd, evs, MAX_EVENTS, 1000);
		if (n == -1 && errno != EINTR)
			fatal("epoll_wait");
		for (i = 0; i < n; i++)
			handle_event(sp, &evs[i]);
		if (audit_commit(b->audit) != 0)
			close_unsent(sp);
		flush_dirty(sp);
		if (time(NULL) != last_sweep) {
			last_sweep = time(NULL);
			expire_idle(sp);
			sweep_signer(sp);
		}
		/* This turn's jobs (and any checkpoint) to the signer. */
		joblink_flush(b->jobs);
		/* Also the jobs of clients that hung up: all get decided. */
		if (sp->stopping && (sp->set.jobs == 0 ||
		    time(NULL) >= sp->stop_deadline))
			break;
	}
	while ((c = TAILQ_FIRST(&sp->set.conns)) != NULL)
		conn_close(sp, c);
	close(sp->epfd);
	close(sp->sig_fd);
	free(sp);
	b->server = NULL;
	b->conns = NULL;
	return 0;
}
