/*
 * libp11broker connections: connect, and the pipelining machinery that
 * lets any number of threads share one socket.
 *
 * Each call registers a waiter (request id, result slot, condition
 * variable), writes its whole frame under the write lock and then waits.
 * One waiting thread at a time, the leader, reads frames from the socket
 * with the state lock released and hands each response to the waiter with
 * its id; when its own response has come it passes leadership to another
 * waiting thread.  Any failure of the stream fails every waiter and the
 * connection.
 *
 * A failed connection is replaced, not abandoned: the next call opens a
 * new socket to the same path before it sends anything.  A call whose own
 * request met a closed stream is made once more on a new socket when that
 * cannot do harm (conn_retry_ok): the broker closes connections that sat
 * idle past its idle-timeout, and a restarted broker has lost them all.
 * A socket is replaced only when no thread is inside a call on it any
 * more (users), so nobody can write to or read from the new one with
 * the old one's state.
 *
 * No call waits for ever (unless asked to): each has a deadline, the
 * connection's timeout from its start.  The leader sleeps in poll() no
 * longer than its own deadline, the others in a timed wait; whoever's
 * deadline passes first fails the connection (a broker that stopped
 * answering one call is not trusted with the next).  Writes are bounded
 * by the same timeout (SO_SNDTIMEO), and so is connecting to a socket
 * whose backlog is full.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p11broker.h"
#include "wire.h"
#include "client.h"

#ifdef P11B_SOCKET_PATH
#define CONN_DEFAULT_SOCKET	P11B_SOCKET_PATH
#else
#define CONN_DEFAULT_SOCKET	P11B_DEFAULT_SOCKET
#endif

#define CONN_RBUF_SIZE		(16 * 1024)
#define CONN_MESSAGE_MAX	256
#define CONN_TIMEOUT_DEFAULT	30000		/* ms: $P11BROKER_TIMEOUT */
#define CONN_TIMEOUT_MAX	86400000U	/* a day */

/* How much of a call reached the broker when it failed. */
enum conn_reach {
	CONN_REACH_NONE,	/* nothing: any call may be made again */
	CONN_REACH_CLOSED,	/* sent, then the stream ended, no answer */
	CONN_REACH_MAYBE	/* a timeout, half an answer, a bad one */
};

struct conn_waiter {
	TAILQ_ENTRY(conn_waiter) entry;
	uint64_t		 id;
	pthread_cond_t		 cond;
	int			 waiting;	/* waiting: may become leader */
	int			 done;		/* rc and resp are final */
	int			 rc;		/* 0: resp holds the response */
	int			 sent;		/* a byte of it was written */
	uint64_t		 gen;		/* the socket it went out on */
	struct timespec		 deadline;	/* CLOCK_MONOTONIC; 0: none */
	struct wire_response	 resp;
};

TAILQ_HEAD(conn_waiters, conn_waiter);

struct p11b_conn {
	int			 fd;
	pid_t			 pid;		/* the process that connected */
	unsigned int		 forks;		/* conn_forks then */
	char			 path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	unsigned int		 timeout_ms;	/* 0: none */
	_Atomic uint64_t	 next_id;
	pthread_mutex_t		 wlock;		/* one writer at a time */
	pthread_mutex_t		 lock;		/* protects the fields below */
	pthread_cond_t		 drained;	/* users fell to 0 */
	unsigned int		 users;		/* threads inside a call */
	uint64_t		 gen;		/* sockets opened so far - 1 */
	int			 failed;	/* 0 or the first P11B_ERR_* */
	int			 closed;	/* failed: the stream just ended */
	int			 leading;	/* a waiter is reading */
	char			 fail_message[CONN_MESSAGE_MAX];
	struct conn_waiters	 waiters;
	/* Only the leader touches these. */
	const struct timespec	*lead_deadline;
	char			 read_error[CONN_MESSAGE_MAX];
	int			 eof;		/* the broker hung up */
	int			 in_frame;	/* a byte of a response came */
	int			 poll_first;	/* our answer cannot be here yet */
	size_t			 rstart, rend;
	uint8_t			 rbuf[CONN_RBUF_SIZE];
};

/*
 * fork() seen in this process: counted by an atfork handler, so that a
 * call does not pay a getpid() system call to notice it was forked.
 * Should the handler not register, getpid() it is.
 */
static atomic_uint conn_forks;
static int conn_fork_counted;
static pthread_once_t conn_fork_once = PTHREAD_ONCE_INIT;

static void
conn_forked(void)
{
	atomic_fetch_add(&conn_forks, 1);
}

static void
conn_fork_init(void)
{
	conn_fork_counted = pthread_atfork(NULL, NULL, conn_forked) == 0;
}

