/*
 * The monitor: the daemon's first process.  It reads the config, the
 * policy and the PIN, creates the socket, forks the signer (before any
 * PKCS#11 call) and the front, and then only supervises: it restarts a
 * signer that died, alone and with its slot's backoff (never after the
 * token refused the PIN), restarts a front that died or stopped
 * answering its watchdog (with new signers: the old ones' links went
 * with the front), re-reads the files on SIGHUP and starts all the
 * signers for them (replacing every old one at once), reopens the audit
 * log on
 * SIGUSR1, relays the children's log lines to syslog when detached, and
 * stops everything on SIGTERM.  It keeps the listening socket, so that
 * clients wait in its backlog while a front is restarted.  It reads no client bytes
 * and makes no PKCS#11 call; it keeps the PIN (sealed, guarded memory)
 * because a restarted signer must log in again.
 */
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "broker.h"
#include "front.h"
#include "audit_conf.h"
#include "auditcopy.h"
#include "clock.h"
#include "ctl.h"
#include "frontwatch.h"
#include "log.h"
#include "logwatch.h"
#include "monitor.h"
#include "pin.h"
#include "pinguard.h"
#include "sandbox.h"
#include "secret.h"
#include "signer.h"

/*
 * The token has `signers` slots, each with its own signer process.  A
 * signer that dies is restarted after BACKOFF_MIN_MS, doubled for each
 * death in a row in its slot of a signer younger than STABLE_MS, up to
 * BACKOFF_MAX_MS: a token fault costs 50 ms, a module that dies on every
 * request (a call its sandbox refuses, an unreachable HSM) is tried
 * 9 times in the first 25 s and then twice a minute.  From the
 * UNAVAILABLE_AFTER-th such death a slot is "looping"; when every slot
 * is, the token is unavailable (health not ready) until a signer has
 * stayed up STABLE_MS.
 */
#define BACKOFF_MIN_MS	50
#define BACKOFF_MAX_MS	30000
#define STABLE_MS	10000	/* a signer this old resets the backoff */
#define UNAVAILABLE_AFTER 3
#define START_WAIT_MS	30000
#define LEFTOVER_MS	5000	/* signers still up this long after the front */
#define FRONT_BACKOFF_MIN_MS	100
#define FRONT_BACKOFF_MAX_MS	5000	/* a front restart logs in again */

struct child {
	pid_t		 pid;
	int		 status_fd;	/* starting: its verdict (ctl.h) */
	int		 report_fd;	/* ready: its sandbox trap (trap.c) */
	int		*links;		/* the front's ends, until sent */
	int		 nlinks;
	uint64_t	 started_ms;
};

/*
 * A signer slot: its signer and its restarts.  Each token block has its
 * "signers" slots, the blocks' in config order (config_slot_token()).
 */
struct slot {
	struct child	 c;		/* current or starting */
	int		 index;		/* in the front's CTL_SIGNER */
	int		 token;		/* its token block */
	uint64_t	 backoff_ms;
	uint64_t	 restart_at;	/* 0: none scheduled */
	unsigned int	 quick_deaths;	/* young signers dead in a row */
};

/* A token block's PIN, and whether its token refused one. */
struct tok {
	struct secret	*pin;		/* sealed */
	struct pin_guard guard;		/* PINs the token refused */
	int		 down;		/* refused: no more signers */
};

struct monitor {
	struct broker	*b;		/* what a front starts from */
	struct files	 files;		/* in force */
	const char	*conffile;
	struct tok	 toks[CONFIG_MAX_TOKENS];	/* by block */
	int		 listen_fd;
	int		 ctl_fd;
	int		 log_fd;	/* children's stderr, or -1 */
	int		 sig_fd;
	pid_t		 front;
	struct slot	 slots[CTL_SIGNERS_MAX];
	int		 nslots;	/* in use: the config's signers */
	pid_t		 retiring[4 * CTL_SIGNERS_MAX];	/* old signers,
							   reaped quietly */
	int		 stopping;
	int		 killed_leftovers;
	int		 failed;	/* a child ended badly: exit 1 */
	struct ctl_signer_stats stats;	/* sent to the front */
	struct ctl_signer_stats sent;	/* what the front has */
	int		 stats_sent;	/* by this front */
	uint64_t	 kill_at;	/* stopping: SIGKILL what is left */
	struct front_watch watch;
	uint64_t	 front_backoff_ms;
	uint64_t	 front_restart_at;	/* 0: none scheduled */
	uint64_t	 front_started_ms;
	struct logwatch	 audit_watch;	/* the log the front writes */
	struct auditcopy copy;		/* its lines for syslog, the anchor */
	char		 logbuf[4096];
	size_t		 loglen;
};

static void	restart_front(struct monitor *);
static void	kill_slot(struct monitor *, const struct ctl_msg *);

/*
 * The monitor's end of the control channel: sends and receives give up
 * after the watchdog's deadline, so a stopped front cannot hold the
 * monitor in a reload.
 */
static void
ctl_timeouts(int fd, unsigned int seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		log_warn("monitor: control channel timeouts");
}

static void
close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
}

/*
 * In a child: move the descriptors it keeps to 3, 4, ... in order and
 * close every other one (stdin/out/err stay).
 */
static void
keep_only(int *fds, int n)
{
	int i, moved[CTL_MAX_FDS + 4];

	for (i = 0; i < n; i++)
		if ((moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n + 64)) ==
		    -1)
			_exit(1);
	for (i = 0; i < n; i++) {
		if (dup2(moved[i], 3 + i) == -1)
			_exit(1);
		fds[i] = 3 + i;
	}
	if (close_range(3 + n, ~0U, 0) == -1)
		_exit(1);
}

static void
child_stderr(struct monitor *m)
{
	if (m->log_fd != -1)
		(void)dup2(m->log_fd, STDERR_FILENO);
}

/*
 * Fork a signer for token block token of conf that logs in with its PIN
 * (toks[token]).  The front's ends of the links are kept in c->links
 * until the signer says it is ready.  A PIN the token refused before is
 * never handed to a signer.
 */
