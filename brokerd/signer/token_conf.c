/*
 * The config's token statement, module and keys as the token layer takes
 * them.
 */
#include <string.h>

#include "token_conf.h"

void
token_conf_of(const struct config *conf, int token, struct token_conf *tc)
{
	const struct token_block *tb = &conf->tokens[token];

	memset(tc, 0, sizeof(*tc));
	tc->path = conf->path;
	tc->name = tb->name;
	tc->token = token;
	tc->module = tb->module;
	tc->token_by = tb->token_by;
	tc->token_label = tb->token_label;
	tc->token_slot = tb->token_slot;
	tc->keys = conf->keys;
	tc->nkeys = conf->nkeys;
	tc->keyspaces = conf->keyspaces;
	tc->nkeyspaces = conf->nkeyspaces;
	/* The audit checkpoint key may have no second name (token_keys.c). */
	tc->checkpoint_key = conf->audit_path != NULL ?
	    config_key_index(conf, conf->audit_key) : -1;
}
