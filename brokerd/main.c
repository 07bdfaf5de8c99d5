/*
 * p11brokerd: start-up.  Read the config and policy, read the PIN, open
 * the token (one login attempt), create the socket, start the workers and
 * run the event loop.  Without -d the daemon detaches, but the parent
 * waits until the child is serving (or prints why it could not) so that
 * start-up errors reach the operator's terminal and exit status.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brokerd.h"
#include "crypto.h"
#include "log.h"
#include "pin.h"
#include "secret.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/p11broker/p11brokerd.conf"

static int ready_fd = -1;	/* to the waiting parent, without -d */

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: p11brokerd [-dnvhV] [-f config]\n"
	    "  -d         stay in the foreground and log to stderr\n"
	    "  -n         check config, policy and token; print the effective\n"
	    "             policy and exit\n"
	    "  -f config  configuration file (default %s)\n"
	    "  -v         verbose (debug) logging\n"
	    "  -h         this help\n"
	    "  -V         print the version and exit\n",
	    DEFAULT_CONFIG);
}

/* Report a start-up failure to the waiting parent (if any) and exit. */
static void __attribute__((noreturn))
startup_fail(const char *msg)
{
	log_warnx("%s", msg);
	if (ready_fd != -1) {
		(void)write(ready_fd, msg, strlen(msg));
		close(ready_fd);
	}
	exit(1);
}

/*
 * Detach before anything touches PKCS#11 (a module initialized in the
 * parent is not usable in a forked child).  The parent waits for "ok"
 * or an error message on a pipe.
 */
static void
detach(void)
{
	char buf[1024];
	ssize_t n;
	int p[2], fd;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid != 0) {
		close(p[1]);
		n = read(p[0], buf, sizeof(buf) - 1);
		if (n == 2 && memcmp(buf, "ok", 2) == 0)
			exit(0);
		buf[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "p11brokerd: %s\n", n > 0 ? buf :
		    "failed to start (see syslog)");
		exit(1);
	}
	close(p[0]);
	ready_fd = p[1];
	if (setsid() == -1)
		fatal("setsid");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

static void
print_effective(const struct broker *b)
{
	const struct key_info *ki;
	size_t i;

	printf("# %s\n", b->conf->path);
	printf("socket %s mode %04o\n", b->conf->socket_path,
	    (unsigned int)b->conf->socket_mode);
	printf("# %s\n", token_description(b->token));
	for (i = 0; i < b->nkeys; i++) {
		ki = &b->keys[i];
		printf("key %s %s %u bits: %s%s\n", ki->name,
		    p11b_key_type_name(ki->type), ki->bits, ki->object,
		    ki->spki == NULL && ki->type != P11B_KEY_SECRET &&
		    ki->type != P11B_KEY_DATA ? " (no public key)" : "");
	}
	printf("# %s: %zu rules; anything else is denied\n",
	    b->policy->path, b->policy->nrules);
	policy_print(b->policy, b->conf, stdout);
}

static void
load_files(struct broker *b, const char *path)
{
	char err[1024];

	if (config_load(path, &b->conf, err, sizeof(err)) != 0)
		startup_fail(err);
	if (policy_load(b->conf->policy_path, b->conf, &b->policy, err,
	    sizeof(err)) != 0)
		startup_fail(err);
}

static int
alg_fits(enum p11b_alg alg, int key, void *arg)
{
	const struct broker *b = arg;

	return crypto_alg_fits_key(alg, b->keys[key].type);
}

static void
open_token(struct broker *b)
{
	struct secret *pin;
	char err[1024];
	int r;

	if (secret_init() != 0)
		startup_fail("libsodium initialisation failed");
	if ((pin = pin_read(b->conf, err, sizeof(err))) == NULL)
		startup_fail(err);
	r = token_open(b->conf, pin, &b->token, err, sizeof(err));
	secret_free(pin);		/* wiped: logged in once, for good */
	if (r != 0)
		startup_fail(err);
	b->keyset = token_current_keys(b->token);
	b->keys = token_keyset_info(b->keyset, &b->nkeys);
	log_info("%s: %zu keys", token_description(b->token), b->nkeys);
	if (policy_check_algs(b->policy, alg_fits, b, err, sizeof(err)) != 0)
		startup_fail(err);
}

int
main(int argc, char *argv[])
{
	struct broker b;
	const char *conffile = DEFAULT_CONFIG;
	char err[1024];
	sigset_t mask;
	int ch, foreground = 0, check = 0, verbose = 0, fd;

	while ((ch = getopt(argc, argv, "dnf:vhV")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("p11brokerd %s\n", BROKER_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	memset(&b, 0, sizeof(b));
	log_init(foreground || check, verbose);
	load_files(&b, conffile);
	if (!foreground && !check)
		detach();
	open_token(&b);
	if (audit_config_check(b.conf, b.keys, b.nkeys, err, sizeof(err)) != 0)
		startup_fail(err);
	if (check) {
		print_effective(&b);
		token_close(b.token);
		policy_free(b.policy);
		config_free(b.conf);
		return 0;
	}
	if (audit_open(&b, &b.audit, err, sizeof(err)) != 0)
		startup_fail(err);
	if ((fd = server_listen(b.conf, err, sizeof(err))) == -1)
		startup_fail(err);
	/* Block the signals the loop reads, before any thread starts. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (workers_start(b.token, b.conf->workers, &b.workers) != 0)
		startup_fail("cannot start the worker threads");
	if ((b.metrics = metrics_new(b.keys, b.nkeys)) == NULL)
		startup_fail("out of memory");
	b.policy_generation = 1;
	if (audit_start(b.audit, err, sizeof(err)) != 0)
		startup_fail(err);
	b.started = time(NULL);
	log_info("listening on %s", b.conf->socket_path);
	if (ready_fd != -1) {
		(void)write(ready_fd, "ok", 2);
		close(ready_fd);
		ready_fd = -1;
	}
	server_run(&b, fd);
	audit_stop(b.audit);	/* final checkpoint: the workers still run */
	close(fd);
	unlink(b.conf->socket_path);
	workers_stop(b.workers);
	audit_free(b.audit);
	metrics_free(b.metrics);
	token_close(b.token);
	policy_free(b.policy);
	log_info("stopped");
	config_free(b.conf);
	return 0;
}
