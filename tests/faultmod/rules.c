/*
 * The control file: one rule per line, re-read whenever its identity
 * (device, inode, size, mtime) changes, so that a test can change the
 * faults of a running daemon.  The check is one stat() per call and a
 * re-read is open(O_RDONLY)/read/close: nothing else, because the module
 * may run inside the broker's sandboxed signer (seccomp allowlist,
 * Landlock limiting reads to the token's paths).
 *
 *	FUNCTION ACTION [after N] [count M]
 *
 * FUNCTION is a C_ name or "*"; ACTION is "error CODE", "delay DURATION",
 * "hang", "corrupt" or "crash".  See tests/faultmod/README.md.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"

#define CONTROL_MAX	65536	/* bytes of the control file used */
#define RULES_MAX	256
#define TOKENS_MAX	8
#define HANG_POLL_MS	20
#define ANY_FUNCTION	(-1)

enum action {
	ACT_ERROR,
	ACT_DELAY,
	ACT_HANG,
	ACT_CORRUPT,
	ACT_CRASH,
	ACT_SOCKET,
	ACT_OPEN,
	ACT_CREATE,
	ACT_CONNECT
};

struct rule {
	int		 fn;	/* enum fault_fn or ANY_FUNCTION */
	enum action	 act;
	CK_RV		 rv;
	unsigned long	 delay_ms;
	int		 family;	/* ACT_SOCKET */
	char		 arg[RULE_TEXT_MAX];	/* ACT_OPEN, _CREATE, _CONNECT */
	unsigned long	 after;	/* matching calls let through first */
	unsigned long	 count;	/* then fire this often; 0: always */
	unsigned long	 seen;		/* matching calls so far */
	unsigned long	 fired;
	int		 claimed; /* while carrying counters over */
	char		 text[RULE_TEXT_MAX]; /* the rule's identity */
};

static struct control {
	pthread_mutex_t	 mtx;
	char		*path;
	int		 verbose;
	int		 exists;	/* the fields below: a file */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtim;
	struct rule	*rules;
	size_t		 nrules;
} ctl = { .mtx = PTHREAD_MUTEX_INITIALIZER };

#define NAME_FN(name, params, args)	#name,
const char *const fault_fn_names[FN_COUNT] = {
	FAULT_FUNCTIONS(NAME_FN, NAME_FN)
	"C_GetFunctionList"
};
#undef NAME_FN

#define RV(x)	{ #x, x }
static const struct {
	const char	*name;
	CK_RV		 rv;
} rv_names[] = {
	/* The faults the broker must survive come first. */
	RV(CKR_DEVICE_ERROR), RV(CKR_SESSION_HANDLE_INVALID),
	RV(CKR_SESSION_CLOSED), RV(CKR_DEVICE_REMOVED),
	RV(CKR_TOKEN_NOT_PRESENT), RV(CKR_PIN_INCORRECT), RV(CKR_PIN_LOCKED),
	RV(CKR_OK), RV(CKR_CANCEL), RV(CKR_HOST_MEMORY),
	RV(CKR_SLOT_ID_INVALID), RV(CKR_GENERAL_ERROR),
	RV(CKR_FUNCTION_FAILED), RV(CKR_ARGUMENTS_BAD),
	RV(CKR_ATTRIBUTE_SENSITIVE), RV(CKR_ATTRIBUTE_TYPE_INVALID),
	RV(CKR_DATA_INVALID), RV(CKR_DATA_LEN_RANGE), RV(CKR_DEVICE_MEMORY),
	RV(CKR_FUNCTION_CANCELED), RV(CKR_FUNCTION_NOT_SUPPORTED),
	RV(CKR_KEY_HANDLE_INVALID), RV(CKR_KEY_SIZE_RANGE),
	RV(CKR_KEY_TYPE_INCONSISTENT), RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
	RV(CKR_MECHANISM_INVALID), RV(CKR_MECHANISM_PARAM_INVALID),
	RV(CKR_OBJECT_HANDLE_INVALID), RV(CKR_OPERATION_ACTIVE),
	RV(CKR_OPERATION_NOT_INITIALIZED), RV(CKR_PIN_INVALID),
	RV(CKR_PIN_LEN_RANGE), RV(CKR_PIN_EXPIRED), RV(CKR_SESSION_COUNT),
	RV(CKR_SESSION_READ_ONLY), RV(CKR_SIGNATURE_INVALID),
	RV(CKR_SIGNATURE_LEN_RANGE), RV(CKR_TOKEN_NOT_RECOGNIZED),
	RV(CKR_USER_ALREADY_LOGGED_IN), RV(CKR_USER_NOT_LOGGED_IN),
	RV(CKR_USER_PIN_NOT_INITIALIZED), RV(CKR_USER_TYPE_INVALID),
	RV(CKR_RANDOM_NO_RNG), RV(CKR_BUFFER_TOO_SMALL),
	RV(CKR_CRYPTOKI_NOT_INITIALIZED), RV(CKR_CRYPTOKI_ALREADY_INITIALIZED),
	RV(CKR_FUNCTION_REJECTED),
};
#undef RV

