/*
 * Fuzz target for the operator's files: the input is parsed as a
 * p11brokerd.conf, then as a policy.conf against a fixed small config.
 * An accepted file must satisfy the parser's promises and an accepted
 * policy is printed and evaluated for a few fixed peers.  A rejected file
 * must have an error that starts with "FILE:LINE: " for a line of the
 * input: p11brokerd(8) promises that to operators.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "keyspace.h"
#include "policy.h"
#include "wire.h"

/* A directory in the name makes relative paths resolve against it. */
#define CONF_FILE	"/etc/p11broker/fuzz.conf"
#define POLICY_FILE	"/etc/p11broker/fuzz-policy.conf"
#define ERR_MAX		2048

static const char fixed_conf[] =
    "socket \"/run/p11broker/p11broker.sock\" owner 0 group 0 mode 0660\n"
    "policy \"policy.conf\"\n"
    "token {\n"
    "\tmodule \"/usr/lib/softhsm/libsofthsm2.so\"\n"
    "\tlabel \"runbound-prod\"\n"
    "\tpin-env \"P11BROKER_PIN\"\n"
    "}\n"
    "key dns-zsk label \"zsk-2026\"\n"
    "key ca-root id 01\n"
    "key api-token label \"runbound-api-key\"\n"
    "key store-mac label \"runbound-store-key\"\n"
    "key audit-signer label \"p11broker-audit\"\n"
    "keyspace knot-space label-prefix \"knot-\" types ec-p256,rsa-2048\n";

static struct config *fixed;
static struct peer_cred peers[4];

