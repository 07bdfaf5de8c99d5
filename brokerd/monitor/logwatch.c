/*
 * Watching the audit log's name (logwatch.h).  A removed log means the
 * decisions go to a file nobody can read any more: that is said at
 * once.  A renamed or replaced one is what logrotate does just before
 * SIGUSR1, so it is said only when it is still so at the next look.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fcheck.h"
#include "log.h"
#include "logwatch.h"

void
logwatch_init(struct logwatch *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

void
logwatch_clear(struct logwatch *w)
{
	if (w->fd != -1)
		close(w->fd);
	free(w->path);
	logwatch_init(w);
}

void
logwatch_set(struct logwatch *w, int fd, const char *path)
{
	logwatch_clear(w);
	if (fd == -1)
		return;
	if ((w->path = strdup(path)) == NULL) {
		close(fd);
		return;
	}
	w->fd = fd;
	w->next_ms = clock_ms() + LOGWATCH_MS;
}

void
logwatch_check(struct logwatch *w)
{
	const char *why;
	int urgent;

	if (w->fd == -1)
		return;
	w->next_ms = clock_ms() + LOGWATCH_MS;
	if (fcheck_log_named(w->fd, w->path, &why)) {
		w->seen = w->warned = NULL;
		return;
	}
	urgent = strcmp(why, "removed") == 0;
	if (why != w->warned && (urgent || why == w->seen)) {
		log_warnx("monitor: the audit log %s was %s while open; "
		    "decisions go to a file %s; send SIGUSR1 to start a new "
		    "one", w->path, why, urgent ? "that no longer exists" :
		    "of another name");
		w->warned = why;
	}
	w->seen = why;
}

int
logwatch_timeout(const struct logwatch *w, int timeout)
{
	uint64_t now;
	int due;

	if (w->fd == -1)
		return timeout;
	now = clock_ms();
	due = w->next_ms > now ? (int)(w->next_ms - now) : 0;
	return timeout == -1 || due < timeout ? due : timeout;
}

void
logwatch_tick(struct logwatch *w)
{
	if (w->fd != -1 && clock_ms() >= w->next_ms)
		logwatch_check(w);
}
