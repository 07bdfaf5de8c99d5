/*
 * Parser and evaluator for policy.conf.  Rules only permit; the first
 * rule in file order that matches a request (caller, operation, key,
 * algorithm, input size) allows it, and its rate applies.  Everything
 * else is denied.
 *
 *	permit user NAME|UID OP [KEY[,KEY...]] [alg A[,B...]]
 *	    [max-input BYTES] [rate N/s]
 *	permit group NAME|GID ...
 *
 * A NAME that does not resolve leaves its rule in place granting nothing.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algs.h"
#include "lex.h"
#include "keyspace.h"
#include "names.h"
#include "policy.h"
#include "versions.h"

#define POLICY_FILE_MAX		(1024 * 1024)
#define POLICY_MAX_RULES	4096

static int
op_takes_key(enum p11b_op op)
{
	switch (op) {
	case P11B_OP_SIGN:
	case P11B_OP_HMAC:
	case P11B_OP_HMAC_VERIFY:
	case P11B_OP_SECRET:
	case P11B_OP_PUBKEY:
	case P11B_OP_GENERATE:
		return 1;
	case P11B_OP_RANDOM:
	case P11B_OP_LIST:
	case P11B_OP_HEALTH:
	case P11B_OP_STATS:
	case P11B_OP_NONE:
		return 0;
	}
	return 0;
}

static int
resolve_who(struct lex *lx, struct policy_rule *rule, const char *name,
    int line)
{
	uid_t uid;
	gid_t gid;
	char *end;
	long v;

	if ((rule->who_name = strdup(name)) == NULL)
		return lex_error(lx, line, "out of memory");
	errno = 0;
	v = strtol(name, &end, 10);
	if (*end == '\0' && end != name && errno == 0 && v >= 0 &&
	    v < UINT_MAX) {
		rule->who = (uint32_t)v;
		return 0;
	}
	/*
	 * A name that no longer resolves (a deleted account) makes the rule
	 * grant nothing, rather than the whole file fail: a reload that
	 * fails keeps the old policy in force, with this grant and any other
	 * grant the same reload meant to revoke.  The caller warns.
	 */
	if (rule->is_group) {
		if (names_group(name, &gid) != 0)
			rule->unresolved = 1;
		else
			rule->who = gid;
	} else {
		if (names_user(name, &uid, &gid) != 0)
			rule->unresolved = 1;
		else
			rule->who = uid;
	}
	return 0;
}

static int
rule_has_key(const struct policy_rule *rule, int key)
{
	size_t i;

	for (i = 0; i < rule->nkeys; i++)
		if (rule->keys[i] == key)
			return 1;
	return 0;
}

static int
parse_keys(struct lex *lx, const struct config *conf,
    struct policy_rule *rule, struct lex_token *tok)
{
	char *s, *name, *save = NULL;
	int idx;

	if ((rule->keys = calloc(conf->nkeys + conf->nkeyspaces + 1,
	    sizeof(int))) == NULL)
		return lex_error(lx, tok->line, "out of memory");
	s = tok->text;
	for (name = strtok_r(s, ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save)) {
		/* A keyspace stands for every key in it (keyspace.h). */
		if ((idx = config_keyspace_index(conf, name)) != -1)
			idx = KEYSPACE_POLICY_INDEX(idx);
		else if (rule->op == P11B_OP_GENERATE)
			return lex_error(lx, tok->line, "permit generate: "
			    "\"%s\" is not a keyspace", name);
		else if ((idx = config_key_index(conf, name)) == -1)
			return lex_error(lx, tok->line, "unknown key \"%s\" "
			    "(not defined in %s)", name, conf->path);
		if (rule_has_key(rule, idx))
			return lex_error(lx, tok->line, "key \"%s\" listed "
			    "twice", name);
		/* A rule on a key covers all its versions (versions.h). */
		for (; idx != -1; idx = versions_next(conf->keys, conf->nkeys,
		    idx))
			rule->keys[rule->nkeys++] = idx;
	}
	if (rule->nkeys == 0)
		return lex_error(lx, tok->line, "expected a key name");
	return 0;
}