static void
init(void)
{
	char err[ERR_MAX];

	if (fixed != NULL)
		return;
	if (config_parse(CONF_FILE, fixed_conf, strlen(fixed_conf), &fixed,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_config: fixed config: %s\n", err);
		abort();
	}
	static gid_t groups1[] = { 0, 100 }, groups3[] = { 65534 };

	/* root; a frontend with supplementary groups; nobody; a stranger. */
	peers[0].uid = 0;
	peers[0].gid = 0;
	peers[1].uid = 1000;
	peers[1].gid = 1000;
	peers[1].groups = groups1;
	peers[1].ngroups = 2;
	peers[2].uid = 65534;
	peers[2].gid = 65534;
	peers[3].uid = 4242;
	peers[3].gid = 4242;
	peers[3].groups = groups3;
	peers[3].ngroups = 1;
}

/* The error names the file and a line of the input: "FILE:N: text". */
static void
check_error(const char *file, const char *err, const uint8_t *data,
    size_t size)
{
	size_t flen, i, lines = 1;
	const char *p;
	char *end;
	long line;

	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	/*
	 * Or "profile NAME:N: text": a profile's line (its ${NAME} from the
	 * token's module-env), as p11brokerd.conf(5) says.
	 */
	if (strncmp(err, "profile ", 8) == 0) {
		p = strchr(err + 8, ':');
		FUZZ_ASSERT(p != NULL && p - err - 8 < 64);
		FUZZ_ASSERT(p[1] >= '1' && p[1] <= '9');
		line = strtol(p + 1, &end, 10);
		FUZZ_ASSERT(end[0] == ':' && end[1] == ' ' && end[2] != '\0');
		return;
	}
	flen = strlen(file);
	FUZZ_ASSERT(strncmp(err, file, flen) == 0 && err[flen] == ':');
	p = err + flen + 1;
	FUZZ_ASSERT(*p >= '1' && *p <= '9');
	line = strtol(p, &end, 10);
	FUZZ_ASSERT(end[0] == ':' && end[1] == ' ' && end[2] != '\0');
	FUZZ_ASSERT(line >= 1 && (size_t)line <= lines);
}

/*
 * Bare words are letters, digits and "_-.:/,@+*": a NUL byte outside a
 * comment or a string is none of these, so a file holding one must be
 * refused rather than read as a shorter word.
 */
static int
has_bare_nul(const uint8_t *data, size_t size)
{
	size_t i;
	int in_comment = 0, in_string = 0;

	for (i = 0; i < size; i++) {
		if (in_comment) {
			if (data[i] == '\n')
				in_comment = 0;
		} else if (in_string) {
			if (data[i] == '\\' && i + 1 < size &&
			    (data[i + 1] == '"' || data[i + 1] == '\\'))
				i++;
			else if (data[i] == '"' || data[i] == '\n')
				in_string = 0;
		} else if (data[i] == '#')
			in_comment = 1;
		else if (data[i] == '"')
			in_string = 1;
		else if (data[i] == '\0')
			return 1;
	}
	return 0;
}

static void
check_config(const struct config *c, size_t len)
{
	const struct key_ref *k;
	const struct token_block *tb;
	size_t i;

	FUZZ_ASSERT(c->socket_path != NULL && c->policy_path != NULL);
	FUZZ_ASSERT(c->ntokens >= 1 && c->ntokens <= CONFIG_MAX_TOKENS);
	FUZZ_ASSERT(c->signers >= 1 && c->signers <= CONFIG_MAX_SIGNERS &&
	    c->signers * c->workers <= CONFIG_MAX_LINKS);
	for (i = 0; i < c->ntokens; i++) {
		tb = &c->tokens[i];
		FUZZ_ASSERT(config_token_index(c, tb->name) == (int)i);
		FUZZ_ASSERT(tb->module != NULL && tb->signers >= 1);
		FUZZ_ASSERT(tb->token_by == TOKEN_BY_SLOT ||
		    tb->token_label != NULL);
		FUZZ_ASSERT(tb->pin_source != PIN_NONE && tb->pin_ref != NULL);
		/* The monitor blanks a literal PIN's bytes (files.c). */
		FUZZ_ASSERT(tb->pin_source != PIN_LITERAL ||
		    (tb->pin_start < tb->pin_end && tb->pin_end <= len));
		FUZZ_ASSERT(config_slot_token(c, tb->first_signer) ==
		    (int)i);
	}
	for (i = 0; i < c->nkeyspaces; i++)
		FUZZ_ASSERT(c->keyspaces[i].token >= 0 &&
		    (size_t)c->keyspaces[i].token < c->ntokens);
	FUZZ_ASSERT(c->socket_mode <= 0777);
	FUZZ_ASSERT(c->workers >= 1 && c->workers <= 64);
	FUZZ_ASSERT(c->nkeys <= CONFIG_MAX_KEYS);
	for (i = 0; i < c->nkeys; i++) {
		k = &c->keys[i];
		FUZZ_ASSERT(wire_key_name_valid(k->name, strlen(k->name)));
		FUZZ_ASSERT(config_key_index(c, k->name) == (int)i);
		FUZZ_ASSERT(k->tokens != 0 &&
		    (k->tokens >> c->ntokens) == 0);
		if (k->kind == KEY_REF_LABEL)
			FUZZ_ASSERT(k->label != NULL && k->label[0] != '\0');
		else
			FUZZ_ASSERT(k->idlen > 0 && k->idlen <= CONFIG_ID_MAX);
	}
}

static int
op_takes_key(enum p11b_op op)
{
	return op == P11B_OP_SIGN || op == P11B_OP_HMAC ||
	    op == P11B_OP_HMAC_VERIFY || op == P11B_OP_SECRET ||
	    op == P11B_OP_PUBKEY || op == P11B_OP_GENERATE;
}

/* A configured key's index, or a keyspace's pseudo index (keyspace.h). */
static int
rule_key_ok(const struct policy_rule *rule, int key, const struct config *c)
{
	if (key >= KEYSPACE_POLICY_BASE)
		return (size_t)KEYSPACE_OF_POLICY_INDEX(key) < c->nkeyspaces;
	return rule->op != P11B_OP_GENERATE && key >= 0 &&
	    (size_t)key < c->nkeys;
}

static void
check_policy(const struct policy *pol, const struct config *c)
{
	const struct policy_rule *rule;
	size_t i, k;

	FUZZ_ASSERT(pol->nkeys == c->nkeys);
	for (i = 0; i < pol->nrules; i++) {
		rule = &pol->rules[i];
		FUZZ_ASSERT(rule->op > P11B_OP_NONE &&
		    rule->op < P11B_OP_COUNT);
		FUZZ_ASSERT(rule->who_name != NULL && rule->line >= 1);
		FUZZ_ASSERT(op_takes_key(rule->op) == (rule->nkeys > 0));
		for (k = 0; k < rule->nkeys; k++)
			FUZZ_ASSERT(rule_key_ok(rule, rule->keys[k], c));
	}
}

/*
 * The full decision only allows what the coarse evaluator permits, and
 * answers only with the statuses policy_check promises.
 */
static void
check_decisions(struct policy *pol, const struct peer_cred *peer, int op,
    int key)
{
	static const enum p11b_alg algs[] = { P11B_ALG_NONE,
	    P11B_ALG_ECDSA_P256_SHA256, P11B_ALG_RSA_PSS_SHA384,
	    P11B_ALG_HMAC_SHA512 };
	static const size_t lens[] = { 0, 17, 65536 };
	struct policy_request pr;
	const char *why;
	size_t a, l;
	int st;

	for (a = 0; a < sizeof(algs) / sizeof(algs[0]); a++)
		for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			pr.op = op;
			pr.key = key;
			pr.alg = algs[a];
			pr.inlen = lens[l];
			pr.now_ns = 1000000000ULL * (a + 1);
			why = NULL;
			st = policy_check(pol, peer, &pr, &why);
			FUZZ_ASSERT(why != NULL);
			FUZZ_ASSERT(st == P11B_OK || st == P11B_DENIED ||
			    st == P11B_TOO_LARGE || st == P11B_RATE_LIMITED);
			if (st != P11B_DENIED)
				FUZZ_ASSERT(policy_permits(pol, peer, op, key));
		}
}

