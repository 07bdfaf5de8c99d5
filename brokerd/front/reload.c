/*
 * SIGHUP, the front's part.  The monitor read and checked the files and
 * started the signers for them; here the same bytes are parsed again
 * (with the monitor's name lookups) and every new signer's keys checked
 * against them.  All or nothing: on any error the new signers are
 * dropped and the old configuration stays in force.  Connections stay
 * up; requests in flight finish on the signer they were sent to.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "broker.h"
#include "reload.h"
#include "signers.h"
#include "ctl.h"
#include "log.h"

static void
verdict(struct broker *b, const char *msg)
{
	if (ctl_send_verdict(b->ctl_fd, CTL_RELOAD_DONE, msg) != 0)
		log_warn("reload: cannot answer the monitor");
}

void
broker_reload_failed(struct broker *b, const char *why)
{
	log_warnx("reload rejected, the old configuration stays: %s", why);
	audit_reload(b->audit, why, -1, -1);
}

/* The reload's files, parsed with the monitor's name lookups. */
static int
parse_new(struct broker *b, const uint8_t *body, size_t len,
    struct files *f, char *err, size_t errlen)
{
	const uint8_t *parts[4];
	const char *what;
	size_t lens[4];
	char path[4096];

	if (ctl_parts_unpack(body, len, parts, lens, 4) != 0 ||
	    lens[0] >= sizeof(path)) {
		snprintf(err, errlen, "malformed reload message");
		return -1;
	}
	memcpy(path, parts[0], lens[0]);
	path[lens[0]] = '\0';
	if (files_parse(path, (const char *)parts[1], lens[1],
	    (const char *)parts[2], lens[2], (const char *)parts[3], lens[3],
	    f, err, errlen) != 0)
		return -1;
	if ((what = files_restart_needed(b->conf, f->conf)) != NULL) {
		snprintf(err, errlen, "%.900s: the %s settings changed; "
		    "that needs a restart", path, what);
		return -1;
	}
	return 0;
}

/*
 * The new signers, nlinks each (all taken over, closed on failure): their
 * keys, every token block's merged, are the new generation's, every one
 * checked.
 */
static int
take_signers(struct broker *b, const struct files *f, int *fds,
    int nsigners, int nlinks, struct joblink_gen **gens, struct keygen **ksp,
    char *desc, char *err, size_t errlen)
{
	const struct key_info *keys;
	struct keygen *ks;
	size_t nkeys;
	int i, j, changed, r = 0;

	*ksp = NULL;
	for (i = 0; i < nsigners; i++) {
		gens[i] = NULL;
		if (r != 0) {		/* one failed: the rest is closed */
			for (j = 0; j < nlinks; j++)
				if (fds[i * nlinks + j] != -1)
					close(fds[i * nlinks + j]);
		} else if ((r = front_take_signer(b, f->conf, f->pol,
		    config_slot_token(f->conf, i), fds + i * nlinks, nlinks,
		    &gens[i], &ks, desc, err, errlen)) == 0) {
			if (*ksp == NULL)
				*ksp = ks;
			else {
				/* Every block's keys: one generation. */
				r = front_keys_merge(ksp, ks, f->conf, f->pol,
				    &changed, err, errlen);
				keygen_release(ks);
			}
		} else
			gens[i] = NULL;
		for (j = 0; j < nlinks; j++)	/* taken over */
			fds[i * nlinks + j] = -1;
	}
	if (r == 0) {
		keys = keygen_keys(*ksp, &nkeys);
		if (audit_reload_check(b->audit, f->conf, keys, nkeys, err,
		    errlen) != 0 || metrics_rekey(b->metrics, keys,
		    nkeys) != 0) {
			if (err[0] == '\0')
				snprintf(err, errlen, "out of memory");
			r = -1;
		}
	}
	if (r != 0) {
		for (i = 0; i < nsigners; i++)
			if (gens[i] != NULL)
				joblink_discard(b->jobs, gens[i]);
		if (*ksp != NULL)
			keygen_release(*ksp);
		return -1;
	}
	return 0;
}

int
broker_reload(struct broker *b, const uint8_t *body, size_t len, int *fds,
    int nfds)
{
	struct files f;
	struct joblink_gen *gens[JOBLINK_SLOTS];
	struct keygen *ks;
	char err[LOG_MSG_MAX], desc[SMSG_TEXT_MAX + 1];
	int nlinks = b->conf->workers, audit_fd = -1, state_fd = -1, n, i;

	err[0] = '\0';
	memset(&f, 0, sizeof(f));
	if (parse_new(b, body, len, &f, err, sizeof(err)) != 0)
		goto fail;
	/* Every new signer's links; then the audit log and its head file. */
	n = f.conf->signers;
	if (n > JOBLINK_SLOTS || nfds > n * nlinks + 2 || nfds < n * nlinks) {
		snprintf(err, sizeof(err), "reload: %d descriptors for %d "
		    "signers of %d workers", nfds, n, nlinks);
		goto fail;
	}
	if (nfds == n * nlinks + 2) {
		state_fd = fds[--nfds];
		fds[nfds] = -1;
	}
	if (nfds == n * nlinks + 1) {
		audit_fd = fds[--nfds];
		fds[nfds] = -1;
	}
	if (take_signers(b, &f, fds, n, nlinks, gens, &ks, desc, err,
	    sizeof(err)) != 0)
		goto fail;
	joblink_new_set(b->jobs);
	for (i = 0; i < n; i++)
		joblink_use(b->jobs, gens[i], i, config_slot_token(f.conf, i));
	b->restart_asked = 0;		/* new signers in every slot */
	front_use_keys(b, ks, desc);
	policy_free(b->policy);
	config_free(b->conf);
	b->conf = f.conf;
	b->policy = f.pol;
	memcpy(b->files_hex, f.hex, sizeof(b->files_hex));
	f.conf = NULL;
	f.pol = NULL;
	files_free(&f);
	b->policy_generation++;
	/* the new files' SHA-256 */
	audit_reload(b->audit, NULL, audit_fd, state_fd);
	log_info("reloaded %s and %s: %zu keys, %zu rules (generation %llu)",
	    b->conf->path, b->policy->path, b->nkeys, b->policy->nrules,
	    (unsigned long long)b->policy_generation);
	verdict(b, NULL);
	return 0;
 fail:
	/* Links not taken over are closed with the message. */
	files_free(&f);
	if (audit_fd != -1)
		close(audit_fd);
	if (state_fd != -1)
		close(state_fd);
	broker_reload_failed(b, err);
	verdict(b, err);
	return -1;
}
