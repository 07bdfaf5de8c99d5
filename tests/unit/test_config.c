/* Unit tests for policy/: the config and policy parsers and the evaluator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "algs.h"
#include "config.h"
#include "keyspace.h"
#include "policy.h"
#include "tap.h"
#include "versions.h"

static const char good_conf[] =
    "# comment\n"
    "socket \"/run/p11b.sock\" owner 0 group 0 mode 0640\n"
    "workers 3\n"
    "max-frame 4096\n"
    "max-clients 10\n"
    "idle-timeout 0\n"
    "policy \"policy.conf\"\n"
    "token {\n"
    "\tmodule \"/usr/lib/softhsm/libsofthsm2.so\"\n"
    "\tlabel \"runbound-prod\"   # trailing comment\n"
    "\tpin-file \"/etc/p11broker/pin\"\n"
    "\tmodule-env \"TPM2_PKCS11_TCTI=swtpm:host=127.0.0.1,port=2321\"\n"
    "}\n"
    "key dns-zsk label \"zsk-2026\"\n"
    "key ca-root id 0a1B verify-signatures low-s\n"
    "key api-token label \"runbound api key\"\n"
    "user nobody\n"
    "sandbox log\n"
    "sandbox allow ioctl pread64 socket inet connect\n"
    "sandbox write \"/var/lib/tpm2-pkcs11\"\n"
    "sandbox connect-port 2321 2322\n"
    "sandbox read \"/var/lib/softhsm\" \"/etc/softhsm/softhsm2.conf\"\n"
    "token-timeout 7\n";

static struct config *
parse(const char *text, char *err, size_t errlen)
{
	struct config *c = NULL;

	if (config_parse("/etc/p11broker/test.conf", text, strlen(text), &c,
	    err, errlen) != 0)
		return NULL;
	return c;
}

static void
expect_error(const char *text, const char *want, const char *what)
{
	char err[512];
	struct config *c;

	c = parse(text, err, sizeof(err));
	ok(c == NULL && strstr(err, want) != NULL, "%s", what);
	if (c != NULL || strstr(err, want) == NULL)
		printf("#   error was \"%s\", want \"%s\"\n", err, want);
	config_free(c);
}

static void
test_good_config(void)
{
	char err[512];
	struct config *c;

	c = parse(good_conf, err, sizeof(err));
	ok(c != NULL, "example config parses (%s)", c ? "" : err);
	if (c == NULL)
		return;
	is_str(c->socket_path, "/run/p11b.sock", "socket path");
	is_int(c->socket_mode, 0640, "socket mode is octal");
	is_int(c->socket_owner, 0, "socket owner");
	is_int(c->workers, 3, "workers");
	is_int(c->max_frame, 4096, "max-frame");
	is_int(c->max_clients, 10, "max-clients");
	is_int(c->idle_timeout, 0, "idle-timeout 0 disables");
	is_str(c->policy_path, "/etc/p11broker/policy.conf",
	    "relative policy path is relative to the config file");
	is_str(c->tokens[0].token_label, "runbound-prod", "token label");
	is_int(c->tokens[0].pin_source, PIN_FILE, "pin-file");
	is_int(c->nkeys, 3, "three keys");
	is_int(config_key_index(c, "ca-root"), 1, "key index");
	is_int(c->keys[1].kind, KEY_REF_ID, "id reference");
	ok(c->keys[1].idlen == 2 && c->keys[1].id[0] == 0x0a &&
	    c->keys[1].id[1] == 0x1b, "hex id decoded");
	is_str(c->keys[2].label, "runbound api key", "quoted label");
	ok(c->keys[1].verify && c->keys[1].low_s && !c->keys[0].verify &&
	    !c->keys[0].low_s, "key options verify-signatures, low-s");
	is_str(c->user, "nobody", "user");
	ok(c->user_uid != 0 && c->user_uid != (uid_t)-1, "user resolved");
	is_int(c->sandbox_mode, SANDBOX_LOG, "sandbox log");
	ok(c->nsandbox_allow == 4 && strcmp(c->sandbox_allow[1], "pread64") ==
	    0, "sandbox allow: four entries");
	is_str(c->sandbox_allow[2], SANDBOX_ALLOW_INET,
	    "sandbox allow socket inet: one entry, AF_INET/AF_INET6 only");
	is_str(c->sandbox_allow[3], "connect", "... and the next call");
	ok(c->nsandbox_write == 1 && strcmp(c->sandbox_write[0],
	    "/var/lib/tpm2-pkcs11") == 0, "sandbox write: a path");
	ok(c->nsandbox_connect == 2 && strcmp(c->sandbox_connect[1], "2322")
	    == 0, "sandbox connect-port: two ports");
	ok(c->tokens[0].nmodule_env == 1 && strcmp(c->tokens[0].module_env[0],
	    "TPM2_PKCS11_TCTI=swtpm:host=127.0.0.1,port=2321") == 0,
	    "module-env: NAME=VALUE");
	ok(c->nsandbox_read == 2 && strcmp(c->sandbox_read[0],
	    "/var/lib/softhsm") == 0, "sandbox read: two paths");
	is_int(c->token_timeout, 7, "token-timeout");
	is_int(config_key_index(c, "nope"), -1, "unknown key");
	config_free(c);
}

static void
test_config_errors(void)
{
	expect_error("socket \"/s\"\nfrobnicate 1\n", "test.conf:2: unknown "
	    "keyword \"frobnicate\"", "unknown keyword, with file:line");
	expect_error("socket \"/s\"\npolicy \"p\"\ntoken {\nmodule \"m\"\n"
	    "label \"t\"\npin-env \"P\"\n", "test.conf:3: token: missing '}'",
	    "missing closing brace");
	expect_error("workers 0\n", "test.conf:1: workers: expected a number "
	    "from 1 to 64", "workers out of range");
	expect_error("workers 2x\n", "test.conf:1: workers", "trailing junk "
	    "in a number");
	expect_error("socket \"/s\" mode 0999\n", "test.conf:1: mode",
	    "mode must be octal");
	expect_error("socket \"/s\" colour red\n", "unknown option \"colour\"",
	    "unknown socket option");
	expect_error("key a label \"x\"\nkey a label \"y\"\n", "test.conf:2: "
	    "key \"a\" defined twice", "duplicate key name");
	expect_error("key bad/name label \"x\"\n", "invalid name",
	    "key name syntax");
	expect_error("key k id 0g\n", "not hexadecimal", "bad hex id");
	expect_error("key k id 123\n", "even number of hex digits",
	    "odd hex id");
	expect_error("key k serial \"x\"\n", "expected \"label\" or \"id\"",
	    "unknown key reference");
	expect_error("socket \"/s\n", "test.conf:1: unterminated string",
	    "unterminated string");
	expect_error("workers 2 3\n", "test.conf:1: unexpected \"3\"",
	    "extra word at end of statement");
	expect_error("policy \"p\"\n", "no socket configured",
	    "socket is required");
	expect_error("socket \"/s\"\npolicy \"p\"\ntoken {\nmodule \"m\"\n"
	    "label \"t\"\n}\n", "no PIN source", "PIN source is required");
	expect_error("socket \"/s\"\npolicy \"p\"\ntoken {\nmodule \"m\"\n"
	    "label \"t\"\npin-env \"A\"\npin-file \"B\"\n}\n",
	    "already has a PIN source", "one PIN source only");
	expect_error("socket \"/s\" owner no-such-user-here\n",
	    "unknown user", "unknown socket owner");
	expect_error("\x01\n", "test.conf:1: unexpected byte 0x01",
	    "control byte");
	expect_error("user no-such-user-here\n", "test.conf:1: unknown user",
	    "unknown user");
	expect_error("user root\n", "does not run as root", "user root");
	expect_error("user nobody\nuser nobody\n", "test.conf:2: user given "
	    "twice", "user twice");
	expect_error("sandbox strict\n", "test.conf:1: sandbox: expected "
	    "enforce, log, off, allow, read, write, connect-port or",
	    "unknown sandbox mode");
	expect_error("sandbox connect-port 65536\n", "is not a port",
	    "sandbox connect-port: out of range");
	expect_error("sandbox connect-port 0\n", "is not a port",
	    "sandbox connect-port: zero");
	expect_error("sandbox write tmp\n", "sandbox write: \"tmp\" is not "
	    "an absolute path", "sandbox write: relative path");
	expect_error("token {\n\tmodule-env \"1X=2\"\n}\n",
	    "module-env: expected", "module-env: bad name");
	expect_error("token {\n\tmodule-env \"NOVALUE\"\n}\n",
	    "module-env: expected", "module-env: no =");
	expect_error("sandbox allow\n", "sandbox allow: expected at least one",
	    "sandbox allow without calls");
	expect_error("sandbox allow Open\n", "is not a system call name",
	    "sandbox allow: not a call name");
	expect_error("sandbox read relative/path\n", "not an absolute path",
	    "sandbox read: relative path");
	expect_error("token-timeout 3601\n", "test.conf:1: token-timeout",
	    "token-timeout out of range");
	expect_error("key k label \"x\" verify\n", "unknown option "
	    "\"verify\"", "unknown key option");
	expect_error("audit \"/l\" checkpoint-key k syslog kern\n",
	    "test.conf:1: syslog: unknown facility \"kern\"",
	    "audit syslog: facility kern refused");
	expect_error("audit \"/l\" checkpoint-key k syslog-socket \"/s\"\n",
	    "syslog-socket without syslog FACILITY",
	    "audit syslog-socket alone");
	expect_error("audit \"/l\" checkpoint-key k anchor \"/l\"\n",
	    "the anchor must be another file than the log",
	    "audit anchor: the log itself");
}

static void
test_audit_options(void)
{
	char err[512];
	struct config *c;

	char text[2048];

	snprintf(text, sizeof(text), "%saudit \"/var/log/a.log\" "
	    "checkpoint-key dns-zsk anchor \"/var/lib/p11broker/a.anchor\" "
	    "syslog local3 syslog-socket \"/run/log.sock\"\n", good_conf);
	c = parse(text, err, sizeof(err));
	ok(c != NULL, "audit with anchor and syslog parses");
	if (c == NULL) {
		printf("#   %s\n", err);
		return;
	}
	ok(c->audit_anchor != NULL && strcmp(c->audit_anchor,
	    "/var/lib/p11broker/a.anchor") == 0, "anchor path kept");
	ok(c->audit_syslog == (19 << 3), "syslog local3 is LOG_LOCAL3");
	ok(c->audit_syslog_socket != NULL && strcmp(c->audit_syslog_socket,
	    "/run/log.sock") == 0, "syslog-socket kept");
	config_free(c);
	snprintf(text, sizeof(text), "%saudit \"/var/log/a.log\" "
	    "checkpoint-key dns-zsk\n", good_conf);
	c = parse(text, err, sizeof(err));
	ok(c != NULL && c->audit_anchor == NULL && c->audit_syslog == 0,
	    "without them: no anchor, no syslog");
	config_free(c);
}

static struct config *
policy_config(void)
{
	char err[512];

	return parse("socket \"/s\"\npolicy \"p\"\ntoken {\nmodule \"m\"\n"
	    "label \"t\"\npin-env \"P\"\n}\nkey zsk label \"z\"\n"
	    "key ca label \"c\"\nkey api label \"a\"\n", err, sizeof(err));
}

static struct policy *
policy(const struct config *c, const char *text, char *err, size_t errlen)
{
	struct policy *p = NULL;

	if (policy_parse("policy.conf", text, strlen(text), c, &p, err,
	    errlen) != 0)
		return NULL;
	return p;
}

static void
test_policy_eval(const struct config *c)
{
	static gid_t carol_groups[] = { 2000 };
	struct peer_cred alice, bob, carol;
	struct policy *p;
	char err[512];

	p = policy(c, "permit user 1000 sign zsk,ca\n"
	    "permit group 2000 secret api\n"
	    "permit user 1000 random\n"
	    "permit group 0 health\n", err, sizeof(err));
	ok(p != NULL, "policy parses (%s)", p ? "" : err);
	if (p == NULL)
		return;
	memset(&alice, 0, sizeof(alice));
	alice.uid = 1000;
	alice.gid = 1000;
	memset(&bob, 0, sizeof(bob));
	bob.uid = 1001;
	bob.gid = 2000;
	memset(&carol, 0, sizeof(carol));
	carol.uid = 1002;
	carol.gid = 1002;
	carol.groups = carol_groups;
	carol.ngroups = 1;

	ok(policy_permits(p, &alice, P11B_OP_SIGN, 0), "alice signs zsk");
	ok(policy_permits(p, &alice, P11B_OP_SIGN, 1), "alice signs ca");
	ok(!policy_permits(p, &alice, P11B_OP_SECRET, 2), "alice: no secret");
	ok(!policy_permits(p, &alice, P11B_OP_HMAC, 0), "alice: no hmac");
	ok(policy_permits(p, &alice, P11B_OP_RANDOM, -1), "alice: random");
	ok(!policy_permits(p, &bob, P11B_OP_RANDOM, -1), "bob: no random");
	ok(policy_permits(p, &bob, P11B_OP_SECRET, 2),
	    "bob: secret via primary group");
	ok(policy_permits(p, &carol, P11B_OP_SECRET, 2),
	    "carol: secret via supplementary group");
	ok(!policy_permits(p, &carol, P11B_OP_SIGN, 0), "carol: no sign");
	ok(!policy_permits(p, &bob, P11B_OP_HEALTH, -1), "default deny");
	is_int(policy_key_ops(p, &alice, 0), 1U << P11B_OP_SIGN,
	    "alice may only sign with zsk");
	is_int(policy_key_ops(p, &alice, 2), 0, "api invisible to alice");
	policy_free(p);
}

static void
expect_policy_error(const struct config *c, const char *text,
    const char *want, const char *what)
{
	struct policy *p;
	char err[512];

	p = policy(c, text, err, sizeof(err));
	ok(p == NULL && strstr(err, want) != NULL, "%s", what);
	if (p != NULL || strstr(err, want) == NULL)
		printf("#   error was \"%s\", want \"%s\"\n", err, want);
	policy_free(p);
}

static void
test_policy_errors(const struct config *c)
{
	expect_policy_error(c, "permit user root sign nokey\n",
	    "policy.conf:1: unknown key \"nokey\"", "unknown key is an error");
	expect_policy_error(c, "\npermit user root frob zsk\n",
	    "policy.conf:2: permit: expected an operation",
	    "unknown operation");
	expect_policy_error(c, "permit user root random zsk\n",
	    "takes no key", "random takes no key");
	expect_policy_error(c, "permit user root sign\n",
	    "expected a key name", "sign needs a key");
	expect_policy_error(c, "deny user root sign zsk\n",
	    "expected \"permit\"", "only permit rules");
	expect_policy_error(c, "permit user root sign zsk,zsk\n",
	    "listed twice", "duplicate key in a rule");
	expect_policy_error(c, "permit user root sign zsk extra\n",
	    "unexpected \"extra\"", "trailing words");
	expect_policy_error(c, "permit robot root sign zsk\n",
	    "expected \"user\" or \"group\"", "user or group");
}


/*
 * A user or group that does not resolve: the rule stays, grants nothing
 * (not even to uid/gid 0, what its id field holds), and the rest loads.
 */