static int
spawn_signer(struct monitor *m, const struct config *conf, struct tok *toks,
    int token, struct child *c, int slot)
{
	struct secret *pin = toks[token].pin;
	int i, sp[2], st[2], n = conf->workers;
	int *mine, *theirs, keep[CTL_MAX_FDS + 1];
	pid_t pid;

	memset(c, 0, sizeof(*c));
	c->status_fd = -1;
	c->report_fd = -1;
	if (pin_guard_refused(&toks[token].guard, pin) != 0) {
		log_warnx("monitor: token %s refused this PIN before; no "
		    "signer is started with it", conf->tokens[token].name);
		return -1;
	}
	if ((mine = calloc(n, sizeof(int))) == NULL ||
	    (theirs = calloc(n, sizeof(int))) == NULL) {
		free(mine);
		return -1;
	}
	for (i = 0; i < n; i++)
		mine[i] = theirs[i] = -1;
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) ==
		    -1)
			goto fail;
		mine[i] = sp[0];
		theirs[i] = sp[1];
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st) == -1)
		goto fail;
	if (secret_unseal(pin) != 0)
		fatalx("monitor: cannot unseal the PIN");
	if ((pid = fork()) == -1) {
		(void)secret_seal(pin);
		close(st[0]);
		close(st[1]);
		goto fail;
	}
	if (pid == 0) {
		child_stderr(m);
		for (i = 0; i < n; i++)
			keep[i] = theirs[i];
		keep[n] = st[1];
		keep_only(keep, n + 1);
		signer_main(conf, token, pin, keep, n, keep[n]);
	}
	(void)secret_seal(pin);
	close(st[1]);
	close_fds(theirs, n);
	free(theirs);
	for (i = 0; i < n; i++)		/* the front reads them non-blocking */
		(void)fcntl(mine[i], F_SETFL, O_NONBLOCK);
	c->pid = pid;
	c->status_fd = st[0];
	c->links = mine;
	c->nlinks = n;
	c->started_ms = clock_ms();
	m->stats.starts++;
	m->stats.slots[slot].starts++;
	return 0;
 fail:
	log_warn("monitor: cannot start a signer");
	close_fds(mine, n);
	close_fds(theirs, n);
	free(mine);
	free(theirs);
	return -1;
}

/*
 * Read the starting signer's verdict: 0 ok, -1 failed (msg says why; it
 * is exiting), -2 no verdict within wait_ms.
 */
static int
signer_status(struct child *c, int wait_ms, char *msg, size_t msglen)
{
	struct pollfd pfd = { c->status_fd, POLLIN, 0 };
	int rc;

	if (poll(&pfd, 1, wait_ms) <= 0) {
		snprintf(msg, msglen, "the signer did not start within %d s",
		    wait_ms / 1000);
		return -2;
	}
	rc = ctl_recv_verdict(c->status_fd, msg, msglen);
	if (rc == 0)		/* now the channel of its trap report */
		c->report_fd = c->status_fd;
	else
		close(c->status_fd);
	c->status_fd = -1;
	if (rc != 0 && msg[0] == '\0')
		snprintf(msg, msglen, "the signer exited while starting");
	return rc;
}

static void
child_close_report(struct child *c)
{
	if (c->report_fd != -1)
		close(c->report_fd);
	c->report_fd = -1;
}

static void
child_drop_links(struct child *c)
{
	close_fds(c->links, c->nlinks);
	free(c->links);
	c->links = NULL;
	c->nlinks = 0;
}

static void
retire(struct monitor *m, pid_t pid)
{
	size_t i;

	for (i = 0; i < sizeof(m->retiring) / sizeof(m->retiring[0]); i++)
		if (m->retiring[i] == 0) {
			m->retiring[i] = pid;
			return;
		}
	(void)kill(pid, SIGKILL);	/* too many: do not wait for it */
}

/* Hand a ready signer's links to the front, with its slot. */
static void
send_signer(struct monitor *m, struct slot *s)
{
	uint32_t index = (uint32_t)s->index;

	if (ctl_send(m->ctl_fd, CTL_SIGNER, &index, sizeof(index),
	    s->c.links, s->c.nlinks) != 0)
		log_warn("monitor: cannot pass signer %d to the front",
		    s->index);
	child_drop_links(&s->c);
}

static void
slot_reset(struct slot *s, int index, int token)
{
	memset(s, 0, sizeof(*s));
	s->index = index;
	s->token = token;
	s->c.status_fd = -1;
	s->c.report_fd = -1;
	s->backoff_ms = BACKOFF_MIN_MS;
}

static int
slot_looping(const struct slot *s)
{
	return s->quick_deaths >= UNAVAILABLE_AFTER;
}

/* Has every token block's token refused its PIN? */
static int
all_down(const struct monitor *m)
{
	size_t i;

	for (i = 0; i < m->files.conf->ntokens; i++)
		if (!m->toks[i].down)
			return 0;
	return 1;
}

/*
 * The slots' state for the front.  A token is unavailable when it
 * refused the PIN or every slot of its block is looping; the broker is
 * when every token is.
 */
static void
update_slots(struct monitor *m)
{
	const struct config *conf = m->files.conf;
	struct ctl_token_state *ts;
	struct slot *s;
	uint32_t looping[CONFIG_MAX_TOKENS];
	size_t t;
	int i, every = 1;

	m->stats.nslots = (uint32_t)m->nslots;
	m->stats.ntokens = (uint32_t)conf->ntokens;
	for (t = 0; t < conf->ntokens; t++)
		looping[t] = 1;
	for (i = 0; i < m->nslots; i++) {
		s = &m->slots[i];
		m->stats.slots[i].up = s->c.pid > 0 && s->c.report_fd != -1;
		m->stats.slots[i].looping = slot_looping(s);
		m->stats.slots[i].token = (uint32_t)s->token;
		if (!slot_looping(s))
			looping[s->token] = 0;
	}
	for (t = 0; t < conf->ntokens; t++) {
		ts = &m->stats.tokens[t];
		ts->pin_refused = (uint32_t)m->toks[t].down;
		if (m->toks[t].down)
			looping[t] = 1;
		if (!looping[t])
			every = 0;
		if (ts->unavailable == looping[t])
			continue;
		ts->unavailable = looping[t];
		if (conf->ntokens == 1 || m->toks[t].down)
			continue;
		if (looping[t])
			log_warnx("monitor: token %s is UNAVAILABLE: in every "
			    "one of its slots %d signers in a row ended "
			    "within %d s (the other tokens serve its keys)",
			    conf->tokens[t].name, UNAVAILABLE_AFTER,
			    STABLE_MS / 1000);
		else
			log_warnx("monitor: token %s is available again",
			    conf->tokens[t].name);
	}
	if (all_down(m) || m->stats.unavailable == (uint32_t)every)
		return;
	m->stats.unavailable = (uint32_t)every;
	if (every)
		log_warnx("monitor: in every slot %d signers in a row ended "
		    "within %d s; the token is UNAVAILABLE until one stays "
		    "up %d s (restarts back off to %d s)", UNAVAILABLE_AFTER,
		    STABLE_MS / 1000, STABLE_MS / 1000, BACKOFF_MAX_MS / 1000);
	else
		log_warnx("monitor: a signer serves; the token is available "
		    "again");
}

