/*
 * The front's side of the monitor's channel: new signers, reloads, a
 * reopened audit log, a signer that will not come back, the watchdog's
 * ping; and the other way, the request for a new signer when every
 * session is stuck, and the watchdog's answer.
 */
#include <stdint.h>
#include <string.h>

#include "ctl.h"
#include "audit.h"
#include "broker.h"
#include "control.h"
#include "reload.h"
#include "signers.h"
#include "log.h"

static void
take_fds(struct ctl_msg *cm, int n)
{
	int i;

	for (i = 0; i < n && i < cm->nfds; i++)
		cm->fds[i] = -1;
}

/* One message from the monitor; -1 when the monitor is gone. */
int
front_control(struct broker *b)
{
	struct ctl_msg cm;
	uint32_t slot;

	if (ctl_recv(b->ctl_fd, &cm) != 0)
		return -1;
	switch (cm.type) {
	case CTL_SIGNER:
		if (cm.len != sizeof(slot))
			fatalx("malformed CTL_SIGNER from the monitor");
		memcpy(&slot, cm.body, sizeof(slot));
		(void)front_adopt_signer(b, (int)slot, cm.fds, cm.nfds);
		take_fds(&cm, cm.nfds);
		if (slot < 32)
			b->restart_asked &= ~(1U << slot);
		break;
	case CTL_RELOAD:
		(void)broker_reload(b, cm.body, cm.len, cm.fds, cm.nfds);
		break;
	case CTL_RELOAD_FAILED:
		broker_reload_failed(b, (const char *)cm.body);
		break;
	case CTL_AUDIT_FD:
		if (cm.nfds == 1) {
			audit_reopen(b->audit, cm.fds[0]);
			take_fds(&cm, 1);
		}
		break;
	case CTL_PING:
		/* From the event loop: a stopped or stuck loop cannot. */
		if (ctl_send(b->ctl_fd, CTL_PONG, NULL, 0, NULL, 0) != 0)
			log_warn("cannot answer the monitor's watchdog");
		break;
	case CTL_SIGNER_STATS:
		if (cm.len == sizeof(b->signer_stats))
			memcpy(&b->signer_stats, cm.body, cm.len);
		break;
	case CTL_SIGNER_DOWN:
		log_warnx("the signer will not be restarted: %s", cm.body);
		audit_event(b->audit, "signer", "state", "down", "reason",
		    (const char *)cm.body, NULL);
		break;
	default:
		fatalx("unexpected control message %d from the monitor",
		    (int)cm.type);
	}
	ctl_msg_free(&cm);
	return 0;
}

/*
 * Jobs the token sits on for too long; ask once for a new signer in
 * each slot whose every session is stuck.
 */
void
front_sweep(struct broker *b)
{
	uint32_t stuck, slot;

	stuck = joblink_sweep(b->jobs, (uint64_t)b->conf->token_timeout *
	    1000) & ~b->restart_asked;
	for (slot = 0; slot < JOBLINK_SLOTS; slot++) {
		if (!(stuck & (1U << slot)))
			continue;
		log_warnx("every token session is stuck (signer %u); asking "
		    "for a new signer", slot);
		(void)ctl_send(b->ctl_fd, CTL_RESTART_SIGNER, &slot,
		    sizeof(slot), NULL, 0);
		b->restart_asked |= 1U << slot;
	}
}
