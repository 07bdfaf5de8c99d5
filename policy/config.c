/*
 * Parser for p11brokerd.conf.  One statement per line; the token block
 * spans lines.  The first error is reported as "file:line: message" and
 * the whole file is rejected.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "keyspace.h"
#include "versions.h"
#include "lex.h"
#include "names.h"
#include "profile.h"
#include "wire.h"

#define DEFAULT_SOCKET_MODE	0660
#define DEFAULT_MAX_CLIENTS	1024
#define DEFAULT_IDLE_TIMEOUT	300
#define MAX_WORKERS		64
#define DEFAULT_AUDIT_LINES	1000
#define DEFAULT_AUDIT_SECONDS	60
#define DEFAULT_TOKEN_TIMEOUT	10	/* seconds */
#define DEFAULT_STOP_TIMEOUT	5	/* seconds for requests in flight at SIGTERM */
#define DEFAULT_FRONT_WATCHDOG	10	/* seconds */
#define DEFAULT_MAX_PER_UID	64
#define DEFAULT_FRAME_TIMEOUT	10	/* seconds */
#define DEFAULT_MAX_BUFFERED	(64L * 1024 * 1024)
#define DEFAULT_UNKNOWN_RATE	50	/* requests a second */
#define DEFAULT_REFUSAL_INTERVAL 60	/* seconds */
#define DEFAULT_MAX_INPUT	(64L * 1024 * 1024)
#define DEFAULT_MAX_STREAMS	16
#define DEFAULT_MAX_STREAMS_PER_UID 4
#define DEFAULT_STREAM_TIMEOUT	300	/* seconds */

struct parser {
	struct lex	 lx;
	struct config	*conf;
	char		*dir;		/* the config file's directory */
	struct token_block *tok;	/* the block being read */
};

static int	expect_eol(struct parser *);
static void	token_block_clear(struct token_block *);

static char *
resolve_path(struct parser *p, const char *path)
{
	char *out;

	if (path[0] == '/' || p->dir == NULL)
		return strdup(path);
	if (asprintf(&out, "%s/%s", p->dir, path) == -1)
		return NULL;
	return out;
}

static int
next_value(struct parser *p, const char *what, struct lex_token *tok)
{
	if (lex_next(&p->lx, tok) != 0)
		return -1;
	if (tok->kind != LEX_WORD && tok->kind != LEX_STRING)
		return lex_error(&p->lx, tok->line, "%s: expected a value, "
		    "got %s", what, lex_kind_name(tok->kind));
	return 0;
}

static int
parse_number(struct parser *p, const char *what, long min, long max,
    int base, long *out)
{
	struct lex_token tok;
	char *end;
	long v;

	if (next_value(p, what, &tok) != 0)
		return -1;
	errno = 0;
	v = strtol(tok.text, &end, base);
	if (tok.text[0] == '\0' || *end != '\0' || errno != 0 || v < min ||
	    v > max)
		return lex_error(&p->lx, tok.line, "%s: expected a number "
		    "from %ld to %ld, got \"%s\"", what, min, max, tok.text);
	*out = v;
	return 0;
}

static int
parse_string(struct parser *p, const char *what, char **out, int is_path)
{
	struct lex_token tok;

	if (next_value(p, what, &tok) != 0)
		return -1;
	if (tok.text[0] == '\0')
		return lex_error(&p->lx, tok.line, "%s: empty value", what);
	free(*out);
	*out = is_path ? resolve_path(p, tok.text) : strdup(tok.text);
	if (*out == NULL)
		return lex_error(&p->lx, tok.line, "out of memory");
	return 0;
}

static int
parse_owner(struct parser *p, int group, struct lex_token *tok)
{
	struct config *c = p->conf;
	uid_t uid;
	gid_t gid;
	char *end;
	long v;

	if (next_value(p, group ? "group" : "owner", tok) != 0)
		return -1;
	v = strtol(tok->text, &end, 10);
	if (*end == '\0' && end != tok->text && v >= 0 && v < INT_MAX) {
		if (group)
			c->socket_group = (gid_t)v;
		else
			c->socket_owner = (uid_t)v;
		return 0;
	}
	if (group) {
		if (names_group(tok->text, &gid) != 0)
			return lex_error(&p->lx, tok->line,
			    "unknown group \"%s\"", tok->text);
		c->socket_group = gid;
	} else {
		if (names_user(tok->text, &uid, &gid) != 0)
			return lex_error(&p->lx, tok->line,
			    "unknown user \"%s\"", tok->text);
		c->socket_owner = uid;
	}
	return 0;
}

/* user NAME: who the front and the signer run as */
static int
parse_user(struct parser *p)
{
	struct config *c = p->conf;
	struct lex_token tok;

	if (next_value(p, "user", &tok) != 0)
		return -1;
	if (c->user != NULL)
		return lex_error(&p->lx, tok.line, "user given twice");
	if (names_user(tok.text, &c->user_uid, &c->user_gid) != 0)
		return lex_error(&p->lx, tok.line, "unknown user \"%s\"",
		    tok.text);
	if (c->user_uid == 0)
		return lex_error(&p->lx, tok.line, "user: the broker does not "
		    "run as root; name an unprivileged user");
	if ((c->user = strdup(tok.text)) == NULL)
		return lex_error(&p->lx, tok.line, "out of memory");
	return 0;
}

static int
syscall_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 32)
		return 0;
	for (; *s != '\0'; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '_')
			return 0;
	return 1;
}

static int
add_word(struct parser *p, const struct lex_token *tok, char ***listp,
    size_t *np)
{
	char **l;

	if (*np >= CONFIG_SANDBOX_MAX)
		return lex_error(&p->lx, tok->line, "sandbox: too many "
		    "entries");
	if ((l = reallocarray(*listp, *np + 1, sizeof(*l))) == NULL)
		return lex_error(&p->lx, tok->line, "out of memory");
	*listp = l;
	if ((l[*np] = strdup(tok->text)) == NULL)
		return lex_error(&p->lx, tok->line, "out of memory");
	(*np)++;
	return 0;
}

/*
 * "sandbox allow socket inet": the word after socket names the only
 * families allowed (AF_INET, AF_INET6) instead of every family.  It is
 * no system call name, so the two readings cannot be confused.
 */
static int
socket_family(struct parser *p, const struct lex_token *call,
    struct config *c)
{
	struct lex_token fam;
	char *s;

	if (strcmp(call->text, "socket") != 0)
		return 0;
	if (lex_peek(&p->lx, &fam) != 0)
		return -1;
	if (fam.kind != LEX_WORD || strcmp(fam.text, "inet") != 0)
		return 0;
	(void)lex_next(&p->lx, &fam);
	if ((s = strdup(SANDBOX_ALLOW_INET)) == NULL)
		return lex_error(&p->lx, fam.line, "out of memory");
	free(c->sandbox_allow[c->nsandbox_allow - 1]);
	c->sandbox_allow[c->nsandbox_allow - 1] = s;
	return 0;
}