/* A signer that lived lived_ms is gone: start another, later each time. */
static void
schedule_restart(struct monitor *m, struct slot *s, uint64_t lived_ms)
{
	uint64_t now = clock_ms();

	if (m->toks[s->token].down || m->stopping)
		return;
	if (lived_ms >= STABLE_MS) {
		s->backoff_ms = BACKOFF_MIN_MS;
		s->quick_deaths = 0;
	} else
		s->quick_deaths++;
	s->restart_at = now + s->backoff_ms;
	if (s->quick_deaths == UNAVAILABLE_AFTER)
		log_warnx("monitor: signer %d: %u in a row ended within %d s",
		    s->index, s->quick_deaths, STABLE_MS / 1000);
	log_info("monitor: slot %d: restarting the signer in %llu ms",
	    s->index, (unsigned long long)s->backoff_ms);
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	    s->backoff_ms * 2;
	update_slots(m);
}

static void
restart_signer(struct monitor *m, struct slot *s)
{
	s->restart_at = 0;
	m->stats.restarts++;
	m->stats.slots[s->index].restarts++;
	if (spawn_signer(m, m->files.conf, m->toks, s->token, &s->c,
	    s->index) != 0)
		schedule_restart(m, s, 0);
}

/* A looping slot whose signer stayed up STABLE_MS is well again. */
static void
check_stable(struct monitor *m)
{
	struct slot *s;
	int i;

	for (i = 0; i < m->nslots; i++) {
		s = &m->slots[i];
		if (!slot_looping(s) || m->toks[s->token].down ||
		    s->c.pid <= 0 ||
		    s->c.report_fd == -1 || clock_ms() - s->c.started_ms <
		    STABLE_MS)
			continue;
		s->quick_deaths = 0;
		s->backoff_ms = BACKOFF_MIN_MS;
		log_warnx("monitor: signer %d stayed up %d s", s->index,
		    STABLE_MS / 1000);
	}
	update_slots(m);
}

/*
 * A sandbox kill, by the call's name; past CTL_KILLS_MAX - 1 names the
 * rest count as "other", whatever a hostile signer reports.
 */
static void
count_kill(struct monitor *m, const char *name)
{
	struct ctl_signer_stats *st = &m->stats;
	uint32_t i;

	for (;;) {
		for (i = 0; i < st->nkills; i++)
			if (strcmp(st->kills[i].syscall, name) == 0) {
				st->kills[i].count++;
				return;
			}
		if (st->nkills < CTL_KILLS_MAX - 1 || (st->nkills <
		    CTL_KILLS_MAX && strcmp(name, "other") == 0))
			break;
		name = "other";
	}
	strlcpy(st->kills[st->nkills].syscall, name, CTL_SYSCALL_MAX);
	st->kills[st->nkills++].count = 1;
}

/* What the ended signer wrote on its trap channel, if anything. */
static int
read_trap(struct child *c, struct sandbox_trap *t)
{
	uint8_t rec[SANDBOX_TRAP_RECORD];
	ssize_t n;

	if (c->report_fd == -1)
		return -1;
	n = recv(c->report_fd, rec, sizeof(rec), MSG_DONTWAIT);
	child_close_report(c);
	if (n != (ssize_t)sizeof(rec))
		return -1;
	return sandbox_trap_decode(rec, sizeof(rec), t);
}

/*
 * The signer's filter stopped it.  Its report names the call; it comes
 * from the process that was stopped, so it is logged as what the signer
 * says, and only a name libseccomp knows becomes a metric label.
 */
static void
sandbox_killed(struct monitor *m, int trapped, const struct sandbox_trap *t)
{
	char name[CTL_SYSCALL_MAX], what[256];

	if (!trapped) {
		log_warnx("monitor: the signer was stopped by its sandbox "
		    "(it left no report of the system call; \"sandbox log\" "
		    "lets the kernel's audit log name it)");
		count_kill(m, "unknown");
		return;
	}
	sandbox_trap_name(t, name, sizeof(name));
	sandbox_trap_describe(t, what, sizeof(what));
	log_warnx("monitor: the signer was stopped by its sandbox: it "
	    "reports the system call %s", what);
	count_kill(m, name);
}

/* The token refused t's PIN: never again (until a restart). */
static void
pin_refused(struct monitor *m, struct tok *t)
{
	m->stats.login_failures++;
	if (pin_guard_refuse(&t->guard, t->pin) != 0)
		fatalx("monitor: cannot remember the refused PIN");
	log_warnx("monitor: the token refused the PIN; it is not presented "
	    "again (put the right PIN in place and reload, or restart)");
}

static void
starting_status(struct monitor *m, struct slot *s)
{
	char msg[LOG_MSG_MAX];

	if (signer_status(&s->c, 0, msg, sizeof(msg)) == 0) {
		send_signer(m, s);
		return;
	}
	log_warnx("monitor: signer %d did not start: %s", s->index, msg);
	child_drop_links(&s->c);
	/* Its exit status (reaped below) decides whether to try again. */
}

/*
 * Stop serving: no new connections (the front closes its copy of the
 * socket), no restarts; the front drains and exits, the signers follow.
 */
static void
begin_stop(struct monitor *m)
{
	int i;

	m->stopping = 1;
	for (i = 0; i < m->nslots; i++)
		m->slots[i].restart_at = 0;
	m->front_restart_at = 0;
	frontwatch_disarm(&m->watch);
	if (m->listen_fd != -1) {
		close(m->listen_fd);
		m->listen_fd = -1;
	}
	if (m->front > 0)
		(void)kill(m->front, SIGTERM);
}

/* A slot's signer goes (quietly: reaped as retiring). */
static void
drop_signer(struct monitor *m, struct slot *s)
{
	s->restart_at = 0;
	child_close_report(&s->c);
	if (s->c.status_fd != -1) {
		close(s->c.status_fd);
		s->c.status_fd = -1;
	}
	child_drop_links(&s->c);
	if (s->c.pid > 0)
		retire(m, s->c.pid);	/* it sees its links close */
	s->c.pid = 0;
}

/* The signers' links were the front's: a new front needs new signers. */
static void
drop_signers(struct monitor *m)
{
	int i;

	for (i = 0; i < m->nslots; i++)
		drop_signer(m, &m->slots[i]);
}