static int
op_takes_alg(enum p11b_op op)
{
	return op == P11B_OP_SIGN || op == P11B_OP_HMAC ||
	    op == P11B_OP_HMAC_VERIFY;
}

static int
op_takes_input(enum p11b_op op)
{
	return op_takes_alg(op) || op == P11B_OP_RANDOM;
}

/* alg A[,B...] */
static int
parse_algs(struct lex *lx, struct policy_rule *rule, int line)
{
	struct lex_token tok;
	char *name, *save = NULL;
	enum p11b_alg alg;

	if (!op_takes_alg(rule->op))
		return lex_error(lx, line, "permit %s: alg is for sign, hmac "
		    "and hmac-verify", p11b_op_name(rule->op));
	if (lex_next(lx, &tok) != 0)
		return -1;
	if (tok.kind != LEX_WORD)
		return lex_error(lx, line, "alg: expected algorithm names");
	for (name = strtok_r(tok.text, ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save)) {
		if ((alg = p11b_alg_from_name(name)) == P11B_ALG_NONE)
			return lex_error(lx, line, "alg: unknown algorithm "
			    "\"%s\"", name);
		rule->algs |= 1U << alg;
	}
	if (rule->algs == 0)
		return lex_error(lx, line, "alg: expected algorithm names");
	return 0;
}

static int
parse_count(struct lex *lx, const char *what, const char *suffix,
    unsigned long max, unsigned long *out, int line)
{
	struct lex_token tok;
	unsigned long v;
	char *end;

	if (lex_next(lx, &tok) != 0)
		return -1;
	errno = 0;
	v = strtoul(tok.text, &end, 10);
	if (tok.kind != LEX_WORD || end == tok.text || tok.text[0] == '-' ||
	    errno != 0 || strcmp(end, suffix) != 0 || v == 0 || v > max)
		return lex_error(lx, line, "%s: expected a number from 1 to "
		    "%lu%s, got \"%s\"", what, max, suffix, tok.text);
	*out = v;
	return 0;
}

/* After the keys: alg, max-input and rate, each at most once. */
static int
parse_options(struct lex *lx, const struct config *conf,
    struct policy_rule *rule, struct lex_token *tok, int line)
{
	unsigned long v;

	for (; tok->kind == LEX_WORD; ) {
		if (strcmp(tok->text, "alg") == 0 && rule->algs == 0) {
			if (parse_algs(lx, rule, line) != 0)
				return -1;
		} else if (strcmp(tok->text, "max-input") == 0 &&
		    rule->max_input == 0) {
			if (!op_takes_input(rule->op))
				return lex_error(lx, line, "permit %s: "
				    "max-input is for sign, hmac, hmac-verify "
				    "and random", p11b_op_name(rule->op));
			if (parse_count(lx, "max-input", "",
			    CONFIG_MAX_INPUT_MAX, &v, line) != 0)
				return -1;
			rule->max_input = v;
		} else if (strcmp(tok->text, "rate") == 0 && rule->rate == 0) {
			if (parse_count(lx, "rate", "/s", 1000000, &v,
			    line) != 0)
				return -1;
			rule->rate = (uint32_t)v;
		} else if (!op_takes_key(rule->op) &&
		    (config_key_index(conf, tok->text) != -1 ||
		    config_keyspace_index(conf, tok->text) != -1))
			return lex_error(lx, line, "permit %s: takes no key",
			    p11b_op_name(rule->op));
		else
			return lex_error(lx, line, "unexpected \"%s\" (expected "
			    "alg, max-input or rate, each at most once)",
			    tok->text);
		if (lex_next(lx, tok) != 0)
			return -1;
	}
	if (tok->kind != LEX_EOL && tok->kind != LEX_EOF)
		return lex_error(lx, line, "unexpected %s in a rule",
		    lex_kind_name(tok->kind));
	return 0;
}

static int
parse_rule(struct lex *lx, const struct config *conf,
    struct policy_rule *rule, int line)
{
	struct lex_token tok;

