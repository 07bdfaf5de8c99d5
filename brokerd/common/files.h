/*
 * The config and the policy as files: read and parsed by the monitor
 * (which may open files), and parsed again from the same bytes by the
 * sandboxed front after a reload (names.h replays the lookups).
 */
#ifndef FILES_H
#define FILES_H

#include <stddef.h>

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
};

/* Read, check and parse both files (the monitor). */
int	files_load(const char *path, struct files *f, char *errbuf,
	    size_t errlen);
/* Parse bytes the monitor read (the front). */
int	files_parse(const char *path, const char *confbuf, size_t conflen,
	    const char *polbuf, size_t pollen, const char *names,
	    size_t nameslen, struct files *f, char *errbuf, size_t errlen);
/* Free what f holds; conf and pol only if still set. */
void	files_free(struct files *f);
/* What the running broker cannot change without a restart, or NULL. */
const char *files_restart_needed(const struct config *old,
	    const struct config *new);

#endif /* FILES_H */