static void
schedule_front(struct monitor *m)
{
	uint64_t now = clock_ms();

	if (m->front_started_ms != 0 && now - m->front_started_ms >=
	    STABLE_MS)
		m->front_backoff_ms = FRONT_BACKOFF_MIN_MS;
	m->front_restart_at = now + m->front_backoff_ms;
	log_warnx("monitor: restarting the front in %llu ms",
	    (unsigned long long)m->front_backoff_ms);
	m->front_backoff_ms = m->front_backoff_ms * 2 > FRONT_BACKOFF_MAX_MS ?
	    FRONT_BACKOFF_MAX_MS : m->front_backoff_ms * 2;
}

/*
 * The front is gone.  It held the connections (their clients see them
 * close), the counters and the signer's links; the policy and the
 * config are the monitor's, and the audit chain is continued from the
 * log's last line by the next front, as at any start.
 */
static void
front_exited(struct monitor *m, int status)
{
	m->front = 0;
	frontwatch_disarm(&m->watch);
	if (m->ctl_fd != -1) {
		close(m->ctl_fd);
		m->ctl_fd = -1;
	}
	if (m->stopping) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			m->failed = 1;
		return;
	}
	if (WIFSIGNALED(status)) {
		log_warnx("monitor: the front was killed by signal %d%s",
		    WTERMSIG(status), WTERMSIG(status) == SIGSYS ?
		    " (a system call outside its allowlist)" : "");
		if (WTERMSIG(status) == SIGSYS)
			count_kill(m, "unknown");
	} else
		log_warnx("monitor: the front exited with status %d",
		    WEXITSTATUS(status));
	drop_signers(m);
	if (all_down(m)) {
		log_warnx("monitor: the token refused the PIN: no signer, so "
		    "no front; stopping");
		m->failed = 1;
		begin_stop(m);
		return;
	}
	schedule_front(m);
}

static void	signer_exited(struct monitor *, struct slot *, int);

static void
reaped(struct monitor *m, pid_t pid, int status)
{
	size_t i;

	if (pid == m->front) {
		front_exited(m, status);
		return;
	}
	for (i = 0; i < sizeof(m->retiring) / sizeof(m->retiring[0]); i++)
		if (m->retiring[i] == pid) {
			m->retiring[i] = 0;
			return;
		}
	for (i = 0; i < (size_t)m->nslots; i++)
		if (m->slots[i].c.pid == pid)
			break;
	if (i == (size_t)m->nslots)
		return;
	signer_exited(m, &m->slots[i], status);
}

static void
signer_exited(struct monitor *m, struct slot *s, int status)
{
	struct sandbox_trap t;
	const char *name;
	char why[64 + P11B_KEY_NAME_MAX];
	int i, trapped;

	if (s->c.status_fd != -1) {
		close(s->c.status_fd);
		s->c.status_fd = -1;
	}
	trapped = read_trap(&s->c, &t) == 0;
	child_drop_links(&s->c);
	s->c.pid = 0;
	update_slots(m);
	if (m->stopping) {
		/* It should leave cleanly once the front closed its links. */
		if (!m->killed_leftovers && (!WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)) {
			log_warnx("monitor: the signer ended with status %d "
			    "while stopping", status);
			m->failed = 1;
		}
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == SIGNER_EXIT_PIN) {
		name = m->files.conf->tokens[s->token].name;
		log_warnx("monitor: the token refused the PIN; the signer "
		    "will NOT be restarted, nor any other%s%s (answering "
		    "TOKEN_UNAVAILABLE once none serves)",
		    m->files.conf->ntokens > 1 ? " of token " : "",
		    m->files.conf->ntokens > 1 ? name : "");
		pin_refused(m, &m->toks[s->token]);
		m->toks[s->token].down = 1;
		for (i = 0; i < m->nslots; i++)
			if (m->slots[i].token == s->token)
				m->slots[i].restart_at = 0;
		update_slots(m);
		if (all_down(m))
			m->stats.unavailable = 1;
		snprintf(why, sizeof(why), "%s%sPIN refused", m->files.conf->
		    ntokens > 1 ? name : "", m->files.conf->ntokens > 1 ?
		    ": " : "");
		(void)ctl_send(m->ctl_fd, CTL_SIGNER_DOWN, why, strlen(why),
		    NULL, 0);
		return;
	}
	if ((WIFEXITED(status) && WEXITSTATUS(status) ==
	    SIGNER_EXIT_SANDBOX) || (WIFSIGNALED(status) && WTERMSIG(status) ==
	    SIGSYS))
		sandbox_killed(m, trapped, &t);
	else if (WIFSIGNALED(status))
		log_warnx("monitor: the signer was killed by signal %d "
		    "(signer %d)", WTERMSIG(status), s->index);
	else
		log_warnx("monitor: the signer exited with status %d "
		    "(signer %d)", WEXITSTATUS(status), s->index);
	schedule_restart(m, s, clock_ms() - s->c.started_ms);
}

static void
reap(struct monitor *m)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		reaped(m, pid, status);
}

/*
 * The front is gone, stuck or stopped: make sure it is gone; its exit is
 * reaped and it is started again.
 */
static void
front_lost(struct monitor *m, const char *why)
{
	if (m->front > 0 && !m->stopping) {
		log_warnx("monitor: the front (pid %d) %s; killing it",
		    (int)m->front, why);
		(void)kill(m->front, SIGKILL);
	}
	frontwatch_disarm(&m->watch);
	if (m->ctl_fd != -1) {
		close(m->ctl_fd);
		m->ctl_fd = -1;
	}
}

/*
 * Wait for the front's reload verdict, serving its other requests.  The
 * channel's receive timeout (the watchdog's deadline) bounds the wait.
 */
static int
front_verdict(struct monitor *m, char *msg, size_t msglen)
{
	struct ctl_msg cm;
	int rc;

	for (;;) {
		if (ctl_recv(m->ctl_fd, &cm) != 0) {
			snprintf(msg, msglen, "the front went away");
			front_lost(m, "did not answer the reload");
			return -1;
		}
		if (cm.type == CTL_PONG)
			frontwatch_answered(&m->watch, clock_ms());
		if (cm.type == CTL_RELOAD_DONE) {
			rc = ctl_verdict(&cm, msg, msglen);
			ctl_msg_free(&cm);
			return rc;
		}
		if (cm.type == CTL_RESTART_SIGNER)
			kill_slot(m, &cm);
		ctl_msg_free(&cm);
	}
}

/*
 * A signer that did not start: reap it here, to learn whether the token
 * refused its PIN (1).  One that said why is exiting already.
 */
static int
signer_start_failed(struct monitor *m, struct child *c, struct tok *t,
    int timed_out)
{
	int status;

	child_drop_links(c);
	if (timed_out)
		(void)kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &status, 0) == -1)
		if (errno != EINTR)
			return 0;
	c->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == SIGNER_EXIT_PIN) {
		pin_refused(m, t);
		return 1;
	}
	return 0;
}