void
fault_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "fault-pkcs11: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write, so that lines from several threads do not mix. */
	(void)!write(STDERR_FILENO, buf, n);
}

int
fault_fn_lookup(const char *name)
{
	int i;

	for (i = 0; i < FN_COUNT; i++)
		if (strcmp(fault_fn_names[i], name) == 0)
			return i;
	return -1;
}

int
fault_rv_lookup(const char *s, CK_RV *rv)
{
	unsigned long v;
	size_t i;
	char *end;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
		if (strcmp(rv_names[i].name, s) == 0) {
			*rv = rv_names[i].rv;
			return 0;
		}
	errno = 0;
	v = strtoul(s, &end, 0);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0)
		return -1;
	*rv = v;
	return 0;
}

const char *
fault_rv_name(CK_RV rv)
{
	size_t i;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
		if (rv_names[i].rv == rv)
			return rv_names[i].name;
	return "CKR_(vendor or unnamed)";
}

static int
parse_number(const char *s, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return *s >= '0' && *s <= '9' && *end == '\0' && errno == 0 ? 0 : -1;
}

/* "200ms", "2s" or "200" (milliseconds). */
static int
parse_duration(const char *s, unsigned long *ms)
{
	unsigned long v, mult = 1;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || errno != 0)
		return -1;
	if (strcmp(end, "s") == 0)
		mult = 1000;
	else if (*end != '\0' && strcmp(end, "ms") != 0)
		return -1;
	if (v > 86400000UL / mult)
		return -1;
	*ms = v * mult;
	return 0;
}

static int
corruptible(int fn)
{
	return fn == ANY_FUNCTION || fn == FN_C_Sign || fn == FN_C_SignFinal ||
	    fn == FN_C_GenerateRandom || fn == FN_C_GetAttributeValue;
}

