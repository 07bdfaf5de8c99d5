/*
 * The front process: it holds the clients' socket, the policy and the
 * audit log, and no PKCS#11 session.  It learns the keys from the
 * signer's hello, opens the audit log, drops privileges, installs its
 * allowlist (no open, no socket, no exec) and runs the event loop.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "broker.h"
#include "front.h"
#include "server.h"
#include "signers.h"
#include "crypto.h"
#include "ctl.h"
#include "log.h"
#include "sandbox_conf.h"

static void __attribute__((noreturn))
front_fail(int ctl_fd, const char *msg)
{
	log_warnx("%s", msg);
	(void)ctl_send_verdict(ctl_fd, CTL_READY, msg);
	_exit(1);
}

void
front_main(struct broker *b, int listen_fd, int ctl_fd, int *links,
    int nlinks, int slot)
{
	struct joblink_gen *gen;
	struct keygen *ks;
	char err[LOG_MSG_MAX], desc[SMSG_TEXT_MAX + 1];
	struct sandbox_conf sc;
	sigset_t mask;

	log_set_name("p11brokerd[front]");
	(void)prctl(PR_SET_NAME, "p11b-front", 0, 0, 0);
	b->ctl_fd = ctl_fd;
	signal(SIGPIPE, SIG_IGN);
	/* The loop reads these through a signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (joblink_new(&b->jobs) != 0)
		front_fail(ctl_fd, "out of memory");
	if (front_take_signer(b, b->conf, b->policy, config_slot_token(b->conf,
	    slot), links, nlinks, &gen, &ks, desc, err, sizeof(err)) != 0)
		front_fail(ctl_fd, err);
	joblink_new_set(b->jobs);
	joblink_use(b->jobs, gen, slot, config_slot_token(b->conf, slot));
	front_use_keys(b, ks, desc);
	log_info("%s: %zu keys", b->token_desc, b->nkeys);
	if (audit_open(b, &b->audit, err, sizeof(err)) != 0)
		front_fail(ctl_fd, err);
	if ((b->metrics = metrics_new(b->keys, b->nkeys)) == NULL)
		front_fail(ctl_fd, "out of memory");
	if (server_init(b, listen_fd) != 0)
		front_fail(ctl_fd, "cannot set up the event loop");
	if (crypto_init() != 0)
		front_fail(ctl_fd, "cannot initialise OpenSSL");
	sandbox_conf_of(b->conf, NULL, &sc);
	if (sandbox_harden(&sc, err, sizeof(err)) != 0 ||
	    sandbox_seccomp(SANDBOX_FRONT, &sc, err, sizeof(err)) != 0)
		front_fail(ctl_fd, err);
	b->policy_generation = 1;
	if (audit_start(b->audit, err, sizeof(err)) != 0)
		front_fail(ctl_fd, err);
	b->started = time(NULL);
	if (ctl_send_verdict(ctl_fd, CTL_READY, NULL) != 0)
		_exit(1);
	server_run(b);
	audit_stop(b->audit);	/* final checkpoint: the signer still runs */
	audit_free(b->audit);
	joblink_free(b->jobs);	/* the signer sees its links close */
	metrics_free(b->metrics);
	log_info("stopped");
	_exit(0);
}