/* A TCP port, 1 to 65535, in decimal. */
static int
port_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 5 || strspn(s, "0123456789") != n || s[0] == '0')
		return 0;
	return strtoul(s, NULL, 10) <= 65535;
}

/*
 * sandbox connect-unix PATH...: the Unix sockets a module connects to
 * again after start-up (pcscd, a hardserver).  What the kernel can hold
 * it to is in sandbox/seccomp.c and p11brokerd.conf(5).
 */
static int
parse_connect_unix(struct parser *p, const struct lex_token *kw)
{
	struct config *c = p->conf;
	struct lex_token arg;
	int n = 0;

	for (;;) {
		if (lex_peek(&p->lx, &arg) != 0)
			return -1;
		if (arg.kind != LEX_WORD && arg.kind != LEX_STRING)
			break;
		(void)lex_next(&p->lx, &arg);
		if (arg.text[0] != '/')
			return lex_error(&p->lx, arg.line, "sandbox "
			    "connect-unix: \"%s\" is not an absolute path",
			    arg.text);
		if (add_word(p, &arg, &c->sandbox_unix,
		    &c->nsandbox_unix) != 0)
			return -1;
		n++;
	}
	if (n == 0)
		return lex_error(&p->lx, kw->line, "sandbox connect-unix: "
		    "expected at least one path");
	return 0;
}

/*
 * sandbox enforce|log|off, sandbox allow CALL..., sandbox read PATH...,
 * sandbox write PATH..., sandbox connect-port PORT...
 */
static int
parse_sandbox(struct parser *p)
{
	struct config *c = p->conf;
	struct lex_token tok, arg;
	int n = 0;

	if (next_value(p, "sandbox", &tok) != 0)
		return -1;
	if (strcmp(tok.text, "enforce") == 0)
		c->sandbox_mode = SANDBOX_ENFORCE;
	else if (strcmp(tok.text, "log") == 0)
		c->sandbox_mode = SANDBOX_LOG;
	else if (strcmp(tok.text, "off") == 0)
		c->sandbox_mode = SANDBOX_OFF;
	else if (strcmp(tok.text, "connect-unix") == 0)
		return parse_connect_unix(p, &tok);
	else if (strcmp(tok.text, "allow") == 0 ||
	    strcmp(tok.text, "read") == 0 || strcmp(tok.text, "write") == 0 ||
	    strcmp(tok.text, "connect-port") == 0) {
		for (;;) {
			if (lex_peek(&p->lx, &arg) != 0)
				return -1;
			if (arg.kind != LEX_WORD && arg.kind != LEX_STRING)
				break;
			(void)lex_next(&p->lx, &arg);
			if (tok.text[0] == 'c') {
				if (!port_ok(arg.text))
					return lex_error(&p->lx, arg.line,
					    "sandbox connect-port: \"%s\" is "
					    "not a port (1-65535)", arg.text);
				if (add_word(p, &arg, &c->sandbox_connect,
				    &c->nsandbox_connect) != 0)
					return -1;
			} else if (tok.text[0] == 'a') {
				if (!syscall_name_ok(arg.text))
					return lex_error(&p->lx, arg.line,
					    "sandbox allow: \"%s\" is not a "
					    "system call name", arg.text);
				if (add_word(p, &arg, &c->sandbox_allow,
				    &c->nsandbox_allow) != 0)
					return -1;
				if (socket_family(p, &arg, c) != 0)
					return -1;
			} else {
				if (arg.text[0] != '/')
					return lex_error(&p->lx, arg.line,
					    "sandbox %s: \"%s\" is not an "
					    "absolute path", tok.text, arg.text);
				if (add_word(p, &arg, tok.text[0] == 'r' ?
				    &c->sandbox_read : &c->sandbox_write,
				    tok.text[0] == 'r' ? &c->nsandbox_read :
				    &c->nsandbox_write) != 0)
					return -1;
			}
			n++;
		}
		if (n == 0)
			return lex_error(&p->lx, tok.line, "sandbox %s: "
			    "expected at least one value", tok.text);
	} else
		return lex_error(&p->lx, tok.line, "sandbox: expected "
		    "enforce, log, off, allow, read, write, connect-port or "
		    "connect-unix, "
		    "got \"%s\"", tok.text);
	return 0;
}

/* socket PATH [owner USER] [group GROUP] [mode OCTAL] */
static int
parse_socket(struct parser *p)
{
	struct lex_token tok;
	long mode;

	if (parse_string(p, "socket", &p->conf->socket_path, 1) != 0)
		return -1;
	for (;;) {
		if (lex_peek(&p->lx, &tok) != 0)
			return -1;
		if (tok.kind != LEX_WORD)
			return 0;
		(void)lex_next(&p->lx, &tok);
		if (strcmp(tok.text, "owner") == 0) {
			if (parse_owner(p, 0, &tok) != 0)
				return -1;
		} else if (strcmp(tok.text, "group") == 0) {
			if (parse_owner(p, 1, &tok) != 0)
				return -1;
		} else if (strcmp(tok.text, "mode") == 0) {
			if (parse_number(p, "mode", 0, 0777, 8, &mode) != 0)
				return -1;
			p->conf->socket_mode = (mode_t)mode;
		} else
			return lex_error(&p->lx, tok.line, "socket: unknown "
			    "option \"%s\" (expected owner, group or mode)",
			    tok.text);
	}
}

