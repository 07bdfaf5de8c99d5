/* Where the PIN comes from: a systemd credential, a file or the environment. */
#ifndef PIN_H
#define PIN_H

#include <stddef.h>

#include "config.h"

struct secret;

#define PIN_MAX		256

/*
 * Read token block tb's PIN from its configured source into guarded
 * memory.  An
 * environment variable is cleared after reading.  Returns NULL with a
 * message in errbuf.
 */
struct secret *pin_read(const struct config *conf,
	    const struct token_block *tb, char *errbuf, size_t errlen);

#endif /* PIN_H */