/* The other slots after a front's first: theirs join, the empty restart. */
static void
join_signers(struct monitor *m, struct slot *first)
{
	int i;

	for (i = 0; i < m->nslots; i++) {
		if (&m->slots[i] == first)
			continue;
		if (m->slots[i].c.pid > 0)
			send_signer(m, &m->slots[i]);
		else
			schedule_restart(m, &m->slots[i], 0);
	}
	update_slots(m);
}

/*
 * Fill n empty slots, one signer after the other: SoftHSM2 processes
 * that open the token at the same moment do not always find it (seen:
 * "no token with label").  Returns how many serve; a slot whose signer
 * did not start is left empty, with why in err.  *refused: a token
 * refused its PIN (no further signer is started with it).
 */
static int
start_signers(struct monitor *m, const struct config *conf,
    struct tok *toks, struct slot *slots, int n, int *refused, char *err,
    size_t errlen)
{
	char why[LOG_MSG_MAX];
	int i, r, t, up = 0;

	*refused = 0;
	snprintf(err, errlen, "no signer");
	for (i = 0; i < n; i++)
		slot_reset(&slots[i], i, config_slot_token(conf, i));
	for (i = 0; i < n && !*refused; i++) {
		t = slots[i].token;
		if (spawn_signer(m, conf, toks, t, &slots[i].c, i) != 0) {
			snprintf(err, errlen, "cannot start signer %d", i);
			continue;
		}
		if ((r = signer_status(&slots[i].c, START_WAIT_MS, why,
		    sizeof(why))) == 0) {
			up++;
			continue;
		}
		err[0] = '\0';
		if (conf->ntokens > 1) {
			strlcpy(err, conf->tokens[t].name, errlen);
			strlcat(err, ": ", errlen);
		}
		strlcat(err, why, errlen);
		if (signer_start_failed(m, &slots[i].c, &toks[t], r == -2))
			*refused = 1;
		slots[i].c.pid = 0;
	}
	return up;
}

/* The audit log, by the checks of fcheck_open_log; -1 logged. */
static int
open_audit(const struct config *conf)
{
	char err[LOG_MSG_MAX];
	int fd;

	if (conf->audit_path == NULL)
		return -1;
	if ((fd = audit_file_open(conf, conf->audit_path, err,
	    sizeof(err))) == -1)
		log_warnx("monitor: audit log %s", err);
	return fd;
}

/* Watch the log the front now writes (its own descriptor). */
static void
watch_audit(struct monitor *m)
{
	const char *path = m->files.conf->audit_path;

	logwatch_set(&m->audit_watch, path != NULL ? open_audit(
	    m->files.conf) : -1, path);
}

/*
 * SIGHUP: read and check the files, start a signer for them, and let the
 * front switch over.  Any failure leaves everything as it was.
 */
/*
 * A block new to a reload whose PIN is an environment variable: that
 * variable was read (and cleared) at start, but a block in force may
 * hold its PIN; a copy of it (sealed), or NULL.
 */
static struct secret *
shared_env_pin(struct monitor *m, const struct token_block *tb)
{
	const struct config *conf = m->files.conf;
	struct secret *copy;
	size_t k;

	if (tb->pin_source != PIN_ENV)
		return NULL;
	for (k = 0; k < conf->ntokens; k++) {
		if (conf->tokens[k].pin_source != PIN_ENV ||
		    strcmp(conf->tokens[k].pin_ref, tb->pin_ref) != 0 ||
		    secret_unseal(m->toks[k].pin) != 0)
			continue;
		copy = secret_dup(m->toks[k].pin);
		(void)secret_seal(m->toks[k].pin);
		if (copy != NULL && secret_seal(copy) != 0) {
			secret_free(copy);
			copy = NULL;
		}
		return copy;
	}
	return NULL;
}

/*
 * The reload's PINs, by the new config's blocks (nt): a block both files
 * have keeps its PIN and guard, or the PIN read again (fresh[i]); a new
 * block has its PIN read (fresh).  -1 with why in err (fresh ones freed).
 */
static int
reload_pins(struct monitor *m, const struct config *conf, struct tok *nt,
    int *fresh, char *err, size_t errlen)
{
	struct secret *pin, *cur;
	size_t i;
	int j, owned;

	memset(nt, 0, sizeof(*nt) * CONFIG_MAX_TOKENS);
	for (i = 0; i < conf->ntokens; i++) {
		fresh[i] = 0;
		j = config_token_index(m->files.conf, conf->tokens[i].name);
		if (j >= 0)
			nt[i].guard = m->toks[j].guard;
		else if (pin_guard_init(&nt[i].guard) != 0) {
			snprintf(err, errlen, "cannot set up the PIN guard");
			goto fail;
		}
		cur = j >= 0 ? m->toks[j].pin : shared_env_pin(m,
		    &conf->tokens[i]);
		owned = j < 0 && cur != NULL;
		if (pin_for_reload(&nt[i].guard, conf, &conf->tokens[i], cur,
		    &pin, err, errlen) != 0) {
			if (owned)
				secret_free(cur);
			goto fail;
		}
		if (pin != NULL && owned)
			secret_free(cur);
		fresh[i] = pin != NULL || owned;
		nt[i].pin = pin != NULL ? pin : cur;
	}
	return 0;
 fail:
	for (; i-- > 0;)
		if (fresh[i])
			secret_free(nt[i].pin);
	return -1;
}

/* The reload did not take: the PINs read for it go. */
static void
reload_pins_drop(const struct config *conf, struct tok *nt, const int *fresh)
{
	size_t i;

	for (i = 0; i < conf->ntokens; i++)
		if (fresh[i])
			secret_free(nt[i].pin);
	sodium_memzero(nt, sizeof(*nt) * CONFIG_MAX_TOKENS);
}

/* The reload took: nt (fresh PINs owned) replaces m->toks. */
static void
reload_pins_use(struct monitor *m, const struct config *conf,
    struct tok *nt, const int *fresh)
{
	size_t i, j;
	int kept;

	for (j = 0; j < m->files.conf->ntokens; j++) {
		kept = 0;
		for (i = 0; i < conf->ntokens; i++)
			if (!fresh[i] && nt[i].pin == m->toks[j].pin)
				kept = 1;
		if (!kept)
			secret_free(m->toks[j].pin);
	}
	sodium_memzero(m->toks, sizeof(m->toks));
	memcpy(m->toks, nt, sizeof(m->toks));
}