/* A syslog facility by name, as a LOG_* value; 0 for another word. */
static int
syslog_facility(const char *name)
{
	static const struct {
		const char	*name;
		int		 facility;
	} facilities[] = {
		{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV },
		{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	size_t i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(name, facilities[i].name) == 0)
			return facilities[i].facility;
	return 0;	/* LOG_KERN, which is not offered */
}

static int
parse_audit_option(struct parser *p, struct lex_token *kw)
{
	struct config *c = p->conf;
	struct lex_token tok;
	long v;

	if (strcmp(kw->text, "checkpoint-key") == 0)
		return parse_string(p, "checkpoint-key", &c->audit_key, 0);
	if (strcmp(kw->text, "checkpoint-lines") == 0) {
		if (parse_number(p, "checkpoint-lines", 1, 1000000, 10,
		    &v) != 0)
			return -1;
		c->audit_lines = (unsigned int)v;
		return 0;
	}
	if (strcmp(kw->text, "checkpoint-seconds") == 0) {
		if (parse_number(p, "checkpoint-seconds", 1, 86400, 10,
		    &v) != 0)
			return -1;
		c->audit_seconds = (unsigned int)v;
		return 0;
	}
	if (strcmp(kw->text, "on-failure") == 0) {
		if (next_value(p, "on-failure", &tok) != 0)
			return -1;
		if (strcmp(tok.text, "closed") != 0 &&
		    strcmp(tok.text, "open") != 0)
			return lex_error(&p->lx, tok.line, "on-failure: "
			    "expected closed or open, got \"%s\"", tok.text);
		c->audit_fail_open = strcmp(tok.text, "open") == 0;
		return 0;
	}
	if (strcmp(kw->text, "anchor") == 0)
		return parse_string(p, "anchor", &c->audit_anchor, 1);
	if (strcmp(kw->text, "syslog") == 0) {
		if (next_value(p, "syslog", &tok) != 0)
			return -1;
		if ((c->audit_syslog = syslog_facility(tok.text)) == 0)
			return lex_error(&p->lx, tok.line, "syslog: unknown "
			    "facility \"%s\" (expected auth, authpriv, daemon, "
			    "user or local0 ... local7)", tok.text);
		return 0;
	}
	if (strcmp(kw->text, "syslog-socket") == 0)
		return parse_string(p, "syslog-socket", &c->audit_syslog_socket,
		    1);
	return lex_error(&p->lx, kw->line, "audit: unknown option \"%s\" "
	    "(expected checkpoint-key, checkpoint-lines, checkpoint-seconds, "
	    "on-failure, anchor, syslog or syslog-socket)", kw->text);
}

/*
 * audit PATH checkpoint-key KEY [checkpoint-lines N]
 *     [checkpoint-seconds T] [on-failure closed|open] [anchor PATH]
 *     [syslog FACILITY] [syslog-socket PATH]
 * The key is checked once the whole file is read (keys may follow).
 */
static int
parse_audit(struct parser *p, int line)
{
	struct lex_token tok;

	if (p->conf->audit_path != NULL)
		return lex_error(&p->lx, line, "only one audit statement "
		    "allowed");
	p->conf->audit_line = line;
	if (parse_string(p, "audit", &p->conf->audit_path, 1) != 0)
		return -1;
	for (;;) {
		if (lex_peek(&p->lx, &tok) != 0)
			return -1;
		if (tok.kind != LEX_WORD)
			break;
		(void)lex_next(&p->lx, &tok);
		if (parse_audit_option(p, &tok) != 0)
			return -1;
	}
	if (p->conf->audit_key == NULL)
		return lex_error(&p->lx, line, "audit: checkpoint-key KEY is "
		    "required (an EC or Ed25519 key that signs checkpoints)");
	if (p->conf->audit_anchor != NULL &&
	    strcmp(p->conf->audit_anchor, p->conf->audit_path) == 0)
		return lex_error(&p->lx, line, "audit: the anchor must be "
		    "another file than the log");
	if (p->conf->audit_syslog_socket != NULL && p->conf->audit_syslog == 0)
		return lex_error(&p->lx, line, "audit: syslog-socket without "
		    "syslog FACILITY");
	return 0;
}

static int
parse_hex_id(struct parser *p, struct key_ref *k)
{
	struct lex_token tok;
	size_t i, n;
	const char *s;

	if (next_value(p, "id", &tok) != 0)
		return -1;
	s = tok.text;
	if (strncmp(s, "0x", 2) == 0)
		s += 2;
	n = strlen(s);
	if (n == 0 || n % 2 != 0 || n / 2 > sizeof(k->id))
		return lex_error(&p->lx, tok.line, "id: expected an even "
		    "number of hex digits (at most %zu bytes), got \"%s\"",
		    sizeof(k->id), tok.text);
	for (i = 0; i < n; i += 2) {
		if (!isxdigit((unsigned char)s[i]) ||
		    !isxdigit((unsigned char)s[i + 1]))
			return lex_error(&p->lx, tok.line, "id: \"%s\" is not "
			    "hexadecimal", tok.text);
		sscanf(s + i, "%2hhx", &k->id[i / 2]);
	}
	k->idlen = n / 2;
	return 0;
}

/*
 * token NAME: a token block (declared above) that holds the key; bit
 * index of *mask.
 */
static int
parse_token_ref(struct parser *p, const char *kind, const char *name,
    uint32_t *mask)
{
	struct lex_token tok;
	int t;

	if (next_value(p, "token", &tok) != 0)
		return -1;
	if ((t = config_token_index(p->conf, tok.text)) == -1)
		return lex_error(&p->lx, tok.line, "%s %s: no token block "
		    "\"%s\" (a token block comes before what names it)", kind,
		    name, tok.text);
	*mask |= 1U << t;
	return 0;
}

/* label "LABEL" | id HEX: the token object of a key (or version). */
static int
parse_key_object(struct parser *p, struct key_ref *k)
{
	struct lex_token tok;

	if (lex_next(&p->lx, &tok) != 0)
		return -1;
	if (tok.kind == LEX_WORD && strcmp(tok.text, "label") == 0) {
		k->kind = KEY_REF_LABEL;
		return parse_string(p, "label", &k->label, 0);
	}
	if (tok.kind == LEX_WORD && strcmp(tok.text, "id") == 0) {
		k->kind = KEY_REF_ID;
		return parse_hex_id(p, k);
	}
	return lex_error(&p->lx, tok.line, "key %s: expected \"label\" or "
	    "\"id\"", k->name);
}

/* previous VERSION label "LABEL" | id HEX (versions.c) */
static int
parse_previous(struct parser *p, int key)
{
	struct key_ref *k;

	if (versions_add(&p->lx, p->conf->keys, p->conf->nkeys,
	    CONFIG_MAX_KEYS, key, &k) != 0)
		return -1;
	p->conf->nkeys++;		/* config_free() owns it */
	return parse_key_object(p, k);
}

/*
 * key NAME [version VERSION] label "LABEL" | id HEX [options]
 *     [previous VERSION label "LABEL" | id HEX]...
 */
static int
parse_key(struct parser *p)
{
	struct config *c = p->conf;
	struct lex_token tok;
	struct key_ref *k;
	int key;
	long v;

	if (next_value(p, "key", &tok) != 0)
		return -1;
	if (!wire_key_name_valid(tok.text, strlen(tok.text)))
		return lex_error(&p->lx, tok.line, "key: invalid name \"%s\" "
		    "(1-%d of A-Z a-z 0-9 . _ -)", tok.text,
		    P11B_KEY_NAME_MAX);
	if (config_key_index(c, tok.text) != -1)
		return lex_error(&p->lx, tok.line, "key \"%s\" defined twice",
		    tok.text);
	if (c->nkeys >= CONFIG_MAX_KEYS)
		return lex_error(&p->lx, tok.line, "too many keys (max %d)",
		    CONFIG_MAX_KEYS);
	k = &c->keys[c->nkeys];
	memset(k, 0, sizeof(*k));
	strlcpy(k->name, tok.text, sizeof(k->name));
	k->line = tok.line;
	key = (int)c->nkeys;
	c->nkeys++;			/* from here config_free() owns it */
	/* version VERSION: the current version's name (versions.c) */
	if (lex_peek(&p->lx, &tok) != 0)
		return -1;
	if (tok.kind == LEX_WORD && strcmp(tok.text, "version") == 0) {
		(void)lex_next(&p->lx, &tok);
		if (versions_parse_name(&p->lx, c->keys, c->nkeys, key) != 0)
			return -1;
	}
	if (parse_key_object(p, k) != 0)
		return -1;
	/* Options: verify-signatures, low-s, certificate "PATH". */
	for (;;) {
		if (lex_peek(&p->lx, &tok) != 0)
			return -1;
		if (tok.kind != LEX_WORD)
			break;
		(void)lex_next(&p->lx, &tok);
		if (strcmp(tok.text, "verify-signatures") == 0)
			k->verify = 1;
		else if (strcmp(tok.text, "low-s") == 0)
			k->low_s = 1;
		else if (strcmp(tok.text, "certificate") == 0) {
			if (parse_string(p, "certificate", &k->cert_path,
			    1) != 0)
				return -1;
		} else if (strcmp(tok.text, "max-input") == 0 &&
		    k->max_input == 0) {
			if (parse_number(p, "max-input", 1,
			    CONFIG_MAX_INPUT_MAX, 10, &v) != 0)
				return -1;
			k->max_input = (size_t)v;
		} else if (strcmp(tok.text, "previous") == 0) {
			if (parse_previous(p, key) != 0)
				return -1;
		} else if (strcmp(tok.text, "token") == 0) {
			if (parse_token_ref(p, "key", k->name, &k->tokens) != 0)
				return -1;
		} else
			return lex_error(&p->lx, tok.line, "key %s: unknown "
			    "option \"%s\" (expected verify-signatures, "
			    "low-s, certificate, max-input, token or "
			    "previous)", k->name, tok.text);
	}
	/* Without "token": every block holds it. */
	if (k->tokens == 0)
		k->tokens = CONFIG_ALL_TOKENS;
	return versions_finish(&p->lx, c->keys, c->nkeys, key);
}

_Static_assert(KEYSPACE_POLICY_BASE == CONFIG_MAX_KEYS,
    "keyspace pseudo indexes start past the configured keys");

/* keyspace NAME label-prefix "PREFIX" types T[,T...] */
static int
parse_keyspace(struct parser *p)
{
	struct config *c = p->conf;
	struct lex_token tok;
	struct keyspace *ks;
	const char *bad;
	size_t i, a, b;

	if (next_value(p, "keyspace", &tok) != 0)
		return -1;
	if (!wire_key_name_valid(tok.text, strlen(tok.text)))
		return lex_error(&p->lx, tok.line, "keyspace: invalid name "
		    "\"%s\" (1-%d of A-Z a-z 0-9 . _ -)", tok.text,
		    P11B_KEY_NAME_MAX);
	if (config_keyspace_index(c, tok.text) != -1)
		return lex_error(&p->lx, tok.line, "keyspace \"%s\" defined "
		    "twice", tok.text);
	if (c->keyspaces == NULL && (c->keyspaces = calloc(
	    CONFIG_MAX_KEYSPACES, sizeof(*c->keyspaces))) == NULL)
		return lex_error(&p->lx, tok.line, "out of memory");
	if (c->nkeyspaces >= CONFIG_MAX_KEYSPACES)
		return lex_error(&p->lx, tok.line, "too many keyspaces (max "
		    "%d)", CONFIG_MAX_KEYSPACES);
	ks = &c->keyspaces[c->nkeyspaces];
	memset(ks, 0, sizeof(*ks));
	strlcpy(ks->name, tok.text, sizeof(ks->name));
	ks->line = tok.line;
	if (lex_next(&p->lx, &tok) != 0)
		return -1;
	if (tok.kind != LEX_WORD || strcmp(tok.text, "label-prefix") != 0)
		return lex_error(&p->lx, tok.line, "keyspace %s: expected "
		    "label-prefix", ks->name);
	if (next_value(p, "label-prefix", &tok) != 0)
		return -1;
	/* Labels in it are key names: the prefix leaves room for one more. */
	if (strlen(tok.text) >= P11B_KEY_NAME_MAX ||
	    !wire_key_name_valid(tok.text, strlen(tok.text)))
		return lex_error(&p->lx, tok.line, "keyspace %s: label-prefix "
		    "must be 1-%d of A-Z a-z 0-9 . _ -", ks->name,
		    P11B_KEY_NAME_MAX - 1);
	strlcpy(ks->prefix, tok.text, sizeof(ks->prefix));
	/* A label falls in one keyspace at most. */
	for (i = 0; i < c->nkeyspaces; i++) {
		a = strlen(ks->prefix);
		b = strlen(c->keyspaces[i].prefix);
		if (strncmp(ks->prefix, c->keyspaces[i].prefix,
		    a < b ? a : b) == 0)
			return lex_error(&p->lx, tok.line, "keyspace %s: "
			    "label-prefix overlaps keyspace %s's", ks->name,
			    c->keyspaces[i].name);
	}
	if (lex_next(&p->lx, &tok) != 0)
		return -1;
	if (tok.kind != LEX_WORD || strcmp(tok.text, "types") != 0)
		return lex_error(&p->lx, tok.line, "keyspace %s: expected "
		    "types", ks->name);
	if (next_value(p, "types", &tok) != 0)
		return -1;
	if (keyspace_types_parse(tok.text, &ks->types, &bad) != 0)
		return lex_error(&p->lx, tok.line, "keyspace %s: unknown type "
		    "\"%s\" (ec-p256, ec-p384, rsa-2048, rsa-3072, ed25519, "
		    "hmac-256, hmac-384, hmac-512)", ks->name, bad);
	c->nkeyspaces++;
	/* token NAME: the block it is on (one: keys are made there). */
	if (lex_peek(&p->lx, &tok) != 0)
		return -1;
	if (tok.kind == LEX_WORD && strcmp(tok.text, "token") == 0) {
		uint32_t mask = 0;

		(void)lex_next(&p->lx, &tok);
		if (parse_token_ref(p, "keyspace", ks->name, &mask) != 0)
			return -1;
		ks->token = __builtin_ctz(mask);
	}
	return 0;
}

/*
 * A literal PIN: where it is in the bytes, so that the monitor can blank
 * it there (files.c), and no copy left on the stack.
 */
static int
parse_pin_literal(struct parser *p, const char *kw)
{
	struct token_block *c = p->tok;
	struct lex_token tok;
	int r = -1;

	if (next_value(p, kw, &tok) != 0)
		goto out;
	if (tok.text[0] == '\0') {
		lex_error(&p->lx, tok.line, "%s: empty value", kw);
		goto out;
	}
	if ((c->pin_ref = strdup(tok.text)) == NULL) {
		lex_error(&p->lx, tok.line, "out of memory");
		goto out;
	}
	c->pin_start = tok.start;
	c->pin_end = tok.end;
	r = 0;
 out:
	explicit_bzero(&tok, sizeof(tok));
	return r;
}

static int
parse_pin(struct parser *p, const char *kw, enum pin_source src)
{
	struct token_block *c = p->tok;

	if (c->pin_source != PIN_NONE)
		return lex_error(&p->lx, p->lx.line, "%s: the token already "
		    "has a PIN source", kw);
	c->pin_source = src;
	if (src == PIN_LITERAL)
		return parse_pin_literal(p, kw);
	return parse_string(p, kw, &c->pin_ref, src == PIN_FILE);
}

/*
 * module-env "NAME=VALUE": the module's own environment (its TCTI, its
 * server address, its configuration file), set in the signer before the
 * module is loaded.  NAME is a C identifier; a VALUE is never logged.
 */
static int
parse_module_env(struct parser *p)
{
	struct token_block *c = p->tok;
	struct lex_token tok;
	const char *s;

	if (next_value(p, "module-env", &tok) != 0)
		return -1;
	s = tok.text;
	if (!isalpha((unsigned char)*s) && *s != '_')
		goto bad;
	while (isalnum((unsigned char)*s) || *s == '_')
		s++;
	if (*s != '=')
		goto bad;
	return add_word(p, &tok, &c->module_env, &c->nmodule_env);
 bad:
	return lex_error(&p->lx, tok.line, "module-env: expected "
	    "\"NAME=VALUE\" with NAME a letter or _ then letters, digits "
	    "or _");
}

/* profile NAME: one of the compiled-in vendor profiles (profile.c). */
static int
parse_profile_name(struct parser *p)
{
	struct token_block *c = p->tok;
	char names[512];
	int line = p->lx.line;

	if (c->profile != NULL)
		return lex_error(&p->lx, line, "profile: the token already "
		    "has one");
	if (parse_string(p, "profile", &c->profile, 0) != 0)
		return -1;
	if (profile_find(c->profile) != NULL)
		return 0;
	profile_names(names, sizeof(names));
	return lex_error(&p->lx, line, "profile: no profile \"%s\" (this "
	    "build has %s)", c->profile, names);
}

/*
 * The profile's module-env is a default: a NAME the operator set in the
 * token block keeps the operator's value.  Drop the entry just added when
 * one of the first nown names it.
 */
static void
profile_env_default(struct token_block *c, size_t nown)
{
	const char *e = c->module_env[c->nmodule_env - 1];
	size_t i, n = strcspn(e, "=");

	for (i = 0; i < nown; i++)
		if (strncmp(c->module_env[i], e, n + 1) == 0) {
			free(c->module_env[--c->nmodule_env]);
			return;
		}
}

/* One statement of a profile: sandbox lists, module-env, module. */
static int
profile_stmt(struct parser *p, struct lex_token *kw, size_t nown)
{
	struct token_block *c = p->tok;
	struct lex_token tok;
	char *module = NULL;

	if (strcmp(kw->text, "sandbox") == 0) {
		if (lex_peek(&p->lx, &tok) != 0)
			return -1;
		if (tok.kind == LEX_WORD && (strcmp(tok.text, "enforce") == 0 ||
		    strcmp(tok.text, "log") == 0 || strcmp(tok.text, "off") ==
		    0))
			return lex_error(&p->lx, tok.line, "a profile does not "
			    "set the sandbox mode");
		return parse_sandbox(p);
	}
	if (strcmp(kw->text, "module-env") == 0) {
		if (parse_module_env(p) != 0)
			return -1;
		profile_env_default(c, nown);
		return 0;
	}
	if (strcmp(kw->text, "module") == 0) {	/* unless the token has one */
		if (parse_string(p, "module", &module, 1) != 0)
			return -1;
		if (c->module == NULL)
			c->module = module;
		else
			free(module);
		return 0;
	}
	if (strcmp(kw->text, "signers") == 0) {	/* unless the config says */
		long v;

		if (parse_number(p, "signers", 1, CONFIG_MAX_SIGNERS, 10,
		    &v) != 0)
			return -1;
		if (!c->signers_set && !p->conf->signers_set)
			c->signers = (int)v;
		return 0;
	}
	return lex_error(&p->lx, kw->line, "profile: unknown keyword \"%s\" "
	    "(expected sandbox, module-env, module or signers)", kw->text);
}

/*
 * After the whole file: the token's profile, its ${NAME} taken from the
 * token's module-env, parsed as if its lines were in the config.  Its
 * messages name "profile NAME:LINE".
 */
static int
apply_profile(struct parser *p)
{
	struct token_block *c = p->tok;
	struct lex saved = p->lx;
	struct lex_token tok;
	char file[128], msg[256], *text = NULL;
	size_t nown = c->nmodule_env;
	int line, failed;

	snprintf(file, sizeof(file), "profile %s", c->profile);
	lex_init(&p->lx, file, "", 0, saved.errbuf, saved.errlen);
	if (profile_expand(profile_find(c->profile), c->module_env,
	    c->nmodule_env, &text, &line, msg, sizeof(msg)) != 0) {
		lex_error(&p->lx, line, "%s", msg);
		goto out;
	}
	lex_init(&p->lx, file, text, strlen(text), saved.errbuf, saved.errlen);
	while (lex_next(&p->lx, &tok) == 0 && tok.kind != LEX_EOF) {
		if (tok.kind == LEX_EOL)
			continue;
		if (tok.kind != LEX_WORD) {
			lex_error(&p->lx, tok.line, "expected a keyword, got %s",
			    lex_kind_name(tok.kind));
			break;
		}
		if (profile_stmt(p, &tok, nown) != 0 || expect_eol(p) != 0)
			break;
	}
 out:
	failed = p->lx.failed;
	p->lx = saved;
	p->lx.failed |= failed;
	free(text);
	return failed ? -1 : 0;
}

static int
parse_token_stmt(struct parser *p, struct lex_token *kw)
{
	struct token_block *c = p->tok;
	long slot;

	if (strcmp(kw->text, "module") == 0)
		return parse_string(p, "module", &c->module, 1);
	if (strcmp(kw->text, "label") == 0) {
		c->token_by = TOKEN_BY_LABEL;
		return parse_string(p, "label", &c->token_label, 0);
	}
	if (strcmp(kw->text, "serial") == 0) {
		c->token_by = TOKEN_BY_SERIAL;
		return parse_string(p, "serial", &c->token_label, 0);
	}
	if (strcmp(kw->text, "slot") == 0) {
		if (parse_number(p, "slot", 0, LONG_MAX, 0, &slot) != 0)
			return -1;
		c->token_by = TOKEN_BY_SLOT;
		c->token_slot = (unsigned long)slot;
		free(c->token_label);
		c->token_label = NULL;
		return 0;
	}
	if (strcmp(kw->text, "pin-env") == 0)
		return parse_pin(p, kw->text, PIN_ENV);
	if (strcmp(kw->text, "pin-file") == 0)
		return parse_pin(p, kw->text, PIN_FILE);
	if (strcmp(kw->text, "pin-credential") == 0)
		return parse_pin(p, kw->text, PIN_CREDENTIAL);
	if (strcmp(kw->text, "pin") == 0)
		return parse_pin(p, kw->text, PIN_LITERAL);
	if (strcmp(kw->text, "module-env") == 0)
		return parse_module_env(p);
	if (strcmp(kw->text, "profile") == 0)
		return parse_profile_name(p);
	if (strcmp(kw->text, "signers") == 0) {
		if (parse_number(p, "signers", 1, CONFIG_MAX_SIGNERS, 10,
		    &slot) != 0)
			return -1;
		c->signers = (int)slot;
		c->signers_set = 1;
		return 0;
	}
	return lex_error(&p->lx, kw->line, "token: unknown keyword \"%s\" "
	    "(expected module, label, serial, slot, pin-env, pin-file, "
	    "pin-credential, pin, module-env, profile or signers)", kw->text);
}

/*
 * token [NAME] { module ...; label|serial|slot ...; pin-* ... }: one
 * block each; only a config with one block may leave out its name.
 */
static int
parse_token(struct parser *p, int line)
{
	struct config *c = p->conf;
	struct lex_token tok;
	struct token_block *tb;

	if (lex_next(&p->lx, &tok) != 0)
		return -1;
	if (c->ntokens >= CONFIG_MAX_TOKENS)
		return lex_error(&p->lx, line, "too many token blocks (max "
		    "%d)", CONFIG_MAX_TOKENS);
	tb = &c->tokens[c->ntokens];
	memset(tb, 0, sizeof(*tb));
	tb->line = line;
	strlcpy(tb->name, CONFIG_DEFAULT_TOKEN, sizeof(tb->name));
	if (tok.kind == LEX_WORD || tok.kind == LEX_STRING) {
		if (!wire_key_name_valid(tok.text, strlen(tok.text)))
			return lex_error(&p->lx, tok.line, "token: invalid "
			    "name \"%s\" (1-%d of A-Z a-z 0-9 . _ -)",
			    tok.text, P11B_KEY_NAME_MAX);
		strlcpy(tb->name, tok.text, sizeof(tb->name));
		if (lex_next(&p->lx, &tok) != 0)
			return -1;
	}
	if (config_token_index(c, tb->name) != -1)
		return lex_error(&p->lx, line, "token %s: a second block of "
		    "that name (several token blocks need names of their "
		    "own)", tb->name);
	c->ntokens++;			/* config_free() owns it */
	p->tok = tb;
	if (tok.kind != LEX_LBRACE)
		return lex_error(&p->lx, tok.line, "token: expected '{'");
	for (;;) {
		if (lex_next(&p->lx, &tok) != 0)
			return -1;
		if (tok.kind == LEX_EOL)
			continue;
		if (tok.kind == LEX_RBRACE)
			break;
		if (tok.kind == LEX_EOF)
			return lex_error(&p->lx, line, "token: missing '}'");
		if (tok.kind != LEX_WORD)
			return lex_error(&p->lx, tok.line, "token: expected "
			    "a keyword, got %s", lex_kind_name(tok.kind));
		if (parse_token_stmt(p, &tok) != 0 || expect_eol(p) != 0)
			return -1;
	}
	return 0;
}

static int
expect_eol(struct parser *p)
{
	struct lex_token tok;

	if (lex_peek(&p->lx, &tok) != 0)
		return -1;
	if (tok.kind == LEX_EOL) {
		(void)lex_next(&p->lx, &tok);
		return 0;
	}
	if (tok.kind == LEX_EOF || tok.kind == LEX_RBRACE)
		return 0;
	return lex_error(&p->lx, tok.line, "unexpected \"%s\" at end of "
	    "statement", tok.kind == LEX_WORD || tok.kind == LEX_STRING ?
	    tok.text : lex_kind_name(tok.kind));
}

/*
 * The limits on what callers may hold (p11brokerd.conf(5), "Hostile
 * callers").  1 when kw is not one of them.
 */
static int
parse_limit(struct parser *p, struct lex_token *kw)
{
	struct config *c = p->conf;
	long v;

	if (strcmp(kw->text, "max-clients-per-uid") == 0) {
		if (parse_number(p, kw->text, 1, 65536, 10, &v) != 0)
			return -1;
		c->max_clients_per_uid = (int)v;
	} else if (strcmp(kw->text, "frame-timeout") == 0) {
		if (parse_number(p, kw->text, 1, 3600, 10, &v) != 0)
			return -1;
		c->frame_timeout = (int)v;
	} else if (strcmp(kw->text, "max-buffered") == 0) {
		if (parse_number(p, kw->text, 1024 * 1024, 1024L * 1024 * 1024,
		    10, &v) != 0)
			return -1;
		c->max_buffered = (size_t)v;
	} else if (strcmp(kw->text, "unknown-rate") == 0) {
		if (parse_number(p, kw->text, 1, 1000000, 10, &v) != 0)
			return -1;
		c->unknown_rate = (unsigned int)v;
	} else if (strcmp(kw->text, "refusal-interval") == 0) {
		if (parse_number(p, kw->text, 1, 3600, 10, &v) != 0)
			return -1;
		c->refusal_interval = (unsigned int)v;
	} else if (strcmp(kw->text, "max-input") == 0) {
		if (parse_number(p, kw->text, 1, CONFIG_MAX_INPUT_MAX, 10,
		    &v) != 0)
			return -1;
		c->max_input = (size_t)v;
	} else if (strcmp(kw->text, "max-streams") == 0) {
		if (parse_number(p, kw->text, 1, CONFIG_MAX_STREAMS_MAX, 10,
		    &v) != 0)
			return -1;
		c->max_streams = (int)v;
	} else if (strcmp(kw->text, "max-streams-per-uid") == 0) {
		if (parse_number(p, kw->text, 1, CONFIG_MAX_STREAMS_MAX, 10,
		    &v) != 0)
			return -1;
		c->max_streams_per_uid = (int)v;
	} else if (strcmp(kw->text, "stream-timeout") == 0) {
		if (parse_number(p, kw->text, 1, 86400, 10, &v) != 0)
			return -1;
		c->stream_timeout = (int)v;
	} else if (strcmp(kw->text, "max-batch") == 0) {
		if (parse_number(p, kw->text, 1, CONFIG_MAX_BATCH_MAX, 10,
		    &v) != 0)
			return -1;
		c->max_batch = (unsigned int)v;
	} else
		return 1;
	return 0;
}

static int
parse_stmt(struct parser *p, struct lex_token *kw)
{
	struct config *c = p->conf;
	long v;
	int r;

	if ((r = parse_limit(p, kw)) != 1)
		return r;
	if (strcmp(kw->text, "socket") == 0)
		return parse_socket(p);
	if (strcmp(kw->text, "workers") == 0) {
		if (parse_number(p, "workers", 1, MAX_WORKERS, 10, &v) != 0)
			return -1;
		c->workers = (int)v;
		return 0;
	}
	if (strcmp(kw->text, "signers") == 0) {
		if (parse_number(p, "signers", 1, CONFIG_MAX_SIGNERS, 10,
		    &v) != 0)
			return -1;
		c->signers_default = (int)v;
		c->signers_set = 1;
		return 0;
	}
	if (strcmp(kw->text, "max-frame") == 0) {
		if (parse_number(p, "max-frame", 1024, 16 * 1024 * 1024, 10,
		    &v) != 0)
			return -1;
		c->max_frame = (size_t)v;
		return 0;
	}
	if (strcmp(kw->text, "max-clients") == 0) {
		if (parse_number(p, "max-clients", 1, 65536, 10, &v) != 0)
			return -1;
		c->max_clients = (int)v;
		return 0;
	}
	if (strcmp(kw->text, "idle-timeout") == 0) {
		if (parse_number(p, "idle-timeout", 0, 86400, 10, &v) != 0)
			return -1;
		c->idle_timeout = (int)v;
		return 0;
	}
	if (strcmp(kw->text, "token-timeout") == 0) {
		if (parse_number(p, "token-timeout", 0, 3600, 10, &v) != 0)
			return -1;
		c->token_timeout = (unsigned int)v;
		return 0;
	}
	if (strcmp(kw->text, "stop-timeout") == 0) {
		if (parse_number(p, "stop-timeout", 1, 3600, 10, &v) != 0)
			return -1;
		c->stop_timeout = (unsigned int)v;
		return 0;
	}
	if (strcmp(kw->text, "front-watchdog") == 0) {
		if (parse_number(p, "front-watchdog", 0, 3600, 10, &v) != 0)
			return -1;
		c->front_watchdog = (unsigned int)v;
		return 0;
	}
	if (strcmp(kw->text, "user") == 0)
		return parse_user(p);
	if (strcmp(kw->text, "sandbox") == 0)
		return parse_sandbox(p);
	if (strcmp(kw->text, "policy") == 0)
		return parse_string(p, "policy", &c->policy_path, 1);
	if (strcmp(kw->text, "token") == 0)
		return parse_token(p, kw->line);
	if (strcmp(kw->text, "key") == 0)
		return parse_key(p);
	if (strcmp(kw->text, "keyspace") == 0)
		return parse_keyspace(p);
	if (strcmp(kw->text, "audit") == 0)
		return parse_audit(p, kw->line);
	return lex_error(&p->lx, kw->line, "unknown keyword \"%s\"", kw->text);
}

/*
 * Every block complete, and their signers: a block's own "signers", else
 * the config's, else its profile's, else the default; all of them
 * together within CONFIG_MAX_SIGNERS processes and CONFIG_MAX_LINKS
 * sessions (one reload passes every signer's links at once), the
 * defaults made smaller to fit.
 */
static int
check_tokens(struct parser *p)
{
	struct config *c = p->conf;
	struct token_block *tb;
	size_t i;
	int total, fit;

	for (i = 0; i < c->ntokens; i++) {
		tb = &c->tokens[i];
		if (tb->module == NULL)
			return lex_error(&p->lx, tb->line, "token %s: no "
			    "module configured", tb->name);
		if (tb->token_by != TOKEN_BY_SLOT && tb->token_label == NULL)
			return lex_error(&p->lx, tb->line, "token %s: say "
			    "which token (label, serial or slot)", tb->name);
		if (tb->pin_source == PIN_NONE)
			return lex_error(&p->lx, tb->line, "token %s: no PIN "
			    "source (pin-env, pin-file, pin-credential)",
			    tb->name);
		if (!tb->signers_set && (c->signers_set || tb->signers == 0))
			tb->signers = c->signers_default;
	}
	fit = CONFIG_MAX_LINKS / c->workers;
	if (fit > CONFIG_MAX_SIGNERS)
		fit = CONFIG_MAX_SIGNERS;
	for (;;) {
		total = 0;
		for (i = 0; i < c->ntokens; i++)
			total += c->tokens[i].signers;
		if (total <= fit)
			break;
		/* Defaults only: take one from the largest default. */
		tb = NULL;
		for (i = 0; i < c->ntokens; i++)
			if (!c->tokens[i].signers_set && !c->signers_set &&
			    c->tokens[i].signers > 1 && (tb == NULL ||
			    c->tokens[i].signers > tb->signers))
				tb = &c->tokens[i];
		if (tb == NULL)
			return lex_error(&p->lx, p->lx.line, "signers %d "
			    "times workers %d is more than %d sessions (or "
			    "more than %d processes; every token block's "
			    "signers count)", total, c->workers,
			    CONFIG_MAX_LINKS, CONFIG_MAX_SIGNERS);
		tb->signers--;
	}
	c->signers = 0;
	for (i = 0; i < c->ntokens; i++) {
		c->tokens[i].first_signer = c->signers;
		c->signers += c->tokens[i].signers;
	}
	return 0;
}

static int
check_complete(struct parser *p)
{
	struct config *c = p->conf;
	int last = p->lx.line;
	size_t i;

	if (c->socket_path == NULL)
		return lex_error(&p->lx, last, "no socket configured");
	if (c->policy_path == NULL)
		return lex_error(&p->lx, last, "no policy file configured");
	if (c->ntokens == 0)
		return lex_error(&p->lx, last, "no token block");
	if (check_tokens(p) != 0)
		return -1;
	for (i = 0; i < c->nkeys; i++)
		c->keys[i].tokens &= (1U << c->ntokens) - 1;
	/* A frame and its job's copies must fit, or it waits forever. */
	if (c->max_buffered < 8 * c->max_frame)
		return lex_error(&p->lx, last, "max-buffered %zu is less than "
		    "8 times max-frame %zu", c->max_buffered, c->max_frame);
	for (i = 0; i < c->nkeyspaces; i++)
		if (config_key_index(c, c->keyspaces[i].name) != -1)
			return lex_error(&p->lx, c->keyspaces[i].line,
			    "keyspace %s: a key has the same name",
			    c->keyspaces[i].name);
	if (c->audit_key != NULL && config_key_index(c, c->audit_key) == -1)
		return lex_error(&p->lx, c->audit_line, "audit: checkpoint-key "
		    "\"%s\" is not a key defined in this file", c->audit_key);
	return 0;
}

static struct config *
config_new(void)
{
	static long ncpu;
	struct config *c;
	long n;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->keys = calloc(CONFIG_MAX_KEYS, sizeof(*c->keys))) == NULL ||
	    (c->tokens = calloc(CONFIG_MAX_TOKENS, sizeof(*c->tokens))) ==
	    NULL) {
		free(c->keys);
		free(c);
		return NULL;
	}
	c->socket_owner = (uid_t)-1;
	c->socket_group = (gid_t)-1;
	c->socket_mode = DEFAULT_SOCKET_MODE;
	/* Once: the sandboxed front parses again but may not ask /sys. */
	if (ncpu == 0)
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	n = ncpu;
	c->workers = n < 2 ? 2 : n > 8 ? 8 : (int)n;
	/* SoftHSM2 and others serialise work inside one process. */
	c->signers_default = n < 1 ? 1 : n > 4 ? 4 : (int)n;
	c->max_frame = WIRE_DEFAULT_MAX_FRAME;
	c->max_clients = DEFAULT_MAX_CLIENTS;
	c->idle_timeout = DEFAULT_IDLE_TIMEOUT;
	c->max_clients_per_uid = DEFAULT_MAX_PER_UID;
	c->frame_timeout = DEFAULT_FRAME_TIMEOUT;
	c->max_buffered = DEFAULT_MAX_BUFFERED;
	c->unknown_rate = DEFAULT_UNKNOWN_RATE;
	c->refusal_interval = DEFAULT_REFUSAL_INTERVAL;
	c->max_input = DEFAULT_MAX_INPUT;
	c->max_streams = DEFAULT_MAX_STREAMS;
	c->max_streams_per_uid = DEFAULT_MAX_STREAMS_PER_UID;
	c->stream_timeout = DEFAULT_STREAM_TIMEOUT;
	c->max_batch = CONFIG_DEFAULT_MAX_BATCH;
	c->audit_lines = DEFAULT_AUDIT_LINES;
	c->audit_seconds = DEFAULT_AUDIT_SECONDS;
	c->user_uid = (uid_t)-1;
	c->user_gid = (gid_t)-1;
	c->sandbox_mode = SANDBOX_ENFORCE;
	c->token_timeout = DEFAULT_TOKEN_TIMEOUT;
	c->stop_timeout = DEFAULT_STOP_TIMEOUT;
	c->front_watchdog = DEFAULT_FRONT_WATCHDOG;
	return c;
}