	if (lex_next(lx, &tok) != 0)
		return -1;
	if (tok.kind != LEX_WORD || (strcmp(tok.text, "user") != 0 &&
	    strcmp(tok.text, "group") != 0))
		return lex_error(lx, line, "permit: expected \"user\" or "
		    "\"group\"");
	rule->is_group = strcmp(tok.text, "group") == 0;
	if (lex_next(lx, &tok) != 0)
		return -1;
	if (tok.kind != LEX_WORD && tok.kind != LEX_STRING)
		return lex_error(lx, line, "permit: expected a %s name",
		    rule->is_group ? "group" : "user");
	if (resolve_who(lx, rule, tok.text, line) != 0)
		return -1;
	if (lex_next(lx, &tok) != 0)
		return -1;
	if (tok.kind != LEX_WORD ||
	    (rule->op = p11b_op_from_name(tok.text)) == P11B_OP_NONE)
		return lex_error(lx, line, "permit: expected an operation "
		    "(sign, hmac, hmac-verify, secret, pubkey, random, list, "
		    "health, stats, generate)");
	if (lex_next(lx, &tok) != 0)
		return -1;
	if (op_takes_key(rule->op)) {
		if (tok.kind != LEX_WORD)
			return lex_error(lx, line, "permit %s: expected a key "
			    "name", p11b_op_name(rule->op));
		if (parse_keys(lx, conf, rule, &tok) != 0 ||
		    lex_next(lx, &tok) != 0)
			return -1;
	}
	return parse_options(lx, conf, rule, &tok, line);
}

int
policy_parse(const char *file, const char *buf, size_t len,
    const struct config *conf, struct policy **polp, char *errbuf,
    size_t errlen)
{
	struct policy *pol;
	struct lex lx;
	struct lex_token tok;

	lex_init(&lx, file, buf, len, errbuf, errlen);
	if ((pol = calloc(1, sizeof(*pol))) == NULL ||
	    (pol->path = strdup(file)) == NULL ||
	    (pol->rules = calloc(POLICY_MAX_RULES, sizeof(*pol->rules))) ==
	    NULL) {
		snprintf(errbuf, errlen, "%s: out of memory", file);
		policy_free(pol);
		return -1;
	}
	pol->nkeys = conf->nkeys;
	while (lex_next(&lx, &tok) == 0 && tok.kind != LEX_EOF) {
		if (tok.kind == LEX_EOL)
			continue;
		if (tok.kind != LEX_WORD || strcmp(tok.text, "permit") != 0) {
			lex_error(&lx, tok.line, "expected \"permit\"");
			break;
		}
		if (pol->nrules >= POLICY_MAX_RULES) {
			lex_error(&lx, tok.line, "too many rules (max %d)",
			    POLICY_MAX_RULES);
			break;
		}
		pol->rules[pol->nrules].line = tok.line;
		if (parse_rule(&lx, conf, &pol->rules[pol->nrules++],
		    tok.line) != 0)
			break;
	}
	if (lx.failed) {
		policy_free(pol);
		return -1;
	}
	*polp = pol;
	return 0;
}

int
policy_load(const char *path, const struct config *conf,
    struct policy **polp, char *errbuf, size_t errlen)
{
	char *buf;
	size_t len;
	int r;

	if (lex_read_file(path, POLICY_FILE_MAX, &buf, &len, errbuf,
	    errlen) != 0)
		return -1;
	r = policy_parse(path, buf, len, conf, polp, errbuf, errlen);
	free(buf);
	return r;
}

void
policy_free(struct policy *pol)
{
	size_t i;

	if (pol == NULL)
		return;
	for (i = 0; pol->rules != NULL && i < pol->nrules; i++) {
		free(pol->rules[i].who_name);
		free(pol->rules[i].keys);
		free(pol->rules[i].buckets);
	}
	free(pol->rules);
	free(pol->path);
	free(pol);
}

static int	rule_matches(const struct policy_rule *,
		    const struct peer_cred *, enum p11b_op, int);

