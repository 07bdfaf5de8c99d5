/*
 * The config's values that confinement needs, as sandbox/ takes them.
 */
#ifndef SANDBOX_CONF_H
#define SANDBOX_CONF_H

#include "config.h"
#include "sandbox.h"

/* sc borrows conf's strings: keep conf alive while sc is used. */
/* module: a signer's token module (NULL in the monitor and the front). */
void	sandbox_conf_of(const struct config *conf, const char *module,
	    struct sandbox_conf *sc);

#endif /* SANDBOX_CONF_H */