int
config_parse(const char *file, const char *buf, size_t len,
    struct config **confp, char *errbuf, size_t errlen)
{
	struct parser p;
	struct lex_token tok;
	char *slash;
	size_t i;
	int r = -1;

	memset(&p, 0, sizeof(p));
	lex_init(&p.lx, file, buf, len, errbuf, errlen);
	if ((p.conf = config_new()) == NULL ||
	    (p.conf->path = strdup(file)) == NULL) {
		snprintf(errbuf, errlen, "%s: out of memory", file);
		goto out;
	}
	if ((p.dir = strdup(file)) != NULL) {
		if ((slash = strrchr(p.dir, '/')) != NULL)
			*slash = '\0';
		else {
			free(p.dir);
			p.dir = NULL;
		}
	}
	while (lex_next(&p.lx, &tok) == 0 && tok.kind != LEX_EOF) {
		if (tok.kind == LEX_EOL)
			continue;
		if (tok.kind != LEX_WORD) {
			lex_error(&p.lx, tok.line, "expected a keyword, got %s",
			    lex_kind_name(tok.kind));
			break;
		}
		if (parse_stmt(&p, &tok) != 0 || expect_eol(&p) != 0)
			break;
	}
	for (i = 0; !p.lx.failed && i < p.conf->ntokens; i++) {
		p.tok = &p.conf->tokens[i];
		if (p.tok->profile != NULL)
			(void)apply_profile(&p);
	}
	if (p.lx.failed || check_complete(&p) != 0)
		goto out;
	*confp = p.conf;
	p.conf = NULL;
	r = 0;
 out:
	config_free(p.conf);
	free(p.dir);
	return r;
}

