/*
 * The monitor's eye on the audit log the front writes: a log removed,
 * renamed or replaced while open is said once in the daemon's log (the
 * front, sandboxed, cannot look at names).
 */
#ifndef LOGWATCH_H
#define LOGWATCH_H

#include <stdint.h>

#define LOGWATCH_MS	2000	/* how often the name is checked */

struct logwatch {
	int		 fd;		/* the log as opened, or -1 */
	char		*path;
	const char	*seen;		/* last state found, NULL: named */
	const char	*warned;	/* last state warned about */
	uint64_t	 next_ms;
};

void	logwatch_init(struct logwatch *w);
/* Watch fd (taken over) opened as path; fd -1 stops watching. */
void	logwatch_set(struct logwatch *w, int fd, const char *path);
/* Look now: warn when the log is no longer named by its path. */
void	logwatch_check(struct logwatch *w);
/* A poll timeout no later than the next check (timeout -1: none). */
int	logwatch_timeout(const struct logwatch *w, int timeout);
/* After poll: check if due. */
void	logwatch_tick(struct logwatch *w);
void	logwatch_clear(struct logwatch *w);

#endif /* LOGWATCH_H */