static int
rule_matches_peer(const struct policy_rule *rule,
    const struct peer_cred *peer)
{
	int i;

	if (rule->unresolved)
		return 0;
	if (!rule->is_group)
		return rule->who == peer->uid;
	if (rule->who == peer->gid)
		return 1;
	for (i = 0; i < peer->ngroups; i++)
		if (rule->who == peer->groups[i])
			return 1;
	return 0;
}

int
policy_permits(const struct policy *pol, const struct peer_cred *peer,
    enum p11b_op op, int key)
{
	const struct policy_rule *rule;
	size_t i;

	for (i = 0; i < pol->nrules; i++) {
		rule = &pol->rules[i];
		if (rule_matches(rule, peer, op, key))
			return 1;
	}
	return 0;
}

int
policy_knows(const struct policy *pol, const struct peer_cred *peer)
{
	size_t i;

	for (i = 0; i < pol->nrules; i++)
		if (rule_matches_peer(&pol->rules[i], peer))
			return 1;
	return 0;
}

/*
 * Every rule of the peer is walked whether key exists (>= 0) or not
 * (-1): the refusal of a hidden key does the same work as a missing one.
 */
uint32_t
policy_key_ops(const struct policy *pol, const struct peer_cred *peer,
    int key)
{
	const struct policy_rule *rule;
	uint32_t ops = 0;
	size_t i;

	for (i = 0; i < pol->nrules; i++) {
		rule = &pol->rules[i];
		if (rule_matches_peer(rule, peer) && rule_has_key(rule, key))
			ops |= 1U << rule->op;
	}
	return ops;
}

static int
rule_matches(const struct policy_rule *rule, const struct peer_cred *peer,
    enum p11b_op op, int key)
{
	if (rule->op != op || !rule_matches_peer(rule, peer))
		return 0;
	return key < 0 ? rule->nkeys == 0 : rule_has_key(rule, key);
}

/*
 * Token bucket per rule and caller: rate tokens a second, at most rate
 * stored (a one-second burst).  Returns 1 when a token was taken.
 */
static int
rate_take(struct policy_rule *rule, uint32_t uid, uint64_t now_ns)
{
	struct rate_bucket *b = NULL, *nb;
	size_t i;

	for (i = 0; i < rule->nbuckets; i++)
		if (rule->buckets[i].uid == uid)
			b = &rule->buckets[i];
	if (b == NULL) {
		nb = reallocarray(rule->buckets, rule->nbuckets + 1,
		    sizeof(*nb));
		if (nb == NULL)
			return 0;	/* fail closed */
		rule->buckets = nb;
		b = &rule->buckets[rule->nbuckets++];
		b->uid = uid;
		b->tokens = rule->rate;
		b->last_ns = now_ns;
	}
	if (now_ns > b->last_ns) {
		b->tokens += (double)(now_ns - b->last_ns) * rule->rate / 1e9;
		if (b->tokens > rule->rate)
			b->tokens = rule->rate;
		b->last_ns = now_ns;
	}
	if (b->tokens < 1.0)
		return 0;
	b->tokens -= 1.0;
	return 1;
}

int
policy_check(struct policy *pol, const struct peer_cred *peer,
    struct policy_request *req, const char **why)
{
	struct policy_rule *rule;
	int too_large = 0, alg_pinned = 0;
	size_t i;

	for (i = 0; i < pol->nrules; i++) {
		rule = &pol->rules[i];
		if (!rule_matches(rule, peer, req->op, req->key))
			continue;
		/* Weak algorithms only where the rule names them. */
		if ((rule->algs != 0 && (req->alg == P11B_ALG_NONE ||
		    !(rule->algs & (1U << req->alg)))) || (rule->algs == 0 &&
		    (alg_weak_algs() & (1U << req->alg)))) {
			alg_pinned = 1;
			continue;
		}
		if (rule->max_input != 0 && req->inlen > rule->max_input) {
			too_large = 1;
			continue;
		}
		if (rule->rate != 0 && !rate_take(rule, peer->uid,
		    req->now_ns)) {
			*why = "rate limit reached";
			return P11B_RATE_LIMITED;
		}
		*why = "";
		req->max_input = rule->max_input;
		return P11B_OK;
	}
	if (too_large) {
		*why = "input larger than the policy allows";
		return P11B_TOO_LARGE;
	}
	*why = alg_pinned ? "algorithm not permitted for this key" :
	    "not permitted";
	return P11B_DENIED;
}

