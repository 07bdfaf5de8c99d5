/*
 * The config's token statement, module and keys as the token layer takes
 * them.
 */
#include <string.h>

#include "token_conf.h"

void
token_conf_of(const struct config *conf, struct token_conf *tc)
{
	memset(tc, 0, sizeof(*tc));
	tc->path = conf->path;
	tc->module = conf->module;
	tc->token_by = conf->token_by;
	tc->token_label = conf->token_label;
	tc->token_slot = conf->token_slot;
	tc->keys = conf->keys;
	tc->nkeys = conf->nkeys;
	tc->keyspaces = conf->keyspaces;
	tc->nkeyspaces = conf->nkeyspaces;
	/* The audit checkpoint key may have no second name (token_keys.c). */
	tc->checkpoint_key = conf->audit_path != NULL ?
	    config_key_index(conf, conf->audit_key) : -1;
}
