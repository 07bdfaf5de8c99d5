/*
 * The front watchdog (frontwatch.h).  One ping is outstanding at most,
 * so a stopped front's socket never fills with them; the pings go a
 * quarter of the deadline apart, and the deadline runs from the ping.
 */
#include <string.h>

#include "ctl.h"
#include "frontwatch.h"
#include "log.h"

#define PING_MIN_MS	100

static uint64_t
interval(const struct front_watch *w)
{
	return w->deadline_ms / 4 > PING_MIN_MS ? w->deadline_ms / 4 :
	    PING_MIN_MS;
}

void
frontwatch_arm(struct front_watch *w, unsigned int deadline_s, uint64_t now)
{
	w->deadline_ms = (uint64_t)deadline_s * 1000;
	w->sent_ms = 0;
	w->ping_at = now + interval(w);
}

void
frontwatch_disarm(struct front_watch *w)
{
	memset(w, 0, sizeof(*w));
}

void
frontwatch_answered(struct front_watch *w, uint64_t now)
{
	if (w->deadline_ms == 0)
		return;
	w->sent_ms = 0;
	w->ping_at = now + interval(w);
}

int
frontwatch_tick(struct front_watch *w, int ctl_fd, uint64_t now)
{
	if (w->deadline_ms == 0)
		return 0;
	if (w->sent_ms != 0)
		return now - w->sent_ms >= w->deadline_ms;
	if (now < w->ping_at)
		return 0;
	/* A failed send is a front gone or stuck: the deadline decides. */
	if (ctl_send(ctl_fd, CTL_PING, NULL, 0, NULL, 0) != 0)
		log_debug("monitor: cannot ping the front");
	w->sent_ms = now;
	return 0;
}

int
frontwatch_wait(const struct front_watch *w, uint64_t now)
{
	uint64_t at;

	if (w->deadline_ms == 0)
		return -1;
	at = w->sent_ms != 0 ? w->sent_ms + w->deadline_ms : w->ping_at;
	return at > now ? (int)(at - now) : 0;
}
