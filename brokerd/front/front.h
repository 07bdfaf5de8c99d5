/*
 * The front process (p11b-front): its entry point, for the monitor.
 */
#ifndef FRONT_H
#define FRONT_H

#include "broker.h"

/* front.c: the front process; never returns. */
/* links: the signer's in slot; the other slots' come as CTL_SIGNER. */
void	front_main(struct broker *b, int listen_fd, int ctl_fd, int *links,
	    int nlinks, int slot) __attribute__((noreturn));

#endif /* FRONT_H */
