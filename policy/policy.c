/*
 * Parser and evaluator for policy.conf.  Rules only permit; the order of
 * rules does not matter, and a request is allowed when any rule matches
 * it.  Everything else is denied.
 *
 *	permit user NAME|UID OP [KEY[,KEY...]]
 *	permit group NAME|GID OP [KEY[,KEY...]]
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"
#include "policy.h"

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
	struct passwd *pw;
	struct group *gr;
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
	if (rule->is_group) {
		if ((gr = getgrnam(name)) == NULL)
			return lex_error(lx, line, "unknown group \"%s\"",
			    name);
		rule->who = gr->gr_gid;
	} else {
		if ((pw = getpwnam(name)) == NULL)
			return lex_error(lx, line, "unknown user \"%s\"", name);
		rule->who = pw->pw_uid;
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

	if ((rule->keys = calloc(conf->nkeys + 1, sizeof(int))) == NULL)
		return lex_error(lx, tok->line, "out of memory");
	s = tok->text;
	for (name = strtok_r(s, ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save)) {
		if ((idx = config_key_index(conf, name)) == -1)
			return lex_error(lx, tok->line, "unknown key \"%s\" "
			    "(not defined in %s)", name, conf->path);
		if (rule_has_key(rule, idx))
			return lex_error(lx, tok->line, "key \"%s\" listed "
			    "twice", name);
		rule->keys[rule->nkeys++] = idx;
	}
	if (rule->nkeys == 0)
		return lex_error(lx, tok->line, "expected a key name");
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
		    "health)");
	if (lex_next(lx, &tok) != 0)
		return -1;
	if (!op_takes_key(rule->op)) {
		if (tok.kind == LEX_EOL || tok.kind == LEX_EOF)
			return 0;
		return lex_error(lx, line, "permit %s: takes no key",
		    p11b_op_name(rule->op));
	}
	if (tok.kind != LEX_WORD)
		return lex_error(lx, line, "permit %s: expected a key name",
		    p11b_op_name(rule->op));
	if (parse_keys(lx, conf, rule, &tok) != 0)
		return -1;
	if (lex_next(lx, &tok) != 0)
		return -1;
	if (tok.kind != LEX_EOL && tok.kind != LEX_EOF)
		return lex_error(lx, line, "unexpected \"%s\" after the keys",
		    tok.text);
	return 0;
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
	}
	free(pol->rules);
	free(pol->path);
	free(pol);
}

static int
rule_matches_peer(const struct policy_rule *rule,
    const struct peer_cred *peer)
{
	int i;

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
		if (rule->op != op || !rule_matches_peer(rule, peer))
			continue;
		if (key < 0 ? rule->nkeys == 0 : rule_has_key(rule, key))
			return 1;
	}
	return 0;
}

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

void
policy_print(const struct policy *pol, const struct config *conf, FILE *fp)
{
	const struct policy_rule *rule;
	size_t i, k;

	for (i = 0; i < pol->nrules; i++) {
		rule = &pol->rules[i];
		fprintf(fp, "permit %s %s(%u) %s", rule->is_group ? "group" :
		    "user", rule->who_name, rule->who, p11b_op_name(rule->op));
		for (k = 0; k < rule->nkeys; k++)
			fprintf(fp, "%s%s", k == 0 ? " " : ",",
			    conf->keys[rule->keys[k]].name);
		fprintf(fp, "\t# %s:%d\n", pol->path, rule->line);
	}
}