/* This process is not the one that connected (a child after fork()). */
static int
conn_in_child(const struct p11b_conn *conn)
{
	if (conn_fork_counted)
		return atomic_load(&conn_forks) != conn->forks;
	return getpid() != conn->pid;
}

static _Thread_local char last_message[CONN_MESSAGE_MAX];

void
conn_set_message(const char *msg)
{
	size_t i;
	unsigned char c;

	if (msg == NULL)
		msg = "";
	for (i = 0; i < sizeof(last_message) - 1 && msg[i] != '\0'; i++) {
		c = (unsigned char)msg[i];
		/* The broker's text goes to terminals and logs. */
		last_message[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	last_message[i] = '\0';
}

const char *
p11b_last_message(void)
{
	return last_message;
}

static const char *
conn_socket_path(const char *path)
{
	const char *env;

	if (path != NULL)
		return path;
	if ((env = getenv("P11BROKER_SOCKET")) != NULL && *env != '\0')
		return env;
	return CONN_DEFAULT_SOCKET;
}

/* $P11BROKER_TIMEOUT: seconds (a fraction allowed), 0 for none. */
static unsigned int
conn_timeout_env(void)
{
	const char *env = getenv("P11BROKER_TIMEOUT");
	char *end;
	double s;

	if (env == NULL || *env == '\0')
		return CONN_TIMEOUT_DEFAULT;
	errno = 0;
	s = strtod(env, &end);
	if (errno != 0 || *end != '\0' || !(s >= 0))
		return CONN_TIMEOUT_DEFAULT;
	if (s * 1000 >= CONN_TIMEOUT_MAX)
		return CONN_TIMEOUT_MAX;
	if (s > 0 && s * 1000 < 1)
		return 1;
	return (unsigned int)(s * 1000);
}

/* Writes (and connect, for a Unix socket) give up after ms; 0: never. */
static void
conn_send_timeout(int fd, unsigned int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
conn_open_socket(const char *path, unsigned int timeout_ms, int *fdp)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* A full backlog makes connect() wait, as long as a send may. */
	conn_send_timeout(fd, timeout_ms);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int saved = errno == EAGAIN ? ETIMEDOUT : errno;

		close(fd);
		errno = saved;
		return -1;
	}
	*fdp = fd;
	return 0;
}

/* Timed waits count on the monotonic clock, as the deadlines do. */
static int
conn_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int r;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(cond, &attr) == 0 ? 0 : -1;
	pthread_condattr_destroy(&attr);
	return r;
}

static int
conn_connect_error(const char *path)
{
	char msg[CONN_MESSAGE_MAX];
	int saved = errno;

	snprintf(msg, sizeof(msg), "%s: %s", path, strerror(saved));
	conn_set_message(msg);
	errno = saved;
	return P11B_ERR_CONNECT;
}

int
p11b_connect(const char *path, struct p11b_conn **connp)
{
	struct p11b_conn *conn = NULL;
	unsigned int timeout_ms = conn_timeout_env();
	int fd = -1, locks = 0, r = P11B_ERR_NOMEM;

	if (connp == NULL) {
		conn_set_message("no connection pointer");
		return P11B_ERR_INVALID;
	}
	*connp = NULL;
	path = conn_socket_path(path);
	if (conn_open_socket(path, timeout_ms, &fd) == -1)
		return conn_connect_error(path);
	if ((conn = calloc(1, sizeof(*conn))) == NULL)
		goto out;
	if (pthread_mutex_init(&conn->lock, NULL) != 0)
		goto out;
	locks = 1;
	if (pthread_mutex_init(&conn->wlock, NULL) != 0)
		goto out;
	locks = 2;
	if (conn_cond_init(&conn->drained) != 0)
		goto out;
	/* conn_open_socket() checked that it fits. */
	strlcpy(conn->path, path, sizeof(conn->path));
	(void)pthread_once(&conn_fork_once, conn_fork_init);
	conn->pid = getpid();
	conn->forks = atomic_load(&conn_forks);
	conn->fd = fd;
	conn->timeout_ms = timeout_ms;
	atomic_init(&conn->next_id, 0);
	TAILQ_INIT(&conn->waiters);
	*connp = conn;
	conn = NULL;
	fd = -1;
	r = P11B_OK;
	conn_set_message("");
 out:
	if (r != P11B_OK)
		conn_set_message("out of memory");
	if (conn != NULL && locks > 1)
		pthread_mutex_destroy(&conn->wlock);
	if (conn != NULL && locks > 0)
		pthread_mutex_destroy(&conn->lock);
	if (fd != -1)
		close(fd);
	free(conn);
	return r;
}