static void
reload(struct monitor *m)
{
	struct files f;
	struct slot ns[CTL_SIGNERS_MAX];
	struct tok nt[CONFIG_MAX_TOKENS];
	int fresh[CONFIG_MAX_TOKENS];
	const char *what;
	const void *parts[4];
	size_t lens[4];
	uint8_t *body;
	size_t len;
	char err[LOG_MSG_MAX];
	int fds[CTL_MAX_FDS], nfds, afd, sfd = -1, i, n, refused, newlog;

	log_info("SIGHUP: reloading");
	if (files_load(m->conffile, &f, err, sizeof(err)) != 0)
		goto refused;
	if (auditcopy_check(f.conf, err, sizeof(err)) != 0) {
		files_free(&f);
		goto refused;
	}
	files_forget_pin(&f);	/* before any fork */
	if ((what = files_restart_needed(m->files.conf, f.conf)) != NULL ||
	    (!files_same_pin(&m->files, &f) && (what = "PIN source"))) {
		snprintf(err, sizeof(err), "%s: the %s settings changed; that "
		    "needs a restart", m->conffile, what);
		files_free(&f);
		goto refused;
	}
	if (reload_pins(m, f.conf, nt, fresh, err, sizeof(err)) != 0) {
		files_free(&f);
		goto refused;
	}
	/* All of them, or none: the front takes them as one generation. */
	n = f.conf->signers;
	if (start_signers(m, f.conf, nt, ns, n, &refused, err,
	    sizeof(err)) != n) {
		for (i = 0; i < n; i++)
			drop_signer(m, &ns[i]);
		goto refused_free;
	}
	parts[0] = m->conffile;
	lens[0] = strlen(m->conffile);
	parts[1] = f.confbuf;
	lens[1] = f.conflen;
	parts[2] = f.polbuf;
	lens[2] = f.pollen;
	parts[3] = f.names;
	lens[3] = f.nameslen;
	nfds = 0;
	for (i = 0; i < n; i++) {
		memcpy(fds + nfds, ns[i].c.links, sizeof(int) *
		    ns[i].c.nlinks);
		nfds += ns[i].c.nlinks;
	}
	if ((afd = open_audit(f.conf)) != -1) {
		fds[nfds++] = afd;
		/* The log's head file follows it (after a path change). */
		if ((sfd = audit_state_open(f.conf->audit_path)) != -1)
			fds[nfds++] = sfd;
	}
	if (ctl_parts_pack(parts, lens, 4, &body, &len) != 0 ||
	    ctl_send(m->ctl_fd, CTL_RELOAD, body, len, fds, nfds) != 0) {
		log_warnx("monitor: cannot send the reload to the front");
		/* Maybe half a message on the channel: no use any more. */
		front_lost(m, "did not take the reload");
		if (afd != -1)
			close(afd);
		if (sfd != -1)
			close(sfd);
		for (i = 0; i < n; i++)
			drop_signer(m, &ns[i]);
		reload_pins_drop(f.conf, nt, fresh);
		files_free(&f);
		return;
	}
	free(body);
	if (afd != -1)
		close(afd);
	if (sfd != -1)
		close(sfd);
	for (i = 0; i < n; i++)
		child_drop_links(&ns[i].c);
	if (front_verdict(m, err, sizeof(err)) != 0) {
		log_debug("monitor: the front kept the old files: %s", err);
		for (i = 0; i < n; i++)		/* the front closed their links */
			drop_signer(m, &ns[i]);
		reload_pins_drop(f.conf, nt, fresh);
		files_free(&f);
		return;
	}
	drop_signers(m);		/* all at once: the front did */
	memcpy(m->slots, ns, sizeof(ns[0]) * n);
	m->nslots = n;
	/* The front switches logs only when the path changed. */
	newlog = f.conf->audit_path != NULL && (m->files.conf->audit_path ==
	    NULL || strcmp(f.conf->audit_path, m->files.conf->audit_path) != 0);
	if (all_down(m))
		log_info("monitor: the token accepted the PIN; serving again");
	reload_pins_use(m, f.conf, nt, fresh);
	files_free(&m->files);
	m->files = f;
	m->stats.unavailable = 0;	/* signers just started */
	memset(m->stats.tokens, 0, sizeof(m->stats.tokens));
	update_slots(m);
	/* The front just answered; the deadline may have changed. */
	ctl_timeouts(m->ctl_fd, f.conf->front_watchdog);
	frontwatch_arm(&m->watch, f.conf->front_watchdog, clock_ms());
	if (newlog)
		watch_audit(m);
	return;
 refused_free:
	reload_pins_drop(f.conf, nt, fresh);
	files_free(&f);
 refused:
	/* The front logs and audits it. */
	(void)ctl_send(m->ctl_fd, CTL_RELOAD_FAILED, err, strlen(err), NULL,
	    0);
}

/* SIGUSR1.  A file that fails the checks leaves the front's log as it is. */
static void
reopen_audit(struct monitor *m)
{
	int fd;

	logwatch_check(&m->audit_watch);
	if ((fd = open_audit(m->files.conf)) == -1) {
		if (m->files.conf->audit_path != NULL)
			log_warnx("monitor: SIGUSR1: still writing to the "
			    "audit log opened before");
		return;
	}
	if (ctl_send(m->ctl_fd, CTL_AUDIT_FD, NULL, 0, &fd, 1) != 0) {
		close(fd);
		return;
	}
	logwatch_set(&m->audit_watch, fd, m->files.conf->audit_path);
}

static void
handle_signals(struct monitor *m)
{
	struct signalfd_siginfo si;

	while (read(m->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(m);
			break;
		case SIGHUP:
			if (m->front == 0 && !m->stopping)
				log_warnx("SIGHUP: the front is being "
				    "restarted; not reloading (send it again)");
			else if (!m->stopping)
				reload(m);
			break;
		case SIGUSR1:
			reopen_audit(m);
			break;
		default:
			if (!m->stopping)
				log_info("signal %u: stopping", si.ssi_signo);
			begin_stop(m);
			break;
		}
	}
}

static void
handle_ctl(struct monitor *m)
{
	struct ctl_msg cm;

	if (ctl_recv(m->ctl_fd, &cm) != 0) {
		/* Gone (its exit is reaped), or a broken channel. */
		front_lost(m, "closed or broke the control channel");
		return;
	}
	if (cm.type == CTL_PONG)
		frontwatch_answered(&m->watch, clock_ms());
	if (cm.type == CTL_RESTART_SIGNER)
		kill_slot(m, &cm);
	ctl_msg_free(&cm);
}

