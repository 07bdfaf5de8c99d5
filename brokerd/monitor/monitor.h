/* The monitor process (monitor.c). */
#ifndef MONITOR_H
#define MONITOR_H

#include "broker.h"

struct secret;

/* Start-up result: 0 serving, -1 with why (does not return then). */
typedef void (*monitor_ready_fn)(int status, const char *why);

/*
 * Fork the signers and the front and supervise them until the broker
 * stops.  Takes over files, pins (one per token block) and listen_fd.  log_fd, if not -1, is
 * the read end of the children's stderr, relayed to syslog.  Returns the
 * exit status: 1 when the front or the signer ended badly.
 */
int	monitor_run(struct broker *b, struct files *files,
	    const char *conffile, struct secret **pins, int listen_fd,
	    int log_fd, monitor_ready_fn ready);

#endif /* MONITOR_H */