void
p11b_set_timeout(struct p11b_conn *conn, unsigned int ms)
{
	if (conn == NULL)
		return;
	if (ms > CONN_TIMEOUT_MAX)
		ms = CONN_TIMEOUT_MAX;
	pthread_mutex_lock(&conn->lock);
	conn->timeout_ms = ms;
	/* Under the lock: a reconnect may be replacing the socket. */
	conn_send_timeout(conn->fd, ms);
	pthread_mutex_unlock(&conn->lock);
}

void
p11b_close(struct p11b_conn *conn)
{
	if (conn == NULL)
		return;
	close(conn->fd);
	pthread_mutex_destroy(&conn->lock);
	pthread_mutex_destroy(&conn->wlock);
	pthread_cond_destroy(&conn->drained);
	/* The read buffer may still hold a secret response. */
	explicit_bzero(conn->rbuf, sizeof(conn->rbuf));
	free(conn);
}

void
p11b_close_after_fork(struct p11b_conn *conn)
{
	if (conn == NULL)
		return;
	close(conn->fd);
	explicit_bzero(conn->rbuf, sizeof(conn->rbuf));
	free(conn);
}

/*
 * Fail the connection (lock held): every waiter gets the error now; the
 * next call replaces the socket.  Shutting the socket down wakes a leader
 * blocked in recv(); the descriptor itself stays open until no thread is
 * inside a call (conn_reopen) so that it cannot be reused under a thread
 * still holding it.  closed: the broker hung up between answers.
 */
static void
conn_fail_closed(struct p11b_conn *conn, int rc, const char *why, int closed)
{
	struct conn_waiter *w;

	if (conn->failed == 0) {
		conn->failed = rc;
		conn->closed = closed;
		strlcpy(conn->fail_message, why != NULL ? why : "",
		    sizeof(conn->fail_message));
		shutdown(conn->fd, SHUT_RDWR);
	}
	while ((w = TAILQ_FIRST(&conn->waiters)) != NULL) {
		TAILQ_REMOVE(&conn->waiters, w, entry);
		w->rc = conn->failed;
		w->done = 1;
		pthread_cond_signal(&w->cond);
	}
}

static void
conn_fail(struct p11b_conn *conn, int rc, const char *why)
{
	conn_fail_closed(conn, rc, why, 0);
}

static int
conn_has_deadline(const struct timespec *t)
{
	return t->tv_sec != 0 || t->tv_nsec != 0;
}

/* Milliseconds left until t (rounded up), 0 once it has passed. */
static int
conn_ms_left(const struct timespec *t)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = ((int64_t)t->tv_sec - now.tv_sec) * 1000 +
	    ((int64_t)t->tv_nsec - now.tv_nsec + 999999) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static void
conn_timeout_message(struct p11b_conn *conn, char *buf, size_t len)
{
	snprintf(buf, len, "no answer from the broker within %u.%03u s",
	    conn->timeout_ms / 1000, conn->timeout_ms % 1000);
}

