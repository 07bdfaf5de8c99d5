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
 * configured key, in order, every algorithm the policy pins usable.
 */
int
front_take_signer(struct broker *b, const struct config *conf,
    const struct policy *pol, int *fds, int nfds, struct joblink_gen **genp,
    struct keygen **ksp, char *desc, char *errbuf, size_t errlen)
{
	struct smsg_hello hello;
	size_t i;

	if (joblink_gen_open(b->jobs, fds, nfds, genp, &hello, errbuf,
	    errlen) != 0)
		return -1;
	/* The configured keys, then any keyspace keys it found. */
	if (hello.nkeys < conf->nkeys) {
		snprintf(errbuf, errlen, "signer: %zu keys, the config has "
		    "%zu", hello.nkeys, conf->nkeys);
		goto fail;
	}
	for (i = conf->nkeys; i < hello.nkeys; i++)
		if (hello.keys[i].space < 0 ||
		    (size_t)hello.keys[i].space >= conf->nkeyspaces) {
			snprintf(errbuf, errlen, "signer: key %s is in no "
			    "keyspace", hello.keys[i].name);
			goto fail;
		}
	for (i = 0; i < conf->nkeys; i++)
		if (strcmp(hello.keys[i].name, conf->keys[i].name) != 0) {
			snprintf(errbuf, errlen, "signer: key %zu is %s, the "
			    "config says %s", i, hello.keys[i].name,
			    conf->keys[i].name);
			goto fail;
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
 * A restarted signer joins the others in its slot.  Its keys are the
 * current files' (checked), so the current key generation stays: the
 * jobs in flight keep their key indices.
 */
int
front_adopt_signer(struct broker *b, int slot, int *fds, int nfds)
{
	struct joblink_gen *gen;
	struct keygen *ks;
	char err[LOG_MSG_MAX], desc[SMSG_TEXT_MAX + 1], num[16];

	if (front_take_signer(b, b->conf, b->policy, fds, nfds, &gen, &ks,
	    desc, err, sizeof(err)) != 0) {
		log_warnx("signer %d: %s", slot, err);
		return -1;
	}
	keygen_release(ks);
	joblink_use(b->jobs, gen, slot);
	log_info("signer: serving again (%s; signer %d)", desc, slot);
	snprintf(num, sizeof(num), "%d", slot);
	audit_event(b->audit, "signer", "state", "up", "slot", num, NULL);
	return 0;
}