/* The action and its argument; returns the tokens used, or -1. */
static int
parse_action(struct rule *r, char **tok, int ntok, const char **why)
{
	if (strcmp(tok[0], "error") == 0) {
		r->act = ACT_ERROR;
		if (ntok < 2 || fault_rv_lookup(tok[1], &r->rv) != 0) {
			*why = "error needs a CKR_ name or a number";
			return -1;
		}
		return 2;
	}
	if (strcmp(tok[0], "delay") == 0) {
		r->act = ACT_DELAY;
		if (ntok < 2 || parse_duration(tok[1], &r->delay_ms) != 0) {
			*why = "delay needs a duration (200ms, 2s)";
			return -1;
		}
		return 2;
	}
	if (strcmp(tok[0], "socket") == 0) {
		/* A module that talks to its HSM over the network. */
		r->act = ACT_SOCKET;
		if (ntok >= 2 && strcmp(tok[1], "inet") == 0)
			r->family = AF_INET;
		else if (ntok >= 2 && strcmp(tok[1], "inet6") == 0)
			r->family = AF_INET6;
		else if (ntok >= 2 && strcmp(tok[1], "netlink") == 0)
			r->family = AF_NETLINK;
		else {
			*why = "socket needs inet, inet6 or netlink";
			return -1;
		}
		return 2;
	}
	if (strcmp(tok[0], "open") == 0 || strcmp(tok[0], "create") == 0 ||
	    strcmp(tok[0], "connect") == 0) {
		/* What a module does with its files and its HSM. */
		r->act = tok[0][0] == 'o' ? ACT_OPEN : tok[0][1] == 'r' ?
		    ACT_CREATE : ACT_CONNECT;
		if (ntok < 2 || strlen(tok[1]) >= sizeof(r->arg)) {
			*why = "open and create need a path, connect a port";
			return -1;
		}
		snprintf(r->arg, sizeof(r->arg), "%s", tok[1]);
		return 2;
	}
	if (strcmp(tok[0], "hang") == 0)
		r->act = ACT_HANG;
	else if (strcmp(tok[0], "corrupt") == 0)
		r->act = ACT_CORRUPT;
	else if (strcmp(tok[0], "crash") == 0)
		r->act = ACT_CRASH;
	else {
		*why = "unknown action";
		return -1;
	}
	if (r->act == ACT_CORRUPT && !corruptible(r->fn)) {
		*why = "corrupt is for C_Sign, C_SignFinal, C_GenerateRandom "
		    "and C_GetAttributeValue";
		return -1;
	}
	return 1;
}

/* One line into *r: 1 for a rule, 0 for a blank line, -1 for an error. */
static int
parse_line(char *line, struct rule *r, const char **why)
{
	char *tok[TOKENS_MAX], *p, *save = NULL;
	int ntok = 0, i, n;
	size_t off = 0;

	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';
	for (p = strtok_r(line, " \t\r", &save); p != NULL;
	    p = strtok_r(NULL, " \t\r", &save)) {
		if (ntok == TOKENS_MAX) {
			*why = "too many words";
			return -1;
		}
		tok[ntok++] = p;
	}
	if (ntok == 0)
		return 0;
	memset(r, 0, sizeof(*r));
	if (strcmp(tok[0], "*") == 0)
		r->fn = ANY_FUNCTION;
	else if ((r->fn = fault_fn_lookup(tok[0])) < 0 ||
	    r->fn == FN_C_GetFunctionList) {
		*why = "unknown function";
		return -1;
	}
	if (ntok < 2 || (n = parse_action(r, tok + 1, ntok - 1, why)) < 0) {
		if (ntok < 2)
			*why = "no action";
		return -1;
	}
	for (i = 1 + n; i < ntok; i += 2) {
		if (i + 1 >= ntok) {
			*why = "after and count need a number";
			return -1;
		}
		if (strcmp(tok[i], "after") == 0 &&
		    parse_number(tok[i + 1], &r->after) == 0)
			continue;
		if (strcmp(tok[i], "count") == 0 &&
		    parse_number(tok[i + 1], &r->count) == 0 && r->count > 0)
			continue;
		*why = "expected after N or count M (M > 0)";
		return -1;
	}
	for (i = 0; i < ntok; i++)
		off += snprintf(r->text + off, off < sizeof(r->text) ?
		    sizeof(r->text) - off : 0, "%s%s", i ? " " : "", tok[i]);
	if (off >= sizeof(r->text)) {
		*why = "rule too long";
		return -1;
	}
	return 1;
}

/*
 * A rule that is still in the new file keeps its counters: editing one
 * line must not re-arm the "count" of another.
 */
static void
carry_counters(struct rule *rules, size_t n)
{
	size_t i, j;

	for (j = 0; j < ctl.nrules; j++)
		ctl.rules[j].claimed = 0;
	for (i = 0; i < n; i++)
		for (j = 0; j < ctl.nrules; j++) {
			if (ctl.rules[j].claimed ||
			    strcmp(ctl.rules[j].text, rules[i].text) != 0)
				continue;
			rules[i].seen = ctl.rules[j].seen;
			rules[i].fired = ctl.rules[j].fired;
			ctl.rules[j].claimed = 1;
			break;
		}
}

