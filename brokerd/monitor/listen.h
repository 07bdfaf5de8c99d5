/* The listening socket: created by the monitor, or inherited (systemd). */
#ifndef LISTEN_H
#define LISTEN_H

#include <stddef.h>

#include "config.h"

/* Create, or take from LISTEN_FDS, the socket conf names; -1 with why. */
int	listen_open(const struct config *conf, int *inherited, char *errbuf,
	    size_t errlen);

#endif /* LISTEN_H */
