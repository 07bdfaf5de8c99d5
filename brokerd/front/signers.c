/*
 * The front's signers: a new signer's links and hello checked against
 * the configuration (at start, after a restart, with a reload), its keys
 * made the current generation.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "broker.h"
#include "signers.h"
#include "log.h"

/*
 * Open a signer's links and check its hello against conf: one entry per
 * configured key, in order, absent when token block token does not hold
 * it; keyspace keys of that block's keyspaces; every algorithm the
 * policy pins usable.  Each key is marked with the blocks that may serve
 * it (key_info.tokens).
 */
int
front_take_signer(struct broker *b, const struct config *conf,
    const struct policy *pol, int token, int *fds, int nfds,
    struct joblink_gen **genp, struct keygen **ksp, char *desc,
    char *errbuf, size_t errlen)
{
	struct smsg_hello hello;
	size_t i;
	int held;

	if (joblink_gen_open(b->jobs, fds, nfds, genp, &hello, errbuf,
	    errlen) != 0)
		return -1;
	/* The configured keys, then any keyspace keys it found. */
	if (hello.nkeys < conf->nkeys) {
		snprintf(errbuf, errlen, "signer: %zu keys, the config has "
		    "%zu", hello.nkeys, conf->nkeys);
		goto fail;
	}
	for (i = conf->nkeys; i < hello.nkeys; i++) {
		if (hello.keys[i].space < 0 ||
		    (size_t)hello.keys[i].space >= conf->nkeyspaces ||
		    conf->keyspaces[hello.keys[i].space].token != token) {
			snprintf(errbuf, errlen, "signer: key %s is in no "
			    "keyspace of token %s", hello.keys[i].name,
			    conf->tokens[token].name);
			goto fail;
		}
		hello.keys[i].tokens = 1U << token;
	}
	for (i = 0; i < conf->nkeys; i++)
		if (strcmp(hello.keys[i].name, conf->keys[i].name) != 0) {
			snprintf(errbuf, errlen, "signer: key %zu is %s, the "
			    "config says %s", i, hello.keys[i].name,
			    conf->keys[i].name);
			goto fail;
		}
	for (i = 0; i < conf->nkeys; i++) {
		held = (conf->keys[i].tokens & (1U << token)) != 0;
		if (held == hello.keys[i].absent) {
			snprintf(errbuf, errlen, "signer of token %s: key %s "
			    "%s, the config says it is %s", conf->tokens[token].
			    name, conf->keys[i].name, held ? "absent" :
			    "present", held ? "there" : "not");
			goto fail;
		}
		hello.keys[i].tokens = conf->keys[i].tokens;
	}
	if (policy_check_algs(pol, key_info_alg_fits, hello.keys, errbuf,
	    errlen) != 0)
		goto fail;
	if ((*ksp = keygen_new(hello.keys, hello.nkeys)) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
	strlcpy(desc, hello.desc, SMSG_TEXT_MAX + 1);
	return 0;
 fail:
	smsg_hello_free(&hello);
	joblink_discard(b->jobs, *genp);
	return -1;
}

/* Make a generation of keys current (the old one goes when unused). */
void
front_use_keys(struct broker *b, struct keygen *ks, const char *desc)
{
	if (b->keyset != NULL)
		keygen_release(b->keyset);
	b->keyset = ks;
	b->keys = keygen_keys(ks, &b->nkeys);
	strlcpy(b->token_desc, desc, sizeof(b->token_desc));
}

/*
 * Keys announced by another signer (add) into a generation (*ksp): what
 * a token block not heard from before holds, checked to be the material
 * the others hold.  Only when something was taken is *ksp replaced by a
 * new generation (*changed 1; the old reference released): the jobs in
 * flight keep theirs, and key indices do not move.
 */
int
front_keys_merge(struct keygen **ksp, struct keygen *add,
    const struct config *conf, const struct policy *pol, int *changed,
    char *err, size_t errlen)
{
	const struct key_info *have, *more;
	struct key_info *keys;
	struct keygen *kg;
	size_t nhave, nmore, n;

	have = keygen_keys(*ksp, &nhave);
	more = keygen_keys(add, &nmore);
	if (key_info_merge(have, nhave, more, nmore, conf->nkeys, &keys, &n,
	    changed, err, errlen) != 0)
		return -1;
	if (!*changed) {
		key_info_free(keys, n);
		return 0;
	}
	if (policy_check_algs(pol, key_info_alg_fits, keys, err,
	    errlen) != 0) {
		key_info_free(keys, n);
		return -1;
	}
	if ((kg = keygen_new(keys, n)) == NULL) {
		key_info_free(keys, n);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	keygen_release(*ksp);
	*ksp = kg;
	return 0;
}

/* add merged into the current keys (front_keys_merge).  0 or -1. */
static int
merge_current(struct broker *b, struct keygen *add, char *err,
    size_t errlen)
{
	const struct key_info *keys;
	struct keygen *kg = b->keyset;
	size_t n;
	int changed;

	keygen_hold(kg);
	if (front_keys_merge(&kg, add, b->conf, b->policy, &changed, err,
	    errlen) != 0) {
		keygen_release(kg);
		return -1;
	}
	if (!changed) {
		keygen_release(kg);
		return 0;
	}
	keys = keygen_keys(kg, &n);
	if (b->metrics != NULL && metrics_rekey(b->metrics, keys, n) != 0) {
		keygen_release(kg);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	front_use_keys(b, kg, b->token_desc);
	return 0;
}

/*
 * A restarted signer joins the others in its slot.  Its keys are the
 * current files' (checked), merged into the current ones (its token
 * block may be the first heard from for some).
 */
int
front_adopt_signer(struct broker *b, int slot, int *fds, int nfds)
{
	struct joblink_gen *gen;
	struct keygen *ks;
	char err[LOG_MSG_MAX], desc[SMSG_TEXT_MAX + 1], num[16];
	int token = config_slot_token(b->conf, slot);

	if (front_take_signer(b, b->conf, b->policy, token, fds, nfds, &gen,
	    &ks, desc, err, sizeof(err)) != 0) {
		log_warnx("signer %d: %s", slot, err);
		return -1;
	}
	if (merge_current(b, ks, err, sizeof(err)) != 0) {
		log_warnx("signer %d (token %s): %s; not used", slot,
		    b->conf->tokens[token].name, err);
		keygen_release(ks);
		joblink_discard(b->jobs, gen);
		return -1;
	}
	keygen_release(ks);
	joblink_use(b->jobs, gen, slot, token);
	log_info("signer: serving again (%s; signer %d)", desc, slot);
	snprintf(num, sizeof(num), "%d", slot);
	audit_event(b->audit, "signer", "state", "up", "slot", num,
	    b->conf->ntokens > 1 ? "token" : NULL,
	    b->conf->tokens[token].name, NULL);
	return 0;
}