/* The front's CTL_RESTART_SIGNER: every worker of that signer is stuck. */
static void
kill_slot(struct monitor *m, const struct ctl_msg *cm)
{
	struct slot *s;
	uint32_t index;

	if (cm->len != sizeof(index))
		return;
	memcpy(&index, cm->body, sizeof(index));
	if (index >= (uint32_t)m->nslots)
		return;
	s = &m->slots[index];
	if (s->c.pid <= 0 || s->c.status_fd != -1)
		return;
	log_warnx("monitor: every worker of signer %d is stuck; killing it",
	    s->index);
	(void)kill(s->c.pid, SIGKILL);
}

/* Children's stderr (detached): one syslog line per line. */
static void
relay_log(struct monitor *m)
{
	char *nl;
	ssize_t n;

	n = read(m->log_fd, m->logbuf + m->loglen, sizeof(m->logbuf) - 1 -
	    m->loglen);
	if (n <= 0)
		return;
	m->loglen += (size_t)n;
	m->logbuf[m->loglen] = '\0';
	while ((nl = strchr(m->logbuf, '\n')) != NULL ||
	    m->loglen == sizeof(m->logbuf) - 1) {
		if (nl == NULL)
			nl = m->logbuf + m->loglen - 1;
		*nl = '\0';
		syslog(LOG_NOTICE, "%s", m->logbuf);
		m->loglen -= (size_t)(nl + 1 - m->logbuf);
		memmove(m->logbuf, nl + 1, m->loglen);
		m->logbuf[m->loglen] = '\0';
	}
}

static int
any_child(const struct monitor *m)
{
	size_t i;

	if (m->front > 0)
		return 1;
	for (i = 0; i < (size_t)m->nslots; i++)
		if (m->slots[i].c.pid > 0)
			return 1;
	for (i = 0; i < sizeof(m->retiring) / sizeof(m->retiring[0]); i++)
		if (m->retiring[i] != 0)
			return 1;
	return 0;
}

/* Signers that did not go when the front did (a hung token call). */
static void
kill_leftovers(struct monitor *m)
{
	size_t i;

	m->killed_leftovers = 1;
	for (i = 0; i < (size_t)m->nslots; i++)
		if (m->slots[i].c.pid > 0)
			(void)kill(m->slots[i].c.pid, SIGKILL);
	for (i = 0; i < sizeof(m->retiring) / sizeof(m->retiring[0]); i++)
		if (m->retiring[i] != 0)
			(void)kill(m->retiring[i], SIGKILL);
}

/* The earliest of a scheduled restart, the watchdog's next step. */
static int
loop_timeout(const struct monitor *m)
{
	uint64_t now = clock_ms(), at[1 + 2 * CTL_SIGNERS_MAX] = {
	    m->front_restart_at };
	const struct slot *s;
	int timeout = m->stopping ? 200 : -1, t, i;
	size_t n = 1;

	for (i = 0; i < m->nslots; i++) {
		s = &m->slots[i];
		at[n++] = s->restart_at;
		if (slot_looping(s) && !m->toks[s->token].down && s->c.pid > 0)
			at[n++] = s->c.started_ms + STABLE_MS;
	}
	for (i = 0; i < (int)n; i++) {
		if (at[i] == 0)
			continue;
		t = at[i] > now ? (int)(at[i] - now) : 0;
		if (timeout == -1 || t < timeout)
			timeout = t;
	}
	if (m->front > 0 && (t = frontwatch_wait(&m->watch, now)) != -1 &&
	    (timeout == -1 || t < timeout))
		timeout = t;
	return timeout;
}

/* The counts to the front, when they changed or it is new. */
static void
send_stats(struct monitor *m)
{
	if (m->ctl_fd == -1 || m->front <= 0 || m->stopping ||
	    (m->stats_sent && memcmp(&m->sent, &m->stats, sizeof(m->sent)) ==
	    0))
		return;
	if (ctl_send(m->ctl_fd, CTL_SIGNER_STATS, &m->stats,
	    sizeof(m->stats), NULL, 0) != 0) {
		log_warn("monitor: cannot send the signer counts");
		return;
	}
	m->sent = m->stats;
	m->stats_sent = 1;
}

static void
loop(struct monitor *m)
{
	struct pollfd pfd[4 + CTL_SIGNERS_MAX];
	struct slot *s;
	int i, n;

	while (!m->stopping || any_child(m)) {
		n = 0;
		pfd[n++] = (struct pollfd){ m->sig_fd, POLLIN, 0 };
		pfd[n++] = (struct pollfd){ m->ctl_fd, POLLIN, 0 };
		pfd[n++] = (struct pollfd){ m->log_fd, POLLIN, 0 };
		pfd[n++] = (struct pollfd){ m->copy.fd, POLLIN, 0 };
		for (i = 0; i < m->nslots; i++)
			pfd[n++] = (struct pollfd){ m->slots[i].c.status_fd,
			    POLLIN, 0 };
		/* A new front hears the counts before anything else. */
		send_stats(m);
		if (poll(pfd, n, logwatch_timeout(&m->audit_watch,
		    loop_timeout(m))) == -1 && errno != EINTR)
			fatal("monitor: poll");
		logwatch_tick(&m->audit_watch);
		if (pfd[2].revents & POLLIN)
			relay_log(m);
		if (pfd[3].revents & (POLLIN | POLLHUP))
			auditcopy_read(&m->copy, m->files.conf);
		/* Before the signals: a reload may replace the slots. */
		for (i = 0; i < m->nslots && 4 + i < n; i++) {
			s = &m->slots[i];
			if (s->c.status_fd != -1 && pfd[4 + i].fd ==
			    s->c.status_fd && (pfd[4 + i].revents &
			    (POLLIN | POLLHUP)))
				starting_status(m, s);
		}
		if (pfd[0].revents & POLLIN)
			handle_signals(m);
		if (m->ctl_fd != -1 && (pfd[1].revents & (POLLIN | POLLHUP)))
			handle_ctl(m);
		for (i = 0; i < m->nslots; i++) {
			s = &m->slots[i];
			if (s->restart_at != 0 && clock_ms() >= s->restart_at)
				restart_signer(m, s);
		}
		if (m->front > 0 && frontwatch_tick(&m->watch, m->ctl_fd,
		    clock_ms()))
			front_lost(m, "did not answer the watchdog in time "
			    "(stopped or stuck)");
		if (m->front_restart_at != 0 && clock_ms() >=
		    m->front_restart_at)
			restart_front(m);
		check_stable(m);
		send_stats(m);
		/* With the front gone, the signers follow (links closed). */
		if (m->stopping && m->front == 0) {
			if (m->kill_at == 0)
				m->kill_at = clock_ms() + LEFTOVER_MS;
			else if (clock_ms() >= m->kill_at)
				kill_leftovers(m);
		}
	}
	if (m->log_fd != -1)
		relay_log(m);
}