static void
test_policy_unresolved(const struct config *c)
{
	const struct policy_rule *rule;
	struct peer_cred root, alice;
	struct policy *p;
	char err[512], *buf = NULL;
	size_t len = 0, next = 0;
	FILE *fp;

	p = policy(c, "permit user no-such-user-here sign zsk\n"
	    "permit group no-such-group-here sign zsk\n"
	    "permit user 1000 random\n", err, sizeof(err));
	ok(p != NULL, "unknown user and group: the policy loads");
	if (p == NULL) {
		printf("#   error was \"%s\"\n", err);
		return;
	}
	memset(&root, 0, sizeof(root));
	memset(&alice, 0, sizeof(alice));
	alice.uid = 1000;
	alice.gid = 1000;
	is_int((int)p->nrules, 3, "all three rules kept");
	ok(!policy_permits(p, &root, P11B_OP_SIGN, 0),
	    "an unresolved rule grants nothing (not to uid/gid 0)");
	is_int(policy_key_ops(p, &root, 0), 0, "zsk invisible to root");
	ok(policy_permits(p, &alice, P11B_OP_RANDOM, -1),
	    "the resolved rule still grants");
	ok(policy_unresolved(p, &next, &rule) && rule->line == 1 &&
	    !rule->is_group, "first unresolved: the user, line 1");
	ok(policy_unresolved(p, &next, &rule) && rule->line == 2 &&
	    rule->is_group, "second unresolved: the group, line 2");
	ok(!policy_unresolved(p, &next, &rule), "no third");
	ok((fp = open_memstream(&buf, &len)) != NULL, "memstream");
	policy_print(p, c, fp);
	fclose(fp);
	ok(buf != NULL && strstr(buf, "# grants nothing (unknown user): "
	    "permit user no-such-user-here sign zsk") != NULL,
	    "print marks the rule");
	free(buf);
	policy_free(p);
}

