/*
 * The module's connections to the broker: a small pool shared by all
 * threads and sessions.  A call takes an idle connection, or opens one
 * while the pool is not full (P11BROKER_PKCS11_CONNECTIONS, default 4),
 * or else shares the least busy one: a libp11broker connection pipelines
 * the requests of any number of threads.  A single-threaded caller uses
 * one connection.  Calls hold a reference to their connection, never a
 * lock.
 *
 * When a call fails for a reason of the stream (the broker went away, a
 * malformed answer), libp11broker fails every call waiting on that
 * connection at once.  The pool is then retired: the next call opens a
 * new connection, and the old ones are closed when their last caller has
 * let go of them.
 */
#include <sys/types.h>

#include <sys/queue.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "module.h"
#include "client.h"

/* Connections per process: P11BROKER_PKCS11_CONNECTIONS. */
#define LINK_POOL_DEFAULT	4
#define LINK_POOL_MAX		64

struct link {
	TAILQ_ENTRY(link)	 entry;
	struct p11b_conn	*conn;
	unsigned int		 refs;		/* calls using it now */
	int			 retired;
	uint64_t		 conn_gen;	/* its sockets replaced so far */
};

TAILQ_HEAD(link_list, link);

static pthread_mutex_t	 link_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct link_list	 link_pool = TAILQ_HEAD_INITIALIZER(link_pool);
static unsigned int	 link_npool;
static unsigned int	 link_max;
static uint64_t		 link_gen;

static int
link_stream_error(int rc)
{
	return rc == P11B_ERR_CONNECT || rc == P11B_ERR_IO ||
	    rc == P11B_ERR_PROTOCOL || rc == P11B_ERR_TIMEOUT;
}

static unsigned int
link_pool_size(void)
{
	const char *env = getenv("P11BROKER_PKCS11_CONNECTIONS");
	long n;

	if (env == NULL || *env == '\0')
		return LINK_POOL_DEFAULT;
	n = strtol(env, NULL, 10);
	if (n < 1)
		n = 1;
	if (n > LINK_POOL_MAX)
		n = LINK_POOL_MAX;
	return (unsigned int)n;
}

/* A new connection for the pool (link_mutex held). */
static CK_RV
link_open(struct link **lp)
{
	struct link *l;
	int r;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return CKR_HOST_MEMORY;
	/*
	 * Connecting to a Unix socket does not block: the broker is
	 * there or it is not.  Other threads wait for the answer
	 * rather than each trying on its own.
	 */
	if ((r = p11b_connect(NULL, &l->conn)) != P11B_OK) {
		module_debug("connect: %s: %s", p11b_strerror(r),
		    p11b_last_message());
		free(l);
		return link_ckr(r);
	}
	TAILQ_INSERT_TAIL(&link_pool, l, entry);
	link_npool++;
	*lp = l;
	return CKR_OK;
}

/*
 * A connection for one call: an idle one, else a new one while the pool
 * is not full, else the least busy one (its requests are pipelined).
 */
CK_RV
link_get(struct link **linkp)
{
	struct link *l, *best = NULL;
	CK_RV rv = CKR_OK;

	*linkp = NULL;
	pthread_mutex_lock(&link_mutex);
	if (link_max == 0)
		link_max = link_pool_size();
	TAILQ_FOREACH(l, &link_pool, entry)
		if (best == NULL || l->refs < best->refs)
			best = l;
	if ((best == NULL || best->refs > 0) && link_npool < link_max) {
		if ((rv = link_open(&l)) == CKR_OK)
			best = l;
		else if (best != NULL)
			rv = CKR_OK;	/* the pool still works */
	}
	if (rv == CKR_OK) {
		best->refs++;
		*linkp = best;
	}
	pthread_mutex_unlock(&link_mutex);
	return rv;
}

struct p11b_conn *
link_conn(struct link *link)
{
	return link->conn;
}

/*
 * The stream failed: the broker went away or closed an idle connection.
 * Retire the whole pool (link_mutex held), since the others are most
 * likely just as dead; connections still in use are closed by their last
 * caller.
 */
static void
link_retire_all(struct link_list *dead)
{
	struct link *l;

	while ((l = TAILQ_FIRST(&link_pool)) != NULL) {
		TAILQ_REMOVE(&link_pool, l, entry);
		l->retired = 1;
		if (l->refs == 0)
			TAILQ_INSERT_TAIL(dead, l, entry);
	}
	link_npool = 0;
	link_gen++;
}