/* Read once into the buffer (leader only, no lock held). */
static int
conn_recv(struct p11b_conn *conn, uint8_t *buf, size_t len, size_t *gotp)
{
	const struct timespec *dl = conn->lead_deadline;
	struct pollfd pfd;
	ssize_t n;
	int wait, sleep_first;

	/*
	 * Our request alone is out and nothing is buffered: its answer
	 * cannot be here yet, so sleep before the first recv() (one system
	 * call fewer per request than trying it first).
	 */
	sleep_first = conn->poll_first;
	conn->poll_first = 0;
	for (;;) {
		if (!sleep_first) {
			n = recv(conn->fd, buf, len, MSG_DONTWAIT);
			if (n > 0) {
				conn->in_frame = 1;
				*gotp = (size_t)n;
				return 0;
			}
			/* A reset: it closed with our request unread. */
			if (n == 0 || errno == ECONNRESET) {
				conn->eof = 1;
				strlcpy(conn->read_error, "connection closed "
				    "by the broker", sizeof(conn->read_error));
				return P11B_ERR_IO;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				break;
		}
		sleep_first = 0;
		/*
		 * Sleep in poll(), not in recv(): a reader blocked in recv()
		 * on a Unix socket is also woken each time the broker reads
		 * our request (write space), and those wake-ups cost as much
		 * as the real one.
		 */
		pfd.fd = conn->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		wait = -1;
		if (dl != NULL && conn_has_deadline(dl) &&
		    (wait = conn_ms_left(dl)) == 0) {
			conn_timeout_message(conn, conn->read_error,
			    sizeof(conn->read_error));
			return P11B_ERR_TIMEOUT;
		}
		if (poll(&pfd, 1, wait) == -1 && errno != EINTR)
			break;
	}
	snprintf(conn->read_error, sizeof(conn->read_error), "read: %s",
	    strerror(errno));
	return P11B_ERR_IO;
}

/* Make sure need bytes (need <= CONN_RBUF_SIZE) are buffered. */
static int
conn_fill(struct p11b_conn *conn, size_t need)
{
	size_t have, got;
	int r;

	if (conn->rstart + need > sizeof(conn->rbuf)) {
		have = conn->rend - conn->rstart;
		memmove(conn->rbuf, conn->rbuf + conn->rstart, have);
		explicit_bzero(conn->rbuf + have, conn->rend - have);
		conn->rstart = 0;
		conn->rend = have;
	}
	while (conn->rend - conn->rstart < need) {
		if ((r = conn_recv(conn, conn->rbuf + conn->rend,
		    sizeof(conn->rbuf) - conn->rend, &got)) != 0)
			return r;
		conn->rend += got;
	}
	return 0;
}

/* Consume len buffered bytes, wiping them. */
static void
conn_consume(struct p11b_conn *conn, size_t len)
{
	explicit_bzero(conn->rbuf + conn->rstart, len);
	conn->rstart += len;
	if (conn->rstart == conn->rend)
		conn->rstart = conn->rend = 0;
}

/* A frame too large for the buffer: read its body into its own memory. */
static int
conn_read_large(struct p11b_conn *conn, size_t len, uint8_t **bodyp)
{
	uint8_t *body;
	size_t have, got;
	int r;

	if ((body = malloc(len)) == NULL) {
		strlcpy(conn->read_error, "out of memory",
		    sizeof(conn->read_error));
		return P11B_ERR_NOMEM;
	}
	conn_consume(conn, WIRE_HDR_LEN);
	have = conn->rend - conn->rstart;
	memcpy(body, conn->rbuf + conn->rstart, have);
	conn_consume(conn, have);
	while (have < len) {
		if ((r = conn_recv(conn, body + have, len - have, &got)) != 0) {
			freezero(body, len);
			return r;
		}
		have += got;
	}
	*bodyp = body;
	return 0;
}

static int
conn_decode(struct p11b_conn *conn, const uint8_t *body, size_t len,
    struct wire_response *resp)
{
	int r;

	if ((r = wire_response_decode(body, len, resp)) == 0)
		return 0;
	wire_response_free(resp);
	snprintf(conn->read_error, sizeof(conn->read_error),
	    "bad response from the broker: %s", wire_strerror(r));
	return r == WIRE_ERR_NOMEM ? P11B_ERR_NOMEM : P11B_ERR_PROTOCOL;
}

/* Read and decode one response (leader only, no lock held). */
static int
conn_read_response(struct p11b_conn *conn, struct wire_response *resp)
{
	uint8_t *body = NULL;
	long len;
	int r;

	/* Bytes left over from the last read belong to this frame. */
	conn->in_frame = conn->rend > conn->rstart;
	if ((r = conn_fill(conn, WIRE_HDR_LEN)) != 0)
		return r;
	len = wire_frame_len(conn->rbuf + conn->rstart, WIRE_CLIENT_MAX_FRAME);
	if (len < 0) {
		snprintf(conn->read_error, sizeof(conn->read_error),
		    "bad response from the broker: %s", wire_strerror(len));
		return P11B_ERR_PROTOCOL;
	}
	if (WIRE_HDR_LEN + (size_t)len <= sizeof(conn->rbuf)) {
		if ((r = conn_fill(conn, WIRE_HDR_LEN + len)) != 0)
			return r;
		r = conn_decode(conn, conn->rbuf + conn->rstart + WIRE_HDR_LEN,
		    len, resp);
		conn_consume(conn, WIRE_HDR_LEN + len);
		return r;
	}
	if ((r = conn_read_large(conn, len, &body)) != 0)
		return r;
	r = conn_decode(conn, body, len, resp);
	freezero(body, len);
	return r;
}

static void
conn_hand(struct conn_waiter *w, struct wire_response *resp)
{
	w->resp = *resp;
	w->rc = 0;
	w->done = 1;
	pthread_cond_signal(&w->cond);
}

/*
 * The broker could not read a frame of ours (empty, over its limit,
 * undecodable): it answers once with id 0 and hangs up.  With a single
 * request outstanding the frame was that request's and the broker's
 * status is its answer; with more, nobody can tell whose it was.
 */
static void
conn_refused(struct p11b_conn *conn, struct wire_response *resp)
{
	struct conn_waiter *w;
	char why[CONN_MESSAGE_MAX];

	snprintf(why, sizeof(why), "broker refused a request: %s: %s",
	    p11b_status_name(resp->status), resp->message);
	w = TAILQ_FIRST(&conn->waiters);
	if (w != NULL && TAILQ_NEXT(w, entry) == NULL &&
	    resp->status != P11B_OK) {
		TAILQ_REMOVE(&conn->waiters, w, entry);
		resp->id = w->id;
		conn_hand(w, resp);
	} else
		wire_response_free(resp);
	conn_fail(conn, P11B_ERR_PROTOCOL, why);
}

/* Hand a response to its waiter (lock held). */
static void
conn_deliver(struct p11b_conn *conn, struct wire_response *resp)
{
	struct conn_waiter *w;
	char why[CONN_MESSAGE_MAX];

	if (resp->id == 0) {
		conn_refused(conn, resp);
		return;
	}
	TAILQ_FOREACH(w, &conn->waiters, entry)
		if (w->id == resp->id)
			break;
	if (w == NULL) {
		snprintf(why, sizeof(why), "response to unknown request %llu",
		    (unsigned long long)resp->id);
		wire_response_free(resp);
		conn_fail(conn, P11B_ERR_PROTOCOL, why);
		return;
	}
	TAILQ_REMOVE(&conn->waiters, w, entry);
	conn_hand(w, resp);
}

/* Wake a thread in the wait phase to take over reading (lock held). */
static void
conn_pass_lead(struct p11b_conn *conn)
{
	struct conn_waiter *w;

	TAILQ_FOREACH(w, &conn->waiters, entry) {
		if (w->waiting) {
			pthread_cond_signal(&w->cond);
			return;
		}
	}
}

/* Read responses until our own has come (lock held on entry and exit). */
static void
conn_lead(struct p11b_conn *conn, struct conn_waiter *self)
{
	struct wire_response resp;
	int r;

	conn->leading = 1;
	conn->lead_deadline = &self->deadline;
	while (!self->done) {
		conn->poll_first = TAILQ_FIRST(&conn->waiters) == self &&
		    TAILQ_NEXT(self, entry) == NULL &&
		    conn->rend == conn->rstart;
		pthread_mutex_unlock(&conn->lock);
		r = conn_read_response(conn, &resp);
		pthread_mutex_lock(&conn->lock);
		if (r != 0)
			conn_fail_closed(conn, r, conn->read_error,
			    conn->eof && !conn->in_frame);
		else
			conn_deliver(conn, &resp);
	}
	conn->leading = 0;
	conn->lead_deadline = NULL;
	conn_pass_lead(conn);
}

/*
 * Not the leader: wait to be handed the answer or the lead, until the
 * call's deadline (lock held).  Then the connection fails; shutting it
 * down wakes the leader.
 */
static void
conn_wait(struct p11b_conn *conn, struct conn_waiter *w)
{
	char why[CONN_MESSAGE_MAX];

	if (!conn_has_deadline(&w->deadline)) {
		pthread_cond_wait(&w->cond, &conn->lock);
		return;
	}
	if (pthread_cond_timedwait(&w->cond, &conn->lock, &w->deadline) ==
	    ETIMEDOUT && !w->done) {
		conn_timeout_message(conn, why, sizeof(why));
		conn_fail(conn, P11B_ERR_TIMEOUT, why);
	}
}

/*
 * Write a whole frame; returns 0 or an errno value, and whether any of
 * it was written (the broker may have read that much).
 */
static int
conn_send(struct p11b_conn *conn, const uint8_t *frame, size_t len,
    int *sentp)
{
	ssize_t n;
	int err = 0;

	pthread_mutex_lock(&conn->wlock);
	while (len > 0) {
		/* MSG_NOSIGNAL: a closed broker is an error, not SIGPIPE. */
		n = send(conn->fd, frame, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n == 0 ? EIO : errno;
			break;
		}
		*sentp = 1;
		frame += n;
		len -= (size_t)n;
	}
	pthread_mutex_unlock(&conn->wlock);
	return err;
}

static void
conn_set_deadline(struct p11b_conn *conn, struct timespec *deadline)
{
	memset(deadline, 0, sizeof(*deadline));
	if (conn->timeout_ms == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += conn->timeout_ms / 1000;
	deadline->tv_nsec += (long)(conn->timeout_ms % 1000) * 1000000;
	if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
}

/* How far a failed call got (lock held). */
static enum conn_reach
conn_reach(const struct p11b_conn *conn, const struct conn_waiter *w)
{
	if (w->rc != P11B_ERR_IO)
		return CONN_REACH_MAYBE;
	if (!w->sent)
		return CONN_REACH_NONE;
	return conn->closed ? CONN_REACH_CLOSED : CONN_REACH_MAYBE;
}

static int
conn_exchange(struct p11b_conn *conn, struct conn_waiter *w,
    const uint8_t *frame, size_t len, enum conn_reach *reachp)
{
	char why[CONN_MESSAGE_MAX];
	int err, r;

	pthread_mutex_lock(&conn->lock);
	w->gen = conn->gen;
	if (conn->failed != 0) {
		pthread_mutex_unlock(&conn->lock);
		conn_set_message("connection already failed");
		*reachp = CONN_REACH_NONE;
		return P11B_ERR_IO;
	}
	conn_set_deadline(conn, &w->deadline);
	/* Registered before the frame leaves: its response will find us. */
	TAILQ_INSERT_TAIL(&conn->waiters, w, entry);
	conn->users++;
	pthread_mutex_unlock(&conn->lock);

	/*
	 * EPIPE or ECONNRESET: the broker has closed, maybe after saying
	 * why (a frame over its limit).  Its last words are already in our
	 * receive buffer, so read on until EOF instead of failing now.
	 */
	err = conn_send(conn, frame, len, &w->sent);
	if (err == EPIPE || err == ECONNRESET)
		err = 0;
	else if (err == EAGAIN || err == EWOULDBLOCK)
		snprintf(why, sizeof(why), "the broker did not read our "
		    "request within %u.%03u s", conn->timeout_ms / 1000,
		    conn->timeout_ms % 1000);
	else if (err != 0)
		snprintf(why, sizeof(why), "write: %s", strerror(err));

	pthread_mutex_lock(&conn->lock);
	if (err != 0)
		conn_fail(conn, err == EAGAIN || err == EWOULDBLOCK ?
		    P11B_ERR_TIMEOUT : P11B_ERR_IO, why);
	w->waiting = 1;
	while (!w->done) {
		if (!conn->leading)
			conn_lead(conn, w);
		else
			conn_wait(conn, w);
	}
	if ((r = w->rc) != 0) {
		conn_set_message(conn->fail_message);
		*reachp = conn_reach(conn, w);
	}
	if (--conn->users == 0)
		pthread_cond_broadcast(&conn->drained);
	pthread_mutex_unlock(&conn->lock);
	return r;
}

/*
 * Replace the failed socket that a call went out on (generation gen)
 * with a new one to the same path, once no thread is inside a call on
 * it.  Nothing to do when another thread has replaced it already.
 */
static int
conn_reopen(struct p11b_conn *conn, uint64_t gen)
{
	struct timespec deadline;
	int fd, r = 0;

	pthread_mutex_lock(&conn->lock);
	conn_set_deadline(conn, &deadline);
	while (conn->gen == gen && conn->users > 0) {
		if (!conn_has_deadline(&deadline))
			pthread_cond_wait(&conn->drained, &conn->lock);
		else if (pthread_cond_timedwait(&conn->drained, &conn->lock,
		    &deadline) == ETIMEDOUT && conn->users > 0) {
			conn_set_message("the failed connection is still in "
			    "use by another thread");
			r = P11B_ERR_TIMEOUT;
			goto out;
		}
	}
	if (conn->gen != gen)
		goto out;
	if (conn_open_socket(conn->path, conn->timeout_ms, &fd) == -1) {
		r = conn_connect_error(conn->path);
		goto out;
	}
	close(conn->fd);
	conn->fd = fd;
	explicit_bzero(conn->rbuf, sizeof(conn->rbuf));
	conn->rstart = conn->rend = 0;
	conn->failed = conn->closed = 0;
	conn->eof = conn->in_frame = 0;
	conn->fail_message[0] = '\0';
	conn->gen++;
 out:
	pthread_mutex_unlock(&conn->lock);
	return r;
}

uint64_t
conn_generation(struct p11b_conn *conn)
{
	uint64_t gen;

	pthread_mutex_lock(&conn->lock);
	gen = conn->gen;
	pthread_mutex_unlock(&conn->lock);
	return gen;
}

/*
 * May a call of this kind be made again?  One that never reached the
 * broker (written to a socket it had already closed, or to a connection
 * that had failed before) always.  One that reached it, after which it
 * hung up without a byte of answer (an idle close crossing our request,
 * a broker stopped or killed), only when doing it twice can do no harm:
 * the broker may have done it and written its audit line.  Reading a
 * secret is not repeated then, so that the audit trail and the rate
 * limit count each read the caller asked for exactly once.  A timeout is
 * never repeated: the broker may still be at work on it, the caller has
 * waited as long as it allowed, and a second try would double both that
 * wait and the broker's load.
 */
static int
conn_retry_ok(enum p11b_op op, enum conn_reach reach)
{
	switch (reach) {
	case CONN_REACH_NONE:
		return 1;
	case CONN_REACH_MAYBE:
		return 0;
	case CONN_REACH_CLOSED:
		break;
	}
	switch (op) {
	case P11B_OP_SIGN:
	case P11B_OP_HMAC:
	case P11B_OP_HMAC_VERIFY:
	case P11B_OP_PUBKEY:
	case P11B_OP_RANDOM:
	case P11B_OP_LIST:
	case P11B_OP_HEALTH:
	case P11B_OP_STATS:
		return 1;
	case P11B_OP_SECRET:
	case P11B_OP_GENERATE:	/* a repeat could make a second key */
	case P11B_OP_NONE:
		return 0;
	}
	return 0;
}

/* At most: a stale socket replaced, then one repeat after a hang-up. */
#define CONN_ATTEMPTS	3

int
conn_call(struct p11b_conn *conn, struct wire_request *req,
    struct wire_response *resp)
{
	struct conn_waiter w;
	enum conn_reach reach = CONN_REACH_MAYBE;
	uint8_t *frame = NULL;
	size_t len = 0;
	int attempt, repeated = 0, r;

	memset(resp, 0, sizeof(*resp));
	memset(&w, 0, sizeof(w));
	conn_set_message("");
	/*
	 * The child's copy of the socket is the parent's connection: frames
	 * of both would mix on it.  Locks a parent thread held at fork()
	 * stay held in the child, so nothing here may be touched.
	 */
	if (conn_in_child(conn)) {
		conn_set_message("connection made by the parent process "
		    "before fork(): p11b_close_after_fork() it and connect");
		return P11B_ERR_INVALID;
	}
	do {
		w.id = atomic_fetch_add(&conn->next_id, 1) + 1;
	} while (w.id == 0);
	req->id = w.id;
	if ((r = wire_request_encode(req, &frame, &len)) != 0) {
		conn_set_message(wire_strerror(r));
		return r == WIRE_ERR_NOMEM ? P11B_ERR_NOMEM : P11B_ERR_INVALID;
	}
	if (conn_cond_init(&w.cond) != 0) {
		freezero(frame, len);
		conn_set_message("cannot create condition variable");
		return P11B_ERR_NOMEM;
	}
	for (attempt = 1;; attempt++) {
		w.waiting = w.done = w.rc = w.sent = 0;
		if ((r = conn_exchange(conn, &w, frame, len, &reach)) == 0) {
			*resp = w.resp;
			break;
		}
		if (attempt == CONN_ATTEMPTS ||
		    !conn_retry_ok(req->op, reach) ||
		    (reach == CONN_REACH_CLOSED && repeated++ > 0))
			break;
		if ((r = conn_reopen(conn, w.gen)) != 0)
			break;
	}
	/* The request may carry data worth hiding (a MAC, a message). */
	freezero(frame, len);
	pthread_cond_destroy(&w.cond);
	if (r == 0)
		conn_set_message("");
	return r;
}

/*
 * Streams (client/stream.c): one waiter for the whole stream, registered
 * before its first frame leaves, so that an early answer (a refusal at
 * the first frame) finds it whoever reads; frames are sent under the
 * write lock one at a time, so that other threads' requests interleave.
 */
struct conn_stream {
	struct conn_waiter	 w;
};

/* The call's deadline from now (lock held). */
static void
conn_deadline(struct p11b_conn *conn, struct conn_waiter *w)
{
	memset(&w->deadline, 0, sizeof(w->deadline));
	if (conn->timeout_ms == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &w->deadline);
	w->deadline.tv_sec += conn->timeout_ms / 1000;
	w->deadline.tv_nsec += (long)(conn->timeout_ms % 1000) * 1000000;
	if (w->deadline.tv_nsec >= 1000000000) {
		w->deadline.tv_sec++;
		w->deadline.tv_nsec -= 1000000000;
	}
}

/* Encode and send one frame of the stream; the failure fails conn. */
static int
conn_stream_write(struct p11b_conn *conn, struct conn_stream *cs,
    struct wire_request *req)
{
	char why[CONN_MESSAGE_MAX];
	uint8_t *frame = NULL;
	size_t len = 0;
	int err, r, sent = 0;

	req->id = cs->w.id;
	if ((r = wire_request_encode(req, &frame, &len)) != 0) {
		conn_set_message(wire_strerror(r));
		return r == WIRE_ERR_NOMEM ? P11B_ERR_NOMEM : P11B_ERR_INVALID;
	}
	err = conn_send(conn, frame, len, &sent);
	freezero(frame, len);
	/* EPIPE: the broker closed, maybe after saying why; read on. */
	if (err == 0 || err == EPIPE || err == ECONNRESET)
		return 0;
	if (err == EAGAIN || err == EWOULDBLOCK)
		snprintf(why, sizeof(why), "the broker did not read our "
		    "request within %u.%03u s", conn->timeout_ms / 1000,
		    conn->timeout_ms % 1000);
	else
		snprintf(why, sizeof(why), "write: %s", strerror(err));
	pthread_mutex_lock(&conn->lock);
	conn_fail(conn, err == EAGAIN || err == EWOULDBLOCK ?
	    P11B_ERR_TIMEOUT : P11B_ERR_IO, why);
	pthread_mutex_unlock(&conn->lock);
	return 0;
}

int
conn_stream_open(struct p11b_conn *conn, struct wire_request *req,
    struct conn_stream **csp)
{
	struct conn_stream *cs;
	uint64_t gen;
	int failed, r;

	*csp = NULL;
	if (conn_in_child(conn)) {
		conn_set_message("connection made by the parent process "
		    "before fork(): p11b_close_after_fork() it and connect");
		return P11B_ERR_INVALID;
	}
	/* A socket that failed before (an idle close) is replaced first. */
	pthread_mutex_lock(&conn->lock);
	gen = conn->gen;
	failed = conn->failed != 0;
	pthread_mutex_unlock(&conn->lock);
	if (failed && (r = conn_reopen(conn, gen)) != 0)
		return r;
	if ((cs = calloc(1, sizeof(*cs))) == NULL) {
		conn_set_message("out of memory");
		return P11B_ERR_NOMEM;
	}
	if (conn_cond_init(&cs->w.cond) != 0) {
		free(cs);
		conn_set_message("cannot create condition variable");
		return P11B_ERR_NOMEM;
	}
	do {
		cs->w.id = atomic_fetch_add(&conn->next_id, 1) + 1;
	} while (cs->w.id == 0);
	pthread_mutex_lock(&conn->lock);
	if (conn->failed != 0) {
		pthread_mutex_unlock(&conn->lock);
		pthread_cond_destroy(&cs->w.cond);
		free(cs);
		conn_set_message("connection already failed");
		return P11B_ERR_IO;
	}
	conn_deadline(conn, &cs->w);
	TAILQ_INSERT_TAIL(&conn->waiters, &cs->w, entry);
	/* The socket stays while the stream lives (conn_reopen waits). */
	conn->users++;
	pthread_mutex_unlock(&conn->lock);
	if ((r = conn_stream_write(conn, cs, req)) != 0) {
		/* Nothing left: nobody will answer this id. */
		pthread_mutex_lock(&conn->lock);
		if (!cs->w.done)
			TAILQ_REMOVE(&conn->waiters, &cs->w, entry);
		if (--conn->users == 0)
			pthread_cond_broadcast(&conn->drained);
		pthread_mutex_unlock(&conn->lock);
		pthread_cond_destroy(&cs->w.cond);
		free(cs);
		return r;
	}
	*csp = cs;
	return 0;
}

/*
 * Has the stream been answered already?  With nobody reading, a
 * response waiting on the socket is read now (it may be ours: a refusal
 * at the first frame), so that a refused client stops sending.
 */
static int
conn_stream_answered(struct p11b_conn *conn, struct conn_stream *cs)
{
	struct pollfd pfd = { conn->fd, POLLIN, 0 };
	struct wire_response resp;
	int r, done;

	pthread_mutex_lock(&conn->lock);
	if (!cs->w.done && !conn->leading && conn->failed == 0 &&
	    poll(&pfd, 1, 0) == 1) {
		conn->leading = 1;
		conn_deadline(conn, &cs->w);
		conn->lead_deadline = &cs->w.deadline;
		pthread_mutex_unlock(&conn->lock);
		r = conn_read_response(conn, &resp);
		pthread_mutex_lock(&conn->lock);
		if (r != 0)
			conn_fail(conn, r, conn->read_error);
		else
			conn_deliver(conn, &resp);
		conn->leading = 0;
		conn->lead_deadline = NULL;
		conn_pass_lead(conn);
	}
	done = cs->w.done || conn->failed != 0;
	pthread_mutex_unlock(&conn->lock);
	return done;
}

int
conn_stream_send(struct p11b_conn *conn, struct conn_stream *cs,
    struct wire_request *req)
{
	if (conn_stream_answered(conn, cs))
		return 1;
	return conn_stream_write(conn, cs, req);
}

int
conn_stream_finish(struct p11b_conn *conn, struct conn_stream *cs,
    struct wire_response *resp)
{
	int r;

	memset(resp, 0, sizeof(*resp));
	pthread_mutex_lock(&conn->lock);
	/* The wait for the answer has the whole timeout, from now. */
	conn_deadline(conn, &cs->w);
	cs->w.waiting = 1;
	while (!cs->w.done) {
		if (conn->failed != 0) {
			/* conn_fail() took every waiter off: ours too. */
			cs->w.rc = conn->failed;
			break;
		}
		if (!conn->leading)
			conn_lead(conn, &cs->w);
		else
			conn_wait(conn, &cs->w);
	}
	if ((r = cs->w.rc) != 0)
		conn_set_message(conn->fail_message);
	else
		*resp = cs->w.resp;
	if (--conn->users == 0)
		pthread_cond_broadcast(&conn->drained);
	pthread_mutex_unlock(&conn->lock);
	pthread_cond_destroy(&cs->w.cond);
	free(cs);
	return r;
}
