/*
 * SIGHUP, the front's part.  The monitor read and checked the files and
 * started a signer for them; here the same bytes are parsed again (with
 * the monitor's name lookups) and the new signer's keys checked against
 * them.  All or nothing: on any error the new signer is dropped and the
 * old configuration stays in force.  Connections stay up; requests in
 * flight finish on the signer they were sent to.
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

static int
load_new(struct broker *b, const uint8_t *body, size_t len, int *fds,
    int nlinks, struct files *f, struct joblink_gen **genp,
    struct keygen **ksp, char *desc, char *err, size_t errlen)
{
	const uint8_t *parts[4];
	const struct key_info *keys;
	const char *what;
	size_t lens[4], nkeys;
	char path[4096];
	int i, r;

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
	r = front_take_signer(b, f->conf, f->pol, fds, nlinks, genp, ksp,
	    desc, err, errlen);
	for (i = 0; i < nlinks; i++)	/* taken over, even on failure */
		fds[i] = -1;
	if (r != 0)
		return -1;
	keys = keygen_keys(*ksp, &nkeys);
	if (audit_reload_check(b->audit, f->conf, keys, nkeys, err,
	    errlen) != 0 || metrics_rekey(b->metrics, keys, nkeys) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		joblink_discard(b->jobs, *genp);
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
	struct joblink_gen *gen;
	struct keygen *ks;
	char err[LOG_MSG_MAX], desc[SMSG_TEXT_MAX + 1];
	int nlinks = b->conf->workers, audit_fd = -1, state_fd = -1;

	err[0] = '\0';
	memset(&f, 0, sizeof(f));
	/* After the links: the audit log, then its head file. */
	if (nfds == nlinks + 2) {
		state_fd = fds[--nfds];
		fds[nfds] = -1;
	}
	if (nfds == nlinks + 1) {
		audit_fd = fds[--nfds];
		fds[nfds] = -1;
	}
	if (nfds != nlinks) {
		snprintf(err, sizeof(err), "reload: %d links for %d workers",
		    nfds, nlinks);
		goto fail;
	}
	if (load_new(b, body, len, fds, nlinks, &f, &gen, &ks, desc, err,
	    sizeof(err)) != 0)
		goto fail;
	joblink_use(b->jobs, gen);
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
