/*
 * The config and the policy as files: read and parsed by the monitor
 * (which may open files), and parsed again from the same bytes by the
 * sandboxed front after a reload (names.h replays the lookups).  The
 * value of a literal "pin" is blanked in those bytes as soon as they are
 * parsed; only the monitor's own parse sees it.
 */
#ifndef FILES_H
#define FILES_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "policy.h"

#define FILES_HEX_LEN	64

struct files {
	struct config	*conf;
	struct policy	*pol;
	char		*confbuf;
	size_t		 conflen;
	char		*polbuf;
	size_t		 pollen;
	char		*names;		/* the lookups, names_export() */
	size_t		 nameslen;
	char		 hex[2][FILES_HEX_LEN + 1];	/* SHA-256s */
	uint8_t		 pin_tag[CONFIG_MAX_TOKENS][32];	/* literal PINs'
						   keyed hashes, by block */
};

/* Read, check and parse both files (the monitor). */
int	files_load(const char *path, struct files *f, char *errbuf,
	    size_t errlen);
/* Parse bytes the monitor read (the front). */
int	files_parse(const char *path, const char *confbuf, size_t conflen,
	    const char *polbuf, size_t pollen, const char *names,
	    size_t nameslen, struct files *f, char *errbuf, size_t errlen);
/*
 * The monitor, once it holds a literal PIN (pin_read): wipe the config's
 * copy.  The config bytes have it blanked already (x's), so nothing
 * forked or sent from now on carries it.
 */
void	files_forget_pin(struct files *f);
/*
 * 0 when a literal PIN of a token block in both differs between a and b
 * (a restart is needed).
 */
int	files_same_pin(const struct files *a, const struct files *b);
/* Free what f holds; conf and pol only if still set. */
void	files_free(struct files *f);
/* What the running broker cannot change without a restart, or NULL. */
const char *files_restart_needed(const struct config *old,
	    const struct config *new);

#endif /* FILES_H */
