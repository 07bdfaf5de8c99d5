/*
 * p11brokerd: start-up.  Read the config and policy, read the PIN, create
 * (or inherit) the socket, and hand over to the monitor, which forks the
 * signer and the front.  Without -d the daemon detaches, but the parent
 * waits until the front is serving (or prints why it could not) so that
 * start-up errors reach the operator's terminal and exit status.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_conf.h"
#include "auditcopy.h"
#include "broker.h"
#include "crypto.h"
#include "ctl.h"
#include "listen.h"
#include "log.h"
#include "monitor.h"
#include "pin.h"
#include "sandbox_conf.h"
#include "secret.h"
#include "signer.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/p11broker/p11brokerd.conf"

static int ready_fd = -1;	/* to the waiting parent, without -d */
static const char *made_socket;	/* removed if start-up fails */

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
	if (made_socket != NULL)
		unlink(made_socket);
	if (ready_fd != -1) {
		(void)ctl_send_verdict(ready_fd, CTL_READY, msg);
		close(ready_fd);
	}
	exit(1);
}

/*
 * Detach before anything touches PKCS#11 (a module initialized in the
 * parent is not usable in a forked child).  The parent waits for the
 * child's start-up verdict (ctl.h).
 */
static void
detach(void)
{
	char why[LOG_MSG_MAX];
	int p[2], fd;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) == -1)
		fatal("socketpair");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid != 0) {
		close(p[1]);
		if (ctl_recv_verdict(p[0], why, sizeof(why)) == 0)
			exit(0);
		fprintf(stderr, "p11brokerd: %s\n", why[0] != '\0' ? why :
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

/*
 * The socket as it will be made: the configured owner and group, else
 * those of this process, which binds it before dropping privileges.
 */
static void
print_socket(const struct config *c)
{
	uid_t uid = c->socket_owner != (uid_t)-1 ? c->socket_owner : geteuid();
	gid_t gid = c->socket_group != (gid_t)-1 ? c->socket_group : getegid();
	struct passwd *pw = getpwuid(uid);
	struct group *gr = getgrgid(gid);

	printf("socket %s owner ", c->socket_path);
	if (pw != NULL)
		printf("%s", pw->pw_name);
	else
		printf("%u", (unsigned int)uid);
	printf(" group ");
	if (gr != NULL)
		printf("%s", gr->gr_name);
	else
		printf("%u", (unsigned int)gid);
	printf(" mode %04o\n", (unsigned int)c->socket_mode);
	if (getenv("LISTEN_FDS") != NULL)
		printf("# socket activation: the unit's socket is used as "
		    "it is\n");
}

static void
print_effective(const struct files *f, const char *token_desc,
    const struct key_info *keys, size_t nkeys)
{
	const struct key_info *ki;
	size_t i;

	printf("# %s\n", f->conf->path);
	print_socket(f->conf);
	printf("# %s\n", token_desc);
	for (i = 0; i < nkeys; i++) {
		ki = &keys[i];
		/* A key's versions: one line each, "previous" for the older. */
		if (i < f->conf->nkeys && f->conf->keys[i].version[0] != '\0')
			printf("key %s %s %s: ", ki->name,
			    f->conf->keys[i].previous ? "previous" : "version",
			    f->conf->keys[i].version);
		else
			printf("key %s ", ki->name);
		printf("%s %u bits: %s%s\n",
		    p11b_key_type_name(ki->type), ki->bits, ki->object,
		    ki->spki == NULL && ki->type != P11B_KEY_SECRET &&
		    ki->type != P11B_KEY_DATA ? " (no public key)" : "");
	}
	printf("# %s: %zu rules; anything else is denied\n",
	    f->pol->path, f->pol->nrules);
	policy_print(f->pol, f->conf, stdout);
}

/*
 * Token block t's PIN.  A variable another block read before (and
 * cleared) gives that block's PIN again: both blocks name one PIN.
 */
static struct secret *
read_pin(const struct config *conf, struct secret **pins, size_t t,
    char *err, size_t errlen)
{
	const struct token_block *tb = &conf->tokens[t];
	struct secret *s;
	size_t j;

	for (j = 0; j < t && tb->pin_source == PIN_ENV; j++) {
		if (conf->tokens[j].pin_source != PIN_ENV ||
		    strcmp(conf->tokens[j].pin_ref, tb->pin_ref) != 0)
			continue;
		if ((s = secret_dup(pins[j])) == NULL)
			snprintf(err, errlen, "PIN: out of memory");
		return s;
	}
	return pin_read(conf, tb, err, errlen);
}

/* -n: the keys of every token block, merged as the front merges them. */
struct check_acc {
	struct files	*f;
	struct key_info	*keys;
	size_t		 nkeys;
	char		 desc[CONFIG_MAX_TOKENS * (SMSG_TEXT_MAX + 8)];
};

/* -n, with one token open: its keys and description, merged. */
static int
check_keys(void *arg, const char *token_desc, const struct key_info *keys,
    size_t nkeys)
{
	struct check_acc *acc = arg;
	struct key_info *merged;
	char err[LOG_MSG_MAX];
	size_t n;
	int changed;

	if (acc->keys == NULL) {
		if ((merged = key_info_dup(keys, nkeys, 0)) == NULL)
			startup_fail("out of memory");
		n = nkeys;
	} else if (key_info_merge(acc->keys, acc->nkeys, keys, nkeys,
	    acc->f->conf->nkeys, &merged, &n, &changed, err,
	    sizeof(err)) != 0)
		startup_fail(err);
	key_info_free(acc->keys, acc->nkeys);
	acc->keys = merged;
	acc->nkeys = n;
	if (acc->desc[0] != '\0')
		strlcat(acc->desc, "\n# ", sizeof(acc->desc));
	strlcat(acc->desc, token_desc, sizeof(acc->desc));
	return 0;
}

/*
 * -n: everything start-up checks, in this process (each token block in
 * turn), then the summary.
 */
static int
check_only(struct files *f)
{
	struct secret *pins[CONFIG_MAX_TOKENS];
	struct check_acc acc;
	char err[LOG_MSG_MAX];
	size_t t;

	memset(&acc, 0, sizeof(acc));
	acc.f = f;
	for (t = 0; t < f->conf->ntokens; t++)
		if ((pins[t] = read_pin(f->conf, pins, t, err, sizeof(err))) ==
		    NULL)
			startup_fail(err);
	for (t = 0; t < f->conf->ntokens; t++)	/* each PIN freed there */
		if (signer_check_token(f->conf, (int)t, pins[t], check_keys,
		    &acc, err, sizeof(err)) != 0)
			startup_fail(err);
	if (policy_check_algs(f->pol, key_info_alg_fits, acc.keys, err,
	    sizeof(err)) != 0 || audit_config_check(f->conf, acc.keys,
	    acc.nkeys, err, sizeof(err)) != 0)
		startup_fail(err);
	print_effective(f, acc.desc, acc.keys, acc.nkeys);
	key_info_free(acc.keys, acc.nkeys);
	files_free(f);
	return 0;
}

static void
ready(int status, const char *why)
{
	if (status != 0)
		startup_fail(why);
	log_info("serving");
	if (ready_fd != -1) {
		(void)ctl_send_verdict(ready_fd, CTL_READY, NULL);
		close(ready_fd);
		ready_fd = -1;
	}
}

/* Detached, the children's stderr comes to us and goes on to syslog. */
static int
log_pipe(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	(void)dup2(p[1], STDERR_FILENO);
	close(p[1]);
	return p[0];
}

int
main(int argc, char *argv[])
{
	struct broker b;
	struct files files;
	struct secret *pins[CONFIG_MAX_TOKENS];
	struct sandbox_conf sc;
	const char *conffile = DEFAULT_CONFIG;
	size_t t;
	char err[LOG_MSG_MAX];
	int ch, foreground = 0, check = 0, verbose = 0, fd, log_fd = -1;
	int inherited;

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
	b.audit_copy_fd = -1;
	log_init(foreground || check, verbose);
	if (secret_init() != 0)
		startup_fail("libsodium initialisation failed");
	if (files_load(conffile, &files, err, sizeof(err)) != 0 ||
	    auditcopy_check(files.conf, err, sizeof(err)) != 0)
		startup_fail(err);
	if (geteuid() == 0 && files.conf->user == NULL) {
		snprintf(err, sizeof(err), "%s: started as root without a "
		    "\"user\" statement; the broker's processes do not run as "
		    "root", conffile);
		startup_fail(err);
	}
	if (check)
		return check_only(&files);
	if (!foreground) {
		detach();
		log_fd = log_pipe();
	}
	/* Before the PIN is in memory: no core, not dumpable, no new privs. */
	if (sandbox_no_dumps(err, sizeof(err)) != 0)
		startup_fail(err);
	memset(pins, 0, sizeof(pins));
	for (t = 0; t < files.conf->ntokens; t++)
		if ((pins[t] = read_pin(files.conf, pins, t, err,
		    sizeof(err))) == NULL)
			startup_fail(err);
	files_forget_pin(&files);
	if ((fd = listen_open(files.conf, &inherited, err, sizeof(err))) ==
	    -1)
		startup_fail(err);
	if (!inherited)
		made_socket = files.conf->socket_path;
	/* The socket is made: keep only what the monitor still uses. */
	sandbox_conf_of(files.conf, NULL, &sc);
	if (sandbox_monitor(&sc, err, sizeof(err)) != 0)
		startup_fail(err);
	b.conf = files.conf;
	b.policy = files.pol;
	memcpy(b.files_hex, files.hex, sizeof(b.files_hex));
	b.ctl_fd = -1;
	log_info("listening on %s", files.conf->socket_path);
	return monitor_run(&b, &files, conffile, pins, fd, log_fd, ready);
}