/* Fork a front with the files in force and one slot's signer links. */
static int
spawn_front(struct monitor *m, struct slot *s)
{
	struct child *signer = &s->c;
	struct broker *b = m->b;
	int sp[2], keep[CTL_MAX_FDS + 3], i, n, copy_fd;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		return -1;
	if (auditcopy_pair(&m->copy, &copy_fd) != 0) {
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if ((pid = fork()) == -1) {
		close(sp[0]);
		close(sp[1]);
		close(copy_fd);
		return -1;
	}
	if (pid == 0) {
		child_stderr(m);
		for (i = 0; i < CONFIG_MAX_TOKENS; i++)	/* the front never
							   sees them */
			secret_free(m->toks[i].pin);
		sodium_memzero(m->toks, sizeof(m->toks));
		b->conf = m->files.conf;
		b->policy = m->files.pol;
		b->signer_stats = m->stats;	/* the counts so far */
		memcpy(b->files_hex, m->files.hex, sizeof(b->files_hex));
		n = 0;
		keep[n++] = m->listen_fd;
		keep[n++] = sp[1];
		for (i = 0; i < signer->nlinks; i++)
			keep[n++] = signer->links[i];
		keep[n++] = copy_fd;
		keep_only(keep, n);
		b->audit_copy_fd = keep[n - 1];
		front_main(b, keep[0], keep[1], keep + 2, signer->nlinks,
		    s->index);
	}
	close(sp[1]);
	close(copy_fd);
	m->ctl_fd = sp[0];
	m->front = pid;
	m->stats_sent = 0;
	ctl_timeouts(m->ctl_fd, m->files.conf->front_watchdog);
	return 0;
}

/* The new front's CTL_READY: 0, or -1 with why. */
static int
front_ready(struct monitor *m, char *err, size_t errlen)
{
	struct pollfd pfd = { m->ctl_fd, POLLIN, 0 };
	int r;

	if (poll(&pfd, 1, START_WAIT_MS) <= 0) {
		snprintf(err, errlen, "the front did not start");
		return -1;
	}
	if ((r = ctl_recv_verdict(m->ctl_fd, err, errlen)) != 0 &&
	    err[0] == '\0')
		snprintf(err, errlen, "the front did not start");
	if (r == 0) {
		m->front_started_ms = clock_ms();
		frontwatch_arm(&m->watch, m->files.conf->front_watchdog,
		    m->front_started_ms);
	}
	return r;
}

/*
 * A front that died or was killed: a new signer (one login), then a new
 * front with its links, the listening socket and the files in force.  A
 * front that cannot start is an operator's matter (the audit log, say):
 * the broker stops, as it would at start-up.
 */
static void
restart_front(struct monitor *m)
{
	char err[LOG_MSG_MAX];
	struct slot *first = NULL;
	int i, refused;

	m->front_restart_at = 0;
	if (start_signers(m, m->files.conf, m->toks, m->slots, m->nslots,
	    &refused, err, sizeof(err)) == 0 || refused) {
		log_warnx("monitor: the signer did not start: %s", err);
		drop_signers(m);
		if (refused) {
			m->failed = 1;
			begin_stop(m);
		} else
			schedule_front(m);
		return;
	}
	for (i = 0; i < m->nslots && first == NULL; i++)
		if (m->slots[i].c.pid > 0)
			first = &m->slots[i];
	if (spawn_front(m, first) != 0) {
		log_warn("monitor: cannot start a front");
		drop_signers(m);
		schedule_front(m);
		return;
	}
	child_drop_links(&first->c);
	if (front_ready(m, err, sizeof(err)) != 0) {
		log_warnx("monitor: the new front cannot serve: %s; stopping",
		    err);
		m->failed = 1;
		(void)kill(m->front, SIGKILL);
		begin_stop(m);
		return;
	}
	log_warnx("monitor: a new front serves (pid %d)", (int)m->front);
	join_signers(m, first);
}

int
monitor_run(struct broker *b, struct files *files, const char *conffile,
    struct secret **pins, int listen_fd, int log_fd, monitor_ready_fn ready)
{
	static struct monitor m;
	struct slot *first = NULL;
	char err[LOG_MSG_MAX];
	sigset_t mask;
	size_t t;
	int i, up, refused;

	memset(&m, 0, sizeof(m));
	m.b = b;
	m.files = *files;
	m.conffile = conffile;
	m.listen_fd = listen_fd;
	m.log_fd = log_fd;
	m.ctl_fd = -1;
	m.nslots = m.files.conf->signers;
	m.front_backoff_ms = FRONT_BACKOFF_MIN_MS;
	logwatch_init(&m.audit_watch);
	auditcopy_init(&m.copy);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((m.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		fatal("signalfd");
	for (t = 0; t < m.files.conf->ntokens; t++) {
		m.toks[t].pin = pins[t];
		if (secret_seal(pins[t]) != 0)
			ready(-1, "cannot seal the PIN in memory");
		if (pin_guard_init(&m.toks[t].guard) != 0)
			ready(-1, "cannot set up the PIN guard");
	}
	/*
	 * 1. the signers, which log in; 2. the front, with the first one's
	 * links; 3. the others' links.  A token refusing its PIN stops the
	 * start; a signer that does not start is tried again with its
	 * slot's backoff once another serves (with several tokens, one
	 * down does not keep the others from serving).
	 */
	if ((up = start_signers(&m, m.files.conf, m.toks, m.slots, m.nslots,
	    &refused, err, sizeof(err))) == 0 || refused)
		ready(-1, err);
	for (i = 0; i < m.nslots && first == NULL; i++)
		if (m.slots[i].c.pid > 0)
			first = &m.slots[i];
	if (up < m.nslots)
		log_warnx("monitor: %d of %d signers started (%s); the others "
		    "are tried again", up, m.nslots, err);
	if (spawn_front(&m, first) != 0)
		ready(-1, "cannot start the front");
	child_drop_links(&first->c);
	if (front_ready(&m, err, sizeof(err)) != 0)
		ready(-1, err);
	join_signers(&m, first);
	ready(0, NULL);
	watch_audit(&m);
	loop(&m);
	auditcopy_read(&m.copy, m.files.conf);	/* the final checkpoint */
	auditcopy_close(&m.copy);
	logwatch_clear(&m.audit_watch);
	unlink(m.files.conf->socket_path);
	for (t = 0; t < CONFIG_MAX_TOKENS; t++)
		secret_free(m.toks[t].pin);
	files_free(&m.files);
	log_info("stopped");
	return m.failed ? 1 : 0;
}