uint32_t
policy_key_algs(const struct policy *pol, const struct peer_cred *peer,
    int key)
{
	const struct policy_rule *rule;
	uint32_t algs = 0;
	size_t i;

	for (i = 0; i < pol->nrules; i++) {
		rule = &pol->rules[i];
		if (op_takes_alg(rule->op) && rule_matches_peer(rule, peer) &&
		    rule_has_key(rule, key))
			algs |= rule->algs != 0 ? rule->algs :
			    ~alg_weak_algs();
	}
	return algs;
}

int
policy_check_algs(const struct policy *pol,
    int (*fits)(enum p11b_alg, int, void *), void *arg, char *errbuf,
    size_t errlen)
{
	const struct policy_rule *rule;
	size_t i, k;
	int a, ok;

	for (i = 0; i < pol->nrules; i++) {
		rule = &pol->rules[i];
		for (a = 1; a < P11B_ALG_COUNT; a++) {
			if (!(rule->algs & (1U << a)))
				continue;
			for (k = 0, ok = 0; k < rule->nkeys && !ok; k++)
				ok = fits((enum p11b_alg)a, rule->keys[k], arg);
			if (!ok) {
				snprintf(errbuf, errlen, "%s:%d: alg %s fits "
				    "none of the rule's keys", pol->path,
				    rule->line, p11b_alg_name(a));
				return -1;
			}
		}
	}
	return 0;
}

int
policy_unresolved(const struct policy *pol, size_t *next,
    const struct policy_rule **rulep)
{
	for (; *next < pol->nrules; (*next)++)
		if (pol->rules[*next].unresolved) {
			*rulep = &pol->rules[(*next)++];
			return 1;
		}
	return 0;
}

static void
print_options(const struct policy_rule *rule, FILE *fp)
{
	const char *sep = " alg ";
	int a;

	for (a = 1; a < P11B_ALG_COUNT; a++) {
		if (rule->algs & (1U << a)) {
			fprintf(fp, "%s%s", sep, p11b_alg_name(a));
			sep = ",";
		}
	}
	if (rule->max_input != 0)
		fprintf(fp, " max-input %zu", rule->max_input);
	if (rule->rate != 0)
		fprintf(fp, " rate %u/s", rule->rate);
}

void
policy_print(const struct policy *pol, const struct config *conf, FILE *fp)
{
	const struct policy_rule *rule;
	size_t i, k;

	for (i = 0; i < pol->nrules; i++) {
		rule = &pol->rules[i];
		if (rule->unresolved)
			fprintf(fp, "# grants nothing (unknown %s): ",
			    rule->is_group ? "group" : "user");
		fprintf(fp, "permit %s %s", rule->is_group ? "group" : "user",
		    rule->who_name);
		if (!rule->unresolved)
			fprintf(fp, "(%u)", rule->who);
		fprintf(fp, " %s", p11b_op_name(rule->op));
		for (k = 0; k < rule->nkeys; k++)
			if (rule->keys[k] >= KEYSPACE_POLICY_BASE)
				fprintf(fp, "%s%s", k == 0 ? " " : ",",
				    conf->keyspaces[KEYSPACE_OF_POLICY_INDEX(
				    rule->keys[k])].name);
			else if (!conf->keys[rule->keys[k]].previous)
				fprintf(fp, "%s%s", k == 0 ? " " : ",",
				    conf->keys[rule->keys[k]].name);
		print_options(rule, fp);
		fprintf(fp, "\t# %s:%d\n", pol->path, rule->line);
	}
}