static void
link_free_list(struct link_list *dead)
{
	struct link *l;

	while ((l = TAILQ_FIRST(dead)) != NULL) {
		TAILQ_REMOVE(dead, l, entry);
		p11b_close(l->conn);
		free(l);
	}
}

/*
 * Drop a reference; rc is the result of the call made with it.
 * libp11broker replaces a socket the broker closed by itself; a new
 * socket may be a restarted broker's, so the objects are reloaded
 * (link_generation) as after a lost connection.
 */
void
link_put(struct link *l, int rc)
{
	struct link_list dead = TAILQ_HEAD_INITIALIZER(dead);
	uint64_t gen;

	if (l == NULL)
		return;
	if (rc != P11B_OK)
		module_debug("broker: %s: %s", p11b_strerror(rc),
		    p11b_last_message());
	gen = conn_generation(l->conn);
	pthread_mutex_lock(&link_mutex);
	if (gen != l->conn_gen) {
		l->conn_gen = gen;
		link_gen++;
	}
	if (link_stream_error(rc) && !l->retired)
		link_retire_all(&dead);
	if (--l->refs == 0 && l->retired)
		TAILQ_INSERT_TAIL(&dead, l, entry);
	pthread_mutex_unlock(&link_mutex);
	link_free_list(&dead);
}

/*
 * After a call: should it be made again on a fresh connection?  Once,
 * after a stream error: the broker may have closed a connection that sat
 * idle past its idle-timeout, or been restarted since.  Every request
 * the module makes this way can be repeated without harm; a secret's
 * value is not read this way (find.c), by the library's rule.  If the
 * broker is really gone, connecting fails at once and *linkp is NULL.
 */
int
link_again(struct link **linkp, int rc, int *triesp)
{
	/* A timeout is not tried again: the caller has waited enough. */
	if (!link_stream_error(rc) || rc == P11B_ERR_TIMEOUT ||
	    (*triesp)++ > 0)
		return 0;
	link_put(*linkp, rc);
	*linkp = NULL;
	return link_get(linkp) == CKR_OK;
}

/* Changes whenever connections were lost (a restarted broker). */
uint64_t
link_generation(void)
{
	uint64_t gen;

	pthread_mutex_lock(&link_mutex);
	gen = link_gen;
	pthread_mutex_unlock(&link_mutex);
	return gen;
}

/* C_Finalize: no call is in flight any more (the application's duty). */
void
link_close(void)
{
	struct link_list dead = TAILQ_HEAD_INITIALIZER(dead);

	pthread_mutex_lock(&link_mutex);
	link_retire_all(&dead);
	pthread_mutex_unlock(&link_mutex);
	link_free_list(&dead);
}

/* Around fork(): the child gets the pool in a consistent state. */
void
link_fork_lock(int lock)
{
	if (lock)
		pthread_mutex_lock(&link_mutex);
	else
		pthread_mutex_unlock(&link_mutex);
}

/* In a child after fork(): the connections are the parent's. */
void
link_forget(void)
{
	struct link *l;

	pthread_mutex_init(&link_mutex, NULL);
	while ((l = TAILQ_FIRST(&link_pool)) != NULL) {
		TAILQ_REMOVE(&link_pool, l, entry);
		p11b_close_after_fork(l->conn);
		free(l);
	}
	link_npool = 0;
}

CK_RV
link_ckr(int rc)
{
	switch (rc) {
	case P11B_OK:
		return CKR_OK;
	case P11B_DENIED:
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	case P11B_NO_SUCH_KEY:
		return CKR_KEY_HANDLE_INVALID;
	case P11B_BAD_REQUEST:
		return CKR_DATA_INVALID;
	case P11B_UNSUPPORTED:
		return CKR_MECHANISM_INVALID;
	case P11B_TOO_LARGE:
		return CKR_DATA_LEN_RANGE;
	case P11B_RATE_LIMITED:
		return CKR_FUNCTION_FAILED;
	case P11B_TOKEN_UNAVAILABLE:
	case P11B_INTERNAL:
	case P11B_ERR_CONNECT:
	case P11B_ERR_IO:
	case P11B_ERR_PROTOCOL:
	case P11B_ERR_TIMEOUT:
		return CKR_DEVICE_ERROR;
	case P11B_ERR_NOMEM:
		return CKR_HOST_MEMORY;
	default:
		return CKR_GENERAL_ERROR;
	}
}