static void
parse_control(char *buf)
{
	struct rule *rules;
	const char *why;
	char *line, *next;
	size_t n = 0;
	int lineno = 0, r;

	if ((rules = calloc(RULES_MAX, sizeof(*rules))) == NULL) {
		fault_log("%s: out of memory", ctl.path);
		return;
	}
	for (line = buf; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		why = "";
		if ((r = parse_line(line, &rules[n], &why)) < 0)
			fault_log("%s:%d: %s (line ignored)", ctl.path, lineno,
			    why);
		else if (r > 0 && ++n == RULES_MAX) {
			fault_log("%s:%d: more than %d rules, the rest ignored",
			    ctl.path, lineno, RULES_MAX);
			break;
		}
	}
	carry_counters(rules, n);
	free(ctl.rules);
	ctl.rules = rules;
	ctl.nrules = n;
	if (ctl.verbose)
		fault_log("%s: %zu rules", ctl.path, n);
}

static void
drop_rules(void)
{
	free(ctl.rules);
	ctl.rules = NULL;
	ctl.nrules = 0;
}

/* Re-read the control file if it changed.  Called with ctl.mtx held. */
static void
control_refresh(void)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if (ctl.path == NULL)
		return;
	if (stat(ctl.path, &st) == -1) {
		if (ctl.exists)
			drop_rules();
		ctl.exists = 0;
		return;
	}
	if (ctl.exists && st.st_dev == ctl.dev && st.st_ino == ctl.ino &&
	    st.st_size == ctl.size && st.st_mtim.tv_sec == ctl.mtim.tv_sec &&
	    st.st_mtim.tv_nsec == ctl.mtim.tv_nsec)
		return;
	ctl.exists = 1;
	ctl.dev = st.st_dev;
	ctl.ino = st.st_ino;
	ctl.size = st.st_size;
	ctl.mtim = st.st_mtim;
	if ((buf = malloc(CONTROL_MAX + 1)) == NULL)
		return;
	if ((fd = open(ctl.path, O_RDONLY | O_CLOEXEC)) == -1) {
		fault_log("%s: %s (old rules kept)", ctl.path, strerror(errno));
		free(buf);
		return;
	}
	while (len < CONTROL_MAX &&
	    ((n = read(fd, buf + len, CONTROL_MAX - len)) > 0 ||
	    (n == -1 && errno == EINTR)))
		if (n > 0)
			len += n;
	close(fd);
	buf[len] = '\0';
	parse_control(buf);
	free(buf);
}

void
fault_rules_init(const char *control, int verbose)
{
	pthread_mutex_lock(&ctl.mtx);
	ctl.verbose = verbose;
	if (control != NULL && *control != '\0' && ctl.path == NULL &&
	    (ctl.path = strdup(control)) == NULL)
		fault_log("out of memory: no control file");
	control_refresh();
	pthread_mutex_unlock(&ctl.mtx);
}

