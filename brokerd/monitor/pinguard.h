/*
 * PINs the token refused, remembered by a keyed hash only, so that the
 * monitor never presents one of them again (a few refusals lock a real
 * token).  Forgotten when the broker restarts.
 */
#ifndef PINGUARD_H
#define PINGUARD_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "config.h"

struct secret;

#define PIN_GUARD_MAX	8	/* the latest refused PINs kept */

struct pin_guard {
	uint8_t		key[crypto_generichash_KEYBYTES];
	uint8_t		refused[PIN_GUARD_MAX][crypto_generichash_BYTES];
	size_t		n;		/* hashes kept */
	size_t		next;		/* slot of the next one */
};

/* A fresh random hash key, nothing refused.  0, or -1. */
int	pin_guard_init(struct pin_guard *g);
/* The token refused pin (sealed; sealed again on return).  0, or -1. */
int	pin_guard_refuse(struct pin_guard *g, struct secret *pin);
/* 1 if the token refused pin before, 0 if not, -1 on error. */
int	pin_guard_refused(const struct pin_guard *g, struct secret *pin);

/*
 * The PIN for a reload's signers of block tb.  It is read again from its
 * source (a file, a credential, the config itself) into *freshp, sealed;
 * from the environment, which was cleared at start, it cannot be, and a
 * source that cannot be read now is warned about: *freshp is NULL then
 * and current stays.  A block new to the reload (current NULL) has its
 * PIN read from any source, or the reload fails.  -1 with why in err
 * when the token refused the PIN before.
 */
int	pin_for_reload(const struct pin_guard *g, const struct config *conf,
	    const struct token_block *tb, struct secret *current,
	    struct secret **freshp, char *err, size_t errlen);

#endif /* PINGUARD_H */
