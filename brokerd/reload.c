/*
 * SIGHUP: read the config and the policy again and resolve the keys anew.
 * All or nothing: any error, or a change that only a restart can apply
 * (socket, token, PIN source, workers), rejects the new files whole and
 * the old configuration stays in force.  Connections stay up; requests in
 * flight finish on the key generation they started with.
 */
#include <stdio.h>
#include <string.h>

#include "brokerd.h"
#include "crypto.h"
#include "log.h"

static int
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* What the running broker cannot change without a restart. */
static const char *
restart_needed(const struct config *old, const struct config *new)
{
	if (str_differs(old->socket_path, new->socket_path) ||
	    old->socket_owner != new->socket_owner ||
	    old->socket_group != new->socket_group ||
	    old->socket_mode != new->socket_mode)
		return "socket";
	if (str_differs(old->module, new->module) ||
	    old->token_by != new->token_by ||
	    str_differs(old->token_label, new->token_label) ||
	    old->token_slot != new->token_slot)
		return "token";
	if (old->pin_source != new->pin_source ||
	    str_differs(old->pin_ref, new->pin_ref))
		return "PIN source";
	if (old->workers != new->workers)
		return "workers";
	return NULL;
}

static int
alg_fits(enum p11b_alg alg, int key, void *arg)
{
	const struct key_info *keys = arg;

	return crypto_alg_fits_key(alg, keys[key].type);
}

/* Parse and resolve everything new; touch nothing of the running broker. */
static int
load_new(struct broker *b, struct config **confp, struct policy **polp,
    struct token_keyset **ksp, char *err, size_t errlen)
{
	const struct key_info *keys;
	const char *what;
	size_t nkeys;

	if (config_load(b->conf->path, confp, err, errlen) != 0)
		return -1;
	if ((what = restart_needed(b->conf, *confp)) != NULL) {
		snprintf(err, errlen, "%s: the %s settings changed; that "
		    "needs a restart", b->conf->path, what);
		return -1;
	}
	if (policy_load((*confp)->policy_path, *confp, polp, err,
	    errlen) != 0)
		return -1;
	if (token_keyset_load(b->token, *confp, ksp, err, errlen) != 0)
		return -1;
	keys = token_keyset_info(*ksp, &nkeys);
	if (audit_reload_check(b->audit, *confp, keys, nkeys, err,
	    errlen) != 0)
		return -1;
	return policy_check_algs(*polp, alg_fits, (void *)keys, err, errlen);
}

int
broker_reload(struct broker *b)
{
	struct config *conf = NULL;
	struct policy *pol = NULL;
	struct token_keyset *ks = NULL;
	const struct key_info *keys;
	char err[1024];
	size_t nkeys;

	if (load_new(b, &conf, &pol, &ks, err, sizeof(err)) != 0) {
		log_warnx("reload rejected, the old configuration stays: %s",
		    err);
		audit_reload(b->audit, err);
		if (ks != NULL)
			token_keyset_release(ks);
		policy_free(pol);
		config_free(conf);
		return -1;
	}
	keys = token_keyset_info(ks, &nkeys);
	if (metrics_rekey(b->metrics, keys, nkeys) != 0) {
		log_warnx("reload rejected: out of memory");
		audit_reload(b->audit, "out of memory");
		token_keyset_release(ks);
		policy_free(pol);
		config_free(conf);
		return -1;
	}
	token_use_keys(b->token, ks);
	b->keyset = ks;
	b->keys = keys;
	b->nkeys = nkeys;
	policy_free(b->policy);
	b->policy = pol;
	config_free(b->conf);
	b->conf = conf;
	b->policy_generation++;
	audit_reload(b->audit, NULL);	/* the new files' SHA-256 */
	log_info("reloaded %s and %s: %zu keys, %zu rules (generation %llu)",
	    conf->path, pol->path, nkeys, pol->nrules,
	    (unsigned long long)b->policy_generation);
	return 0;
}