static void
sleep_ms(unsigned long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Block until no rule with this text is left in the control file. */
static void
hang_until_removed(const char *fn, const char *text)
{
	size_t i;
	int present;

	fault_log("%s: hanging until '%s' leaves %s", fn, text, ctl.path);
	do {
		sleep_ms(HANG_POLL_MS);
		present = 0;
		pthread_mutex_lock(&ctl.mtx);
		control_refresh();
		for (i = 0; i < ctl.nrules && !present; i++)
			present = strcmp(ctl.rules[i].text, text) == 0;
		pthread_mutex_unlock(&ctl.mtx);
	} while (present);
	fault_log("%s: released", fn);
}

/*
 * Every rule that matches the call fires in file order: delays add up,
 * the first hang blocks, corrupt marks the output, and the first error
 * ends the walk (later rules do not see the call).  Only decides (under
 * the lock, never blocking), so that the caller can count the call as
 * entered before fault_rules_wait() sleeps, hangs or crashes.  Returns 1
 * when the call must fail with *rv instead of reaching the real module.
 */
int
fault_rules_decide(struct fault_call *fc, int has_output, CK_RV *rv)
{
	int error = 0;
	struct rule *r;
	size_t i;

	pthread_mutex_lock(&ctl.mtx);
	control_refresh();
	for (i = 0; i < ctl.nrules && !error; i++) {
		r = &ctl.rules[i];
		if ((r->fn != ANY_FUNCTION && r->fn != (int)fc->fn) ||
		    (r->act == ACT_CORRUPT && !has_output))
			continue;
		if (++r->seen <= r->after ||
		    (r->count != 0 && r->fired >= r->count))
			continue;
		r->fired++;
		fc->faulted = 1;
		if (fc->fired[0] == '\0')
			memcpy(fc->fired, r->text, sizeof(fc->fired));
		switch (r->act) {
		case ACT_ERROR:
			*rv = r->rv;
			error = 1;
			break;
		case ACT_DELAY:
			fc->delay_ms += r->delay_ms;
			break;
		case ACT_HANG:
			if (fc->hang[0] == '\0')
				memcpy(fc->hang, r->text, sizeof(fc->hang));
			break;
		case ACT_CORRUPT:
			fc->corrupt = 1;
			break;
		case ACT_CRASH:
			fc->crash = 1;
			break;
		case ACT_SOCKET:
			fc->socket_family = r->family;
			break;
		case ACT_OPEN:
		case ACT_CREATE:
		case ACT_CONNECT:
			fc->io = (int)r->act;
			memcpy(fc->io_arg, r->arg, sizeof(fc->io_arg));
			break;
		}
	}
	pthread_mutex_unlock(&ctl.mtx);
	return error;
}

/* open, create or connect, and say how it went (on stderr). */
static void
do_io(const struct fault_call *fc)
{
	struct sockaddr_in sin;
	struct sockaddr_un sun;
	const char *what;
	int fd, r = -1;

	if (fc->io == ACT_CONNECT && fc->io_arg[0] == '/') {
		/* A local daemon's socket (pcscd, a hardserver). */
		what = "connect";
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		errno = ENAMETOOLONG;
		if (strlen(fc->io_arg) < sizeof(sun.sun_path) &&
		    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1) {
			memcpy(sun.sun_path, fc->io_arg, strlen(fc->io_arg));
			r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
			close(fd);
		}
	} else if (fc->io == ACT_CONNECT) {
		what = "connect";
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)strtoul(fc->io_arg, NULL, 10));
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1) {
			r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
			close(fd);
		}
	} else {
		what = fc->io == ACT_OPEN ? "open" : "create";
		fd = fc->io == ACT_OPEN ? open(fc->io_arg, O_RDONLY) :
		    open(fc->io_arg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd != -1) {
			r = 0;
			close(fd);
		}
	}
	fault_log("%s: %s %s: %s", fault_fn_names[fc->fn], what, fc->io_arg,
	    r == 0 ? "ok" : strerror(errno));
}

/* What fault_rules_decide() asked for: crash, delay, then hang. */
void
fault_rules_wait(const struct fault_call *fc)
{
	int fd;

	if (ctl.verbose && fc->faulted)
		fault_log("%s: rule '%s' fires", fault_fn_names[fc->fn],
		    fc->fired);
	if (fc->crash) {
		fault_log("%s: crashing as the control file asks",
		    fault_fn_names[fc->fn]);
		abort();
	}
	if (fc->socket_family != 0) {
		if ((fd = socket(fc->socket_family, SOCK_STREAM, 0)) == -1)
			fault_log("%s: socket: %s", fault_fn_names[fc->fn],
			    strerror(errno));
		else
			close(fd);
	}
	if (fc->io != 0)
		do_io(fc);
	if (fc->delay_ms > 0)
		sleep_ms(fc->delay_ms);
	if (fc->hang[0] != '\0')
		hang_until_removed(fault_fn_names[fc->fn], fc->hang);
}
