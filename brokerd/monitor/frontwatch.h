/*
 * The monitor's watchdog over the front: a ping on the control channel,
 * answered from the front's event loop.  A front that leaves a ping
 * unanswered for the deadline (stopped, or stuck in a loop) is killed
 * and started again by the monitor.
 */
#ifndef FRONTWATCH_H
#define FRONTWATCH_H

#include <stdint.h>

struct front_watch {
	uint64_t	deadline_ms;	/* 0: off */
	uint64_t	ping_at;	/* when the next ping goes */
	uint64_t	sent_ms;	/* the ping unanswered, 0: none */
};

/* A front is serving: watch it with this deadline (0: do not). */
void	frontwatch_arm(struct front_watch *w, unsigned int deadline_s,
	    uint64_t now);
/* No front to watch. */
void	frontwatch_disarm(struct front_watch *w);
/* Its answer came. */
void	frontwatch_answered(struct front_watch *w, uint64_t now);
/* Ping when due on ctl_fd; 1 when the front let the deadline pass. */
int	frontwatch_tick(struct front_watch *w, int ctl_fd, uint64_t now);
/* Milliseconds until frontwatch_tick has something to do; -1: never. */
int	frontwatch_wait(const struct front_watch *w, uint64_t now);

#endif /* FRONTWATCH_H */