static int
check(struct policy *p, const struct peer_cred *peer, enum p11b_op op,
    int key, enum p11b_alg alg, size_t inlen, uint64_t now_ns)
{
	struct policy_request pr;
	const char *why;

	pr.op = op;
	pr.key = key;
	pr.alg = alg;
	pr.inlen = inlen;
	pr.now_ns = now_ns;
	return policy_check(p, peer, &pr, &why);
}

static void
test_policy_options(const struct config *c)
{
	struct peer_cred alice, bob;
	struct policy *p;
	char err[512], *buf = NULL;
	size_t len = 0;
	FILE *fp;
	uint64_t t = 1000000000ULL;
	int i, ok_count;

	p = policy(c, "permit user 1000 sign zsk alg ecdsa-p256-sha256\n"
	    "permit user 1000 sign ca alg rsa-pss-sha256,ecdsa-p384-sha384 "
	    "max-input 16\n"
	    "permit user 1000 hmac api rate 5/s\n"
	    "permit user 1000 random max-input 32 rate 2/s\n"
	    "permit user 1000 sign ca max-input 1024\n"
	    "permit group 3000 stats\n", err, sizeof(err));
	ok(p != NULL, "policy with options parses (%s)", p ? "" : err);
	if (p == NULL)
		return;
	memset(&alice, 0, sizeof(alice));
	alice.uid = 1000;
	alice.gid = 1000;
	memset(&bob, 0, sizeof(bob));
	bob.uid = 1001;
	bob.gid = 3000;

	is_int(check(p, &alice, P11B_OP_SIGN, 0, P11B_ALG_ECDSA_P256_SHA256,
	    100, t), P11B_OK, "pinned algorithm allowed");
	is_int(check(p, &alice, P11B_OP_SIGN, 0, P11B_ALG_ECDSA_P384_SHA384,
	    100, t), P11B_DENIED, "other algorithm denied");
	is_int(check(p, &alice, P11B_OP_SIGN, 1, P11B_ALG_RSA_PSS_SHA256, 16,
	    t), P11B_OK, "max-input: exactly the limit");
	is_int(check(p, &alice, P11B_OP_SIGN, 1, P11B_ALG_RSA_PSS_SHA256, 17,
	    t), P11B_OK, "over the first rule's limit: a later rule (no alg "
	    "pin, 1024 bytes) matches");
	is_int(check(p, &alice, P11B_OP_SIGN, 1, P11B_ALG_RSA_PSS_SHA256, 1025,
	    t), P11B_TOO_LARGE, "over every matching rule's max-input");
	is_int(check(p, &alice, P11B_OP_RANDOM, -1, P11B_ALG_NONE, 33, t),
	    P11B_TOO_LARGE, "random length over max-input");
	is_int(check(p, &bob, P11B_OP_STATS, -1, P11B_ALG_NONE, 0, t),
	    P11B_OK, "stats via group");
	is_int(check(p, &alice, P11B_OP_STATS, -1, P11B_ALG_NONE, 0, t),
	    P11B_DENIED, "stats for others denied");

	for (i = 0, ok_count = 0; i < 20; i++)
		ok_count += check(p, &alice, P11B_OP_HMAC, 2,
		    P11B_ALG_HMAC_SHA256, 1, t) == P11B_OK;
	is_int(ok_count, 5, "rate 5/s: a burst of 20 gets 5 through");
	is_int(check(p, &alice, P11B_OP_HMAC, 2, P11B_ALG_HMAC_SHA256, 1, t),
	    P11B_RATE_LIMITED, "then rate-limited");
	is_int(check(p, &alice, P11B_OP_HMAC, 2, P11B_ALG_HMAC_SHA256, 1,
	    t + 200000000ULL), P11B_OK, "200 ms later one more token");
	is_int(check(p, &alice, P11B_OP_HMAC, 2, P11B_ALG_HMAC_SHA256, 1,
	    t + 200000000ULL), P11B_RATE_LIMITED, "and only one");
	for (i = 0, ok_count = 0; i < 20; i++)
		ok_count += check(p, &alice, P11B_OP_HMAC, 2,
		    P11B_ALG_HMAC_SHA256, 1, t + 10000000000ULL) == P11B_OK;
	is_int(ok_count, 5, "after a long pause the burst is capped at 5");

	ok((fp = open_memstream(&buf, &len)) != NULL, "memstream");
	policy_print(p, c, fp);
	fclose(fp);
	ok(buf != NULL && strstr(buf, "sign ca alg ecdsa-p384-sha384,"
	    "rsa-pss-sha256 max-input 16\t") != NULL,
	    "print shows options, normalised (algorithms in a fixed order)");
	ok(buf != NULL && strstr(buf, "random max-input 32 rate 2/s") != NULL,
	    "print shows rate");
	free(buf);
	is_int(policy_key_algs(p, &alice, 0), 1U << P11B_ALG_ECDSA_P256_SHA256,
	    "key algs: pinned");
	policy_free(p);

	/* Weak algorithms: only a rule that names them allows them. */
	p = policy(c, "permit user 1000 sign ca\n"
	    "permit user 1001 sign ca\n"
	    "permit user 1001 sign ca alg rsa-pkcs1-raw\n", err, sizeof(err));
	ok(p != NULL, "policy naming rsa-pkcs1-raw parses (%s)",
	    p ? "" : err);
	if (p == NULL)
		return;
	bob.gid = 1001;
	is_int(check(p, &alice, P11B_OP_SIGN, 1, P11B_ALG_RSA_PKCS1_SHA224, 1,
	    t), P11B_OK, "no alg pin: rsa-pkcs1-sha224 allowed");
	is_int(check(p, &alice, P11B_OP_SIGN, 1, P11B_ALG_RSA_PKCS1_SHA1, 1,
	    t), P11B_DENIED, "no alg pin: rsa-pkcs1-sha1 denied");
	is_int(check(p, &alice, P11B_OP_SIGN, 1, P11B_ALG_RSA_PKCS1_RAW, 1,
	    t), P11B_DENIED, "no alg pin: rsa-pkcs1-raw denied");
	is_int(check(p, &bob, P11B_OP_SIGN, 1, P11B_ALG_RSA_PKCS1_RAW, 1,
	    t), P11B_OK, "a rule naming rsa-pkcs1-raw allows it");
	is_int(check(p, &bob, P11B_OP_SIGN, 1, P11B_ALG_RSA_PSS_SHA1, 1,
	    t), P11B_DENIED, "but not rsa-pss-sha1, which it does not name");
	ok(!(policy_key_algs(p, &alice, 1) & alg_weak_algs()) &&
	    (policy_key_algs(p, &alice, 1) & 1U << P11B_ALG_RSA_PSS_SHA224),
	    "key algs without a pin: all but the weak ones");
	is_int(policy_key_algs(p, &bob, 1) & alg_weak_algs(),
	    1U << P11B_ALG_RSA_PKCS1_RAW, "key algs: the weak one named");
	policy_free(p);

	expect_policy_error(c, "permit user root secret api alg hmac-sha256\n",
	    "alg is for sign, hmac and hmac-verify", "alg on secret refused");
	expect_policy_error(c, "permit user root sign zsk alg md5\n",
	    "unknown algorithm \"md5\"", "unknown algorithm");
	expect_policy_error(c, "permit user root sign zsk rate 5\n",
	    "rate: expected a number from 1 to 1000000/s", "rate needs /s");
	expect_policy_error(c, "permit user root sign zsk rate 0/s\n",
	    "rate: expected", "rate 0 refused");
	expect_policy_error(c, "permit user root sign zsk max-input -1\n",
	    "max-input: expected", "negative max-input refused");
	expect_policy_error(c, "permit user root pubkey zsk max-input 10\n",
	    "max-input is for", "max-input on pubkey refused");
	expect_policy_error(c, "permit user root sign zsk rate 1/s rate 2/s\n",
	    "each at most once", "option given twice");
}

