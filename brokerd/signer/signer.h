/* The signer process (signer.c) and how it tells the monitor it stopped. */
#ifndef SIGNER_H
#define SIGNER_H

#include "config.h"

struct secret;

#define SIGNER_EXIT_RETRY	1	/* start another after a pause */
#define SIGNER_EXIT_PIN		3	/* the token refused the PIN: never */

/*
 * In the forked child, before any PKCS#11 call: log in with pin (freed
 * here), serve one worker per link until the front closes them.  Sends
 * its start-up verdict (ctl.h) on status_fd.  Never returns.
 */
void	signer_main(const struct config *conf, struct secret *pin, int *links,
	    int nlinks, int status_fd) __attribute__((noreturn));

#endif /* SIGNER_H */
