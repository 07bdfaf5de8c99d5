/*
 * Worker threads.  Each opens its own session before taking work; the
 * event loop is woken through an eventfd only when the result queue goes
 * from empty to non-empty, so a busy loop drains many results per wake.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "workers.h"

struct worker {
	struct workers		*pool;
	pthread_t		 thread;
	struct token_session	*sess;
	int			 started;
};

struct workers {
	struct token		*tok;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct workq		 todo;
	int			 stopping;
	pthread_mutex_t		 done_mtx;
	struct workq		 done;
	int			 efd;
	struct worker		*threads;
	int			 n;
	_Atomic int		 busy;		/* jobs inside the token */
};

static void
finish(struct workers *w, struct work *work)
{
	uint64_t one = 1;
	int was_empty;

	pthread_mutex_lock(&w->done_mtx);
	was_empty = TAILQ_EMPTY(&w->done);
	TAILQ_INSERT_TAIL(&w->done, work, entry);
	pthread_mutex_unlock(&w->done_mtx);
	if (was_empty)
		while (write(w->efd, &one, sizeof(one)) == -1 && errno == EINTR)
			;
}

static void *
worker_main(void *arg)
{
	struct worker *self = arg;
	struct workers *w = self->pool;
	struct work *work;

	for (;;) {
		pthread_mutex_lock(&w->mtx);
		while (TAILQ_EMPTY(&w->todo) && !w->stopping)
			pthread_cond_wait(&w->cond, &w->mtx);
		if ((work = TAILQ_FIRST(&w->todo)) == NULL) {
			pthread_mutex_unlock(&w->mtx);
			break;
		}
		TAILQ_REMOVE(&w->todo, work, entry);
		pthread_mutex_unlock(&w->mtx);
		atomic_fetch_add(&w->busy, 1);
		token_execute(self->sess, &work->job, &work->res);
		atomic_fetch_sub(&w->busy, 1);
		finish(w, work);
	}
	return NULL;
}

int
workers_start(struct token *tok, int n, struct workers **wp)
{
	struct workers *w;
	int i = 0;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->threads = calloc(n, sizeof(*w->threads))) == NULL) {
		free(w);
		return -1;
	}
	w->tok = tok;
	w->efd = -1;
	w->n = n;
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_mutex_init(&w->done_mtx, NULL);
	TAILQ_INIT(&w->todo);
	TAILQ_INIT(&w->done);
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		w->threads[i].pool = w;
		if (token_session_open(tok, &w->threads[i].sess) != 0)
			goto fail;
		if (pthread_create(&w->threads[i].thread, NULL, worker_main,
		    &w->threads[i]) != 0)
			goto fail;
		w->threads[i].started = 1;
	}
	*wp = w;
	return 0;
 fail:
	log_warnx("workers: cannot start worker %d of %d", i + 1, n);
	workers_stop(w);
	return -1;
}

int
workers_busy(struct workers *w)
{
	return atomic_load(&w->busy);
}

int
workers_fd(const struct workers *w)
{
	return w->efd;
}

void
workers_submit(struct workers *w, struct work *work)
{
	pthread_mutex_lock(&w->mtx);
	TAILQ_INSERT_TAIL(&w->todo, work, entry);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
}

void
workers_collect(struct workers *w, struct workq *done)
{
	uint64_t count;

	(void)read(w->efd, &count, sizeof(count));
	pthread_mutex_lock(&w->done_mtx);
	TAILQ_CONCAT(done, &w->done, entry);
	pthread_mutex_unlock(&w->done_mtx);
}

/* Finish what is queued, then stop every thread and close its session. */
void
workers_stop(struct workers *w)
{
	int i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mtx);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	for (i = 0; i < w->n; i++) {
		if (w->threads[i].started)
			pthread_join(w->threads[i].thread, NULL);
		token_session_close(w->threads[i].sess);
	}
	if (w->efd != -1)
		close(w->efd);
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->done_mtx);
	free(w->threads);
	free(w);
}