/* Streams: max-input (global and per key), max-streams, stream-timeout. */
static void
test_stream_limits(const char *head)
{
	char err[512], text[1024];
	struct config *c;

	c = parse(head, err, sizeof(err));
	if (c != NULL) {
		ok(c->max_input == 64 * 1024 * 1024, "max-input 64 MiB");
		is_int(c->max_streams, 16, "max-streams 16");
		is_int(c->max_streams_per_uid, 4, "max-streams-per-uid 4");
		is_int(c->stream_timeout, 300, "stream-timeout 300 s");
	}
	config_free(c);
	snprintf(text, sizeof(text), "%smax-input 1073741824\nmax-streams 64\n"
	    "max-streams-per-uid 1\nstream-timeout 5\n"
	    "key big label \"b\" max-input 2048 low-s\nkey small id 01\n",
	    head);
	c = parse(text, err, sizeof(err));
	ok(c != NULL, "stream limits parse (%s)", c ? "" : err);
	if (c != NULL) {
		ok(c->max_input == 1024UL * 1024 * 1024, "max-input 1 GiB");
		is_int(c->max_streams, 64, "max-streams");
		is_int(c->max_streams_per_uid, 1, "max-streams-per-uid");
		is_int(c->stream_timeout, 5, "stream-timeout");
		ok(c->keys[0].max_input == 2048 && c->keys[0].low_s,
		    "a key's own max-input, with another option");
		ok(c->keys[1].max_input == 0, "a key without: the global one");
	}
	config_free(c);
	snprintf(text, sizeof(text), "%smax-input 1073741825\n", head);
	expect_error(text, "max-input: expected a number",
	    "max-input over 1 GiB refused");
	snprintf(text, sizeof(text), "%smax-streams 65\n", head);
	expect_error(text, "max-streams: expected a number",
	    "max-streams over 64 (a signer worker's bound) refused");
	snprintf(text, sizeof(text), "%skey k label \"k\" max-input 0\n",
	    head);
	expect_error(text, "max-input: expected a number",
	    "a key's max-input 0 refused");
	snprintf(text, sizeof(text), "%skey k label \"k\" max-input 9 "
	    "max-input 9\n", head);
	expect_error(text, "unknown option", "a key's max-input twice refused");
}

