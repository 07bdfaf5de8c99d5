/*
 * The config's token statement, module and keys as the token layer takes
 * them (struct token_conf, policy/token_ref.h).
 */
#ifndef TOKEN_CONF_H
#define TOKEN_CONF_H

#include "config.h"

/* tc borrows conf's strings and keys: keep conf alive while tc is used. */
/* Token block token of conf (an index of conf->tokens). */
void	token_conf_of(const struct config *conf, int token,
	    struct token_conf *tc);

#endif /* TOKEN_CONF_H */