int
config_load(const char *path, struct config **confp, char *errbuf,
    size_t errlen)
{
	char *buf;
	size_t len;
	int r;

	if (lex_read_file(path, CONFIG_FILE_MAX, &buf, &len, errbuf,
	    errlen) != 0)
		return -1;
	r = config_parse(path, buf, len, confp, errbuf, errlen);
	free(buf);
	return r;
}

void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nkeys; i++) {
		free(c->keys[i].label);
		free(c->keys[i].cert_path);
		free(c->keys[i].cert);
	}
	free(c->keys);
	free(c->keyspaces);
	free(c->path);
	free(c->socket_path);
	free(c->policy_path);
	free(c->audit_path);
	free(c->audit_key);
	free(c->audit_anchor);
	free(c->audit_syslog_socket);
	free(c->user);
	for (i = 0; i < c->nsandbox_allow; i++)
		free(c->sandbox_allow[i]);
	free(c->sandbox_allow);
	for (i = 0; i < c->nsandbox_read; i++)
		free(c->sandbox_read[i]);
	free(c->sandbox_read);
	for (i = 0; i < c->nsandbox_write; i++)
		free(c->sandbox_write[i]);
	free(c->sandbox_write);
	for (i = 0; i < c->nsandbox_connect; i++)
		free(c->sandbox_connect[i]);
	free(c->sandbox_connect);
	for (i = 0; i < c->nsandbox_unix; i++)
		free(c->sandbox_unix[i]);
	free(c->sandbox_unix);
	for (i = 0; i < c->ntokens; i++)
		token_block_clear(&c->tokens[i]);
	free(c->tokens);
	free(c);
}

static void
token_block_clear(struct token_block *tb)
{
	size_t i;

	free(tb->module);
	free(tb->profile);
	free(tb->token_label);
	for (i = 0; i < tb->nmodule_env; i++)
		freezero(tb->module_env[i], strlen(tb->module_env[i]));
	free(tb->module_env);
	if (tb->pin_ref != NULL) {
		explicit_bzero(tb->pin_ref, strlen(tb->pin_ref));
		free(tb->pin_ref);
	}
	memset(tb, 0, sizeof(*tb));
}

int
config_token_index(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ntokens; i++)
		if (strcmp(c->tokens[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
config_slot_token(const struct config *c, int slot)
{
	size_t i;

	for (i = c->ntokens; i-- > 0;)
		if (slot >= c->tokens[i].first_signer)
			return (int)i;
	return 0;
}

int
config_key_index(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
config_keyspace_index(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nkeyspaces; i++)
		if (strcmp(c->keyspaces[i].name, name) == 0)
			return (int)i;
	return -1;
}