/* The limits on hostile callers (p11brokerd.conf(5)): defaults, values. */
static void
test_limits(void)
{
	static const char head[] = "socket \"/s\"\npolicy \"p\"\ntoken {\n"
	    "module \"m\"\nlabel \"t\"\npin-env \"P\"\n}\n";
	char err[512], text[1024];
	struct config *c;

	c = parse(head, err, sizeof(err));
	ok(c != NULL, "a config without limits parses (%s)", c ? "" : err);
	if (c != NULL) {
		is_int(c->max_clients_per_uid, 64, "max-clients-per-uid 64");
		is_int(c->frame_timeout, 10, "frame-timeout 10 s");
		ok(c->max_buffered == 64 * 1024 * 1024, "max-buffered 64 MiB");
		is_int(c->unknown_rate, 50, "unknown-rate 50");
		is_int(c->refusal_interval, 60, "refusal-interval 60 s");
	}
	config_free(c);
	snprintf(text, sizeof(text), "%smax-clients-per-uid 3\n"
	    "frame-timeout 2\nmax-buffered 2097152\nunknown-rate 7\n"
	    "refusal-interval 5\nidle-timeout 0\n", head);
	c = parse(text, err, sizeof(err));
	ok(c != NULL, "limits parse (%s)", c ? "" : err);
	if (c != NULL) {
		is_int(c->max_clients_per_uid, 3, "max-clients-per-uid");
		is_int(c->frame_timeout, 2, "frame-timeout, idle-timeout 0");
		ok(c->max_buffered == 2097152, "max-buffered");
		is_int(c->unknown_rate, 7, "unknown-rate");
		is_int(c->refusal_interval, 5, "refusal-interval");
	}
	config_free(c);
	snprintf(text, sizeof(text), "%sframe-timeout 0\n", head);
	expect_error(text, "frame-timeout: expected a number from 1",
	    "frame-timeout 0 refused: a frame always has a deadline");
	snprintf(text, sizeof(text), "%smax-frame 16777216\n", head);
	expect_error(text, "max-buffered 67108864 is less than 8 times "
	    "max-frame", "max-buffered must hold 8 frames");
	snprintf(text, sizeof(text), "%smax-buffered 1000\n", head);
	expect_error(text, "max-buffered: expected a number",
	    "max-buffered below 1 MiB refused");
	test_stream_limits(head);
}