/* One line per rule, and the evaluators agree with each other. */
static void
use_policy(struct policy *pol, const struct config *c)
{
	char *out = NULL;
	size_t outlen = 0, i, lines = 0;
	FILE *fp;
	uint32_t ops;
	int key, op, p, ks;

	if ((fp = open_memstream(&out, &outlen)) == NULL)
		abort();
	policy_print(pol, c, fp);
	fclose(fp);
	for (i = 0; i < outlen; i++)
		if (out[i] == '\n')
			lines++;
	FUZZ_ASSERT(lines == pol->nrules);
	free(out);

	for (p = 0; p < (int)(sizeof(peers) / sizeof(peers[0])); p++) {
		for (key = -1; key < (int)c->nkeys +
		    (int)c->nkeyspaces; key++) {
			/* past the keys: the keyspaces' pseudo indexes */
			if (key >= (int)c->nkeys) {
				ks = KEYSPACE_POLICY_INDEX(key -
				    (int)c->nkeys);
				for (op = P11B_OP_NONE; op < P11B_OP_COUNT;
				    op++)
					check_decisions(pol, &peers[p], op, ks);
				continue;
			}
			ops = key < 0 ? 0 : policy_key_ops(pol, &peers[p], key);
			for (op = P11B_OP_NONE; op < P11B_OP_COUNT; op++) {
				check_decisions(pol, &peers[p], op, key);
				if (key < 0) {
					(void)policy_permits(pol, &peers[p],
					    op, key);
					continue;
				}
				FUZZ_ASSERT(policy_permits(pol, &peers[p], op,
				    key) == (int)((ops >> op) & 1));
			}
		}
	}
}

/* Every key an accepted config names can be named in a policy. */
static void
check_key_names_usable(const struct config *c)
{
	struct policy *pol = NULL;
	char text[128 + P11B_KEY_NAME_MAX], err[ERR_MAX];
	int n;

	if (c->nkeys == 0)
		return;
	n = snprintf(text, sizeof(text), "permit user 0 sign %s\n",
	    c->keys[c->nkeys - 1].name);
	FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(text));
	if (policy_parse(POLICY_FILE, text, n, c, &pol, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_config: %s\n", err);
		FUZZ_ASSERT(!"a configured key name is refused by the policy");
	}
	FUZZ_ASSERT(pol->nrules == 1 && pol->rules[0].nkeys == 1);
	policy_free(pol);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *conf = NULL;
	struct policy *pol = NULL;
	const char *buf = (const char *)data;
	char err[ERR_MAX];

	init();

	memset(err, 0, sizeof(err));
	if (config_parse(CONF_FILE, buf, size, &conf, err, sizeof(err)) == 0) {
		FUZZ_ASSERT(!has_bare_nul(data, size));
		check_config(conf, size);
		check_key_names_usable(conf);
		config_free(conf);
	} else {
		FUZZ_ASSERT(conf == NULL);
		check_error(CONF_FILE, err, data, size);
	}

	memset(err, 0, sizeof(err));
	if (policy_parse(POLICY_FILE, buf, size, fixed, &pol, err,
	    sizeof(err)) == 0) {
		FUZZ_ASSERT(!has_bare_nul(data, size));
		check_policy(pol, fixed);
		use_policy(pol, fixed);
		policy_free(pol);
	} else {
		FUZZ_ASSERT(pol == NULL);
		check_error(POLICY_FILE, err, data, size);
	}
	return 0;
}
