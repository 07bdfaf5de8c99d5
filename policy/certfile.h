/*
 * Certificates named in the config, read by the monitor into the key
 * references (key_ref.cert: DER, the key's certificate first).
 */
#ifndef CERTFILE_H
#define CERTFILE_H

#include <stddef.h>

#include "config.h"

#define CERTFILE_MAX		(256 * 1024)	/* bytes of one PEM file */
#define CERTFILE_MAX_CERTS	8		/* the key's and 7 issuers */

/* Read every key's certificate file; -1 with errbuf set. */
int	certfile_load_all(struct config *conf, char *errbuf, size_t errlen);

#endif /* CERTFILE_H */