/*
 * Several token blocks: names, each one's signers (own, the config's, the
 * default), the slots in block order, which blocks hold a key or a
 * keyspace, and the mistakes.
 */
static void
test_token_blocks(void)
{
	static const char two[] = "socket \"/s\"\npolicy \"p\"\nworkers 2\n"
	    "token hsm-a {\nmodule \"ma\"\nlabel \"a\"\npin-env \"PA\"\n"
	    "signers 3\n}\n"
	    "token hsm-b {\nmodule \"mb\"\nserial \"b1\"\n"
	    "pin-file \"/pb\"\nmodule-env \"X=1\"\n}\n";
	char err[512], text[2048];
	struct config *c;

	snprintf(text, sizeof(text), "%ssigners 2\n"
	    "key both label \"k1\"\n"
	    "key only-b label \"k2\" token hsm-b\n"
	    "key pair version v2 id 01 token hsm-a token hsm-b "
	    "previous v1 id 02\n"
	    "keyspace gen label-prefix \"g-\" types ec-p256 token hsm-b\n",
	    two);
	c = parse(text, err, sizeof(err));
	ok(c != NULL, "two token blocks parse (%s)", c ? "" : err);
	if (c == NULL)
		return;
	ok(c->ntokens == 2 && strcmp(c->tokens[0].name, "hsm-a") == 0 &&
	    strcmp(c->tokens[1].name, "hsm-b") == 0, "blocks by name, in "
	    "order");
	ok(config_token_index(c, "hsm-b") == 1 &&
	    config_token_index(c, "nope") == -1, "config_token_index");
	is_int(c->tokens[0].signers, 3, "hsm-a: its own signers");
	is_int(c->tokens[1].signers, 2, "hsm-b: the config's signers");
	is_int(c->signers, 5, "signers: every block's together");
	ok(config_slot_token(c, 0) == 0 && config_slot_token(c, 2) == 0 &&
	    config_slot_token(c, 3) == 1 && config_slot_token(c, 4) == 1,
	    "slots 0-2 are hsm-a's, 3-4 hsm-b's");
	ok(c->tokens[1].token_by == TOKEN_BY_SERIAL &&
	    c->tokens[1].pin_source == PIN_FILE &&
	    c->tokens[1].nmodule_env == 1 && c->tokens[0].nmodule_env == 0,
	    "each block's own token, PIN and module-env");
	is_int((int)c->keys[0].tokens, 3, "a key without token: every block");
	is_int((int)c->keys[1].tokens, 2, "token hsm-b: that block only");
	is_int((int)c->keys[2].tokens, 3, "two token lines: both blocks");
	ok(c->keys[3].previous && c->keys[3].tokens == 3, "a previous "
	    "version: its key's blocks");
	is_int(c->keyspaces[0].token, 1, "keyspace token hsm-b");
	config_free(c);

	/* The defaults shrink to fit; given numbers do not. */
	snprintf(text, sizeof(text), "socket \"/s\"\npolicy \"p\"\n"
	    "workers 8\n"
	    "token a {\nmodule \"m\"\nlabel \"a\"\npin-env \"P\"\n}\n"
	    "token b {\nmodule \"m\"\nlabel \"b\"\npin-env \"Q\"\n}\n"
	    "token c {\nmodule \"m\"\nlabel \"c\"\npin-env \"R\"\n}\n");
	c = parse(text, err, sizeof(err));
	ok(c != NULL && c->signers * c->workers <= 64 && c->signers >= 3 &&
	    c->tokens[0].signers >= 1 && c->tokens[2].signers >= 1,
	    "default signers of three blocks fit 64 sessions (%s)",
	    c ? "" : err);
	config_free(c);

	expect_error("socket \"/s\"\npolicy \"p\"\n"
	    "token {\nmodule \"m\"\nlabel \"a\"\npin-env \"P\"\n}\n"
	    "token {\nmodule \"m\"\nlabel \"b\"\npin-env \"Q\"\n}\n",
	    "a second block of that name", "two unnamed blocks refused");
	snprintf(text, sizeof(text), "%skey k label \"k\" token hsm-c\n",
	    two);
	expect_error(text, "key k: no token block \"hsm-c\"",
	    "a key on an unknown block refused");
	snprintf(text, sizeof(text), "socket \"/s\"\npolicy \"p\"\n"
	    "key k label \"k\" token late\n"
	    "token late {\nmodule \"m\"\nlabel \"a\"\npin-env \"P\"\n}\n");
	expect_error(text, "a token block comes before what names it",
	    "a block named before it is declared refused");
	snprintf(text, sizeof(text), "%stoken hsm-c {\nmodule \"m\"\n"
	    "pin-env \"P\"\n}\n", two);
	expect_error(text, "token hsm-c: say which token",
	    "an incomplete second block refused, by name");
	snprintf(text, sizeof(text), "socket \"/s\"\npolicy \"p\"\n"
	    "workers 8\n"
	    "token a {\nmodule \"m\"\nlabel \"a\"\npin-env \"P\"\n"
	    "signers 5\n}\n"
	    "token b {\nmodule \"m\"\nlabel \"b\"\npin-env \"Q\"\n"
	    "signers 5\n}\n");
	expect_error(text, "signers 10 times workers 8 is more than 64",
	    "given signers over 64 sessions refused");
	snprintf(text, sizeof(text), "%skeyspace s label-prefix \"s-\" "
	    "types ec-p256 token nope\n", two);
	expect_error(text, "keyspace s: no token block",
	    "a keyspace on an unknown block refused");
}

/* signers: the default from the CPUs, the bound, signers x workers. */
static void
test_signers(void)
{
	static const char head[] = "socket \"/s\"\npolicy \"p\"\ntoken {\n"
	    "module \"m\"\nlabel \"t\"\npin-env \"P\"\n}\n";
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char err[512], text[1024];
	struct config *c;

	c = parse(head, err, sizeof(err));
	ok(c != NULL && c->signers == (ncpu < 1 ? 1 : ncpu > 4 ? 4 :
	    (int)ncpu), "signers: default min(CPUs, 4)");
	config_free(c);
	snprintf(text, sizeof(text), "%ssigners 1\n", head);
	c = parse(text, err, sizeof(err));
	ok(c != NULL && c->signers == 1, "signers 1 (%s)", c ? "" : err);
	config_free(c);
	snprintf(text, sizeof(text), "%ssigners 16\nworkers 4\n", head);
	c = parse(text, err, sizeof(err));
	ok(c != NULL && c->signers == 16 && c->workers == 4,
	    "signers 16 workers 4 (%s)", c ? "" : err);
	config_free(c);
	snprintf(text, sizeof(text), "%sworkers 64\n", head);
	c = parse(text, err, sizeof(err));
	ok(c != NULL && c->signers == 1, "workers 64: by default one signer "
	    "(%s)", c ? "" : err);
	config_free(c);
	snprintf(text, sizeof(text), "%ssigners 0\n", head);
	expect_error(text, "signers: expected a number from 1 to 16",
	    "signers 0 refused");
	snprintf(text, sizeof(text), "%ssigners 17\n", head);
	expect_error(text, "signers: expected a number from 1 to 16",
	    "signers 17 refused");
	snprintf(text, sizeof(text), "%ssigners 3\nworkers 32\n", head);
	expect_error(text, "signers 3 times workers 32 is more than 64",
	    "signers x workers over 64 refused");
}

/*
 * A literal PIN: pin_start and pin_end are its bytes in the text (the
 * monitor blanks them there, files.c), quoted (with an escape) or not.
 */
static void
test_literal_pin(void)
{
	static const char *const pins[][2] = {
		{ "pin 12345678\n", "12345678" },
		{ "pin \"se\\\"cret 1\"   # c\n", "se\"cret 1" },
	};
	static const size_t rawlen[] = { 8, 12 };
	struct config *c;
	char text[1024], err[256];
	size_t i, head;

	for (i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		head = (size_t)snprintf(text, sizeof(text), "socket \"/s\"\n"
		    "policy \"p\"\ntoken {\nmodule \"/m.so\"\nlabel \"t\"\n");
		snprintf(text + head, sizeof(text) - head, "%s}\nkey k id 01\n",
		    pins[i][0]);
		if ((c = parse(text, err, sizeof(err))) == NULL) {
			ok(0, "literal pin %zu: %s", i, err);
			continue;
		}
		is_int(c->tokens[0].pin_source, PIN_LITERAL, "literal pin %zu: source", i);
		is_str(c->tokens[0].pin_ref, pins[i][1], "literal pin %zu: value", i);
		is_int(c->tokens[0].pin_start, head + 4, "literal pin %zu: starts at its "
		    "first byte", i);
		is_int(c->tokens[0].pin_end, head + 4 + rawlen[i], "literal pin %zu: "
		    "ends after it (and its quote)", i);
		config_free(c);
	}
}

#define KS_HEAD	"socket \"/s\"\npolicy \"p\"\ntoken {\nmodule \"m\"\n" \
	"label \"t\"\npin-env \"P\"\n}\nkey zsk label \"z\"\n"

/* keyspace NAME label-prefix P types T,...: parsing and the policy. */
static void
test_keyspaces(void)
{
	struct peer_cred knot = { 1, 1100, 1100, NULL, 0 };
	struct peer_cred other = { 1, 1200, 1200, NULL, 0 };
	struct config *c;
	struct policy *p;
	char err[512], out[4096];
	FILE *fp;

	c = parse(KS_HEAD "keyspace knot-space label-prefix \"knot-\" "
	    "types ec-p256,rsa-2048\nkeyspace apps label-prefix \"app-\" "
	    "types hmac-256\n", err, sizeof(err));
	ok(c != NULL, "two keyspaces parse (%s)", c == NULL ? err : "");
	if (c == NULL)
		return;
	is_int((int)c->nkeyspaces, 2, "two keyspaces");
	is_str(c->keyspaces[0].prefix, "knot-", "prefix kept");
	is_int((int)c->keyspaces[0].types, (1 << KS_EC_P256) |
	    (1 << KS_RSA_2048), "types kept as a mask");
	is_int(config_keyspace_index(c, "apps"), 1, "keyspace index");
	is_int(keyspace_of_label(c->keyspaces, c->nkeyspaces, "knot-1a2b"),
	    0, "a label in the first keyspace");
	is_int(keyspace_of_label(c->keyspaces, c->nkeyspaces, "knot-"), -1,
	    "the bare prefix is in none");
	is_int(keyspace_of_label(c->keyspaces, c->nkeyspaces, "zsk"), -1,
	    "another label is in none");
	is_int(keyspace_type_of(P11B_KEY_RSA, 3072), KS_RSA_3072,
	    "rsa 3072 is rsa-3072");
	is_int(keyspace_type_of(P11B_KEY_SECRET, 100), -1,
	    "an HMAC key of 100 bits is no type");

	p = policy(c, "permit user 1100 generate knot-space\n"
	    "permit user 1100 sign knot-space,zsk\n", err, sizeof(err));
	ok(p != NULL, "rules naming a keyspace parse (%s)", p == NULL ? err :
	    "");
	if (p != NULL) {
		is_int(check(p, &knot, P11B_OP_GENERATE,
		    KEYSPACE_POLICY_INDEX(0), P11B_ALG_NONE, 0, 1), P11B_OK,
		    "knot may generate in knot-space");
		is_int(check(p, &knot, P11B_OP_GENERATE,
		    KEYSPACE_POLICY_INDEX(1), P11B_ALG_NONE, 0, 1), P11B_DENIED,
		    "... not in apps");
		is_int(check(p, &other, P11B_OP_GENERATE,
		    KEYSPACE_POLICY_INDEX(0), P11B_ALG_NONE, 0, 1), P11B_DENIED,
		    "another uid may not generate");
		ok(policy_key_ops(p, &knot, KEYSPACE_POLICY_INDEX(0)) &
		    (1U << P11B_OP_SIGN), "knot signs with knot-space keys");
		ok(!(policy_key_ops(p, &knot, KEYSPACE_POLICY_INDEX(1)) &
		    (1U << P11B_OP_SIGN)), "... not with apps keys");
		fp = fmemopen(out, sizeof(out), "w");
		policy_print(p, c, fp);
		fclose(fp);
		ok(strstr(out, "generate knot-space") != NULL &&
		    strstr(out, "sign knot-space,zsk") != NULL,
		    "print names the keyspace");
		policy_free(p);
	}
	expect_policy_error(c, "permit user 1100 generate zsk\n",
	    "not a keyspace", "generate on a key refused");
	config_free(c);

	expect_error(KS_HEAD "keyspace a label-prefix \"k-\" types ec-p256\n"
	    "keyspace b label-prefix \"k-x\" types ec-p256\n", "overlaps",
	    "overlapping prefixes refused");
	expect_error(KS_HEAD "keyspace a label-prefix \"k-\" types dsa\n",
	    "unknown type", "an unknown type refused");
	expect_error(KS_HEAD "keyspace zsk label-prefix \"k-\" types ec-p256\n",
	    "same name", "a keyspace named like a key refused");
	expect_error(KS_HEAD "keyspace a label-prefix \"k/\" types ec-p256\n",
	    "label-prefix", "a prefix outside key-name characters refused");
	expect_error(KS_HEAD "keyspace a label-prefix \"k-\"\n",
	    "expected types", "types required");
}

/* Key versions: entries, lookups, errors, and rules over all versions. */
static void
test_key_versions(void)
{
	struct peer_cred alice;
	struct config *c;
	struct policy *p;
	char err[512], text[16384];
	size_t n;
	int i;

	c = parse("socket \"/s\"\npolicy \"p\"\ntoken {\nmodule \"m\"\n"
	    "label \"t\"\npin-env \"P\"\n}\n"
	    "key store version v3 label \"store-v3\" verify-signatures "
	    "previous v2 label \"store-v2\" previous v1 id 0a\n"
	    "key zsk label \"z\"\n", err, sizeof(err));
	ok(c != NULL, "versions parse (%s)", c ? "" : err);
	if (c == NULL)
		return;
	is_int((int)c->nkeys, 4, "each version is an entry");
	ok(strcmp(c->keys[0].name, "store") == 0 &&
	    strcmp(c->keys[0].version, "v3") == 0 && !c->keys[0].previous,
	    "the current version first");
	ok(strcmp(c->keys[1].version, "v2") == 0 && c->keys[1].previous &&
	    c->keys[1].kind == KEY_REF_LABEL &&
	    strcmp(c->keys[1].label, "store-v2") == 0, "v2 by label");
	ok(c->keys[2].kind == KEY_REF_ID && c->keys[2].idlen == 1 &&
	    c->keys[2].id[0] == 0x0a, "v1 by id");
	ok(c->keys[1].verify && c->keys[2].verify,
	    "the key's options hold for every version");
	is_int(config_key_index(c, "store"), 0, "the name: current");
	is_int(versions_find(c->keys, c->nkeys, "store", "v1"), 2, "v1 by name");
	is_int(versions_find(c->keys, c->nkeys, "store", ""), 0, "\"\": current");
	is_int(versions_find(c->keys, c->nkeys, "store", "v9"), -1, "no v9");
	is_int(versions_next(c->keys, c->nkeys, 0), 1, "next after v3: v2");
	is_int(versions_next(c->keys, c->nkeys, 2), -1, "none after v1");
	is_int(config_key_index(c, "zsk"), 3, "the next key after them");
	is_int(versions_next(c->keys, c->nkeys, 3), -1, "zsk has no versions");

	p = policy(c, "permit user 1000 hmac-verify store\n", err,
	    sizeof(err));
	ok(p != NULL, "a rule on a versioned key (%s)", p ? "" : err);
	memset(&alice, 0, sizeof(alice));
	alice.uid = 1000;
	for (i = 0; p != NULL && i < 3; i++)
		ok(policy_permits(p, &alice, P11B_OP_HMAC_VERIFY, i),
		    "the rule covers entry %d", i);
	ok(p != NULL && !policy_permits(p, &alice, P11B_OP_HMAC_VERIFY, 3),
	    "and not the next key");
	policy_free(p);
	config_free(c);

	expect_error("key k label \"a\" previous v1 label \"b\"\n",
	    "the current one needs a name too", "previous without version");
	expect_error("key k version v1 label \"a\" previous v1 id 01\n",
	    "version \"v1\" listed twice", "a version name twice");
	expect_error("key k version a/b label \"a\"\n",
	    "expected a version name", "version name syntax");
	expect_error("key k version v2 label \"a\" previous v1 serial 1\n",
	    "expected \"label\" or \"id\"", "previous without an object");
	/* Every version counts against CONFIG_MAX_KEYS. */
	n = (size_t)snprintf(text, sizeof(text), "key k version v0 id 01");
	for (i = 1; i < CONFIG_MAX_KEYS && n < sizeof(text) - 32; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    " previous v%d id 01", i);
	snprintf(text + n, sizeof(text) - n, "\nkey k2 label \"x\"\n");
	expect_error(text, "too many keys", "versions count as keys");
}

int
main(void)
{
	struct config *c;

	test_good_config();
	test_config_errors();
	test_audit_options();
	test_limits();
	test_signers();
	test_literal_pin();
	test_keyspaces();
	test_key_versions();
	test_token_blocks();
	if ((c = policy_config()) == NULL) {
		ok(0, "policy test config");
		return tap_done();
	}
	test_policy_eval(c);
	test_policy_errors(c);
	test_policy_unresolved(c);
	test_policy_options(c);
	config_free(c);
	return tap_done();
}
