/*
 * Reading and parsing the config and the policy (files.h).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certfile.h"
#include "files.h"
#include "lex.h"
#include "log.h"
#include "names.h"

#define POLICY_BYTES_MAX	(1024 * 1024)

static void
hash_hex(const char *buf, size_t len, char out[FILES_HEX_LEN + 1])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const uint8_t *)buf, len);
	sodium_bin2hex(out, FILES_HEX_LEN + 1, h, sizeof(h));
}

/*
 * A literal PIN's value in the config bytes becomes x's: the bytes go to
 * the front (forked, and again on every reload) and their SHA-256 to the
 * audit log, where a short PIN could be found by trying them all.
 */
static void
blank_pin(struct files *f, const struct token_block *tb)
{
	size_t i, start = tb->pin_start, end = tb->pin_end;

	if (tb->pin_source != PIN_LITERAL || end > f->conflen || start >= end)
		return;
	if (f->confbuf[start] == '"' && end - start >= 2) {
		start++;
		end--;
	}
	for (i = start; i < end; i++)
		f->confbuf[i] = 'x';
}

static int
parse(const char *path, struct files *f, char *errbuf, size_t errlen)
{
	size_t i;

	if (config_parse(path, f->confbuf, f->conflen, &f->conf, errbuf,
	    errlen) != 0)
		return -1;
	for (i = 0; i < f->conf->ntokens; i++)
		blank_pin(f, &f->conf->tokens[i]);
	if (f->polbuf == NULL && lex_read_file(f->conf->policy_path,
	    POLICY_BYTES_MAX, &f->polbuf, &f->pollen, errbuf, errlen) != 0)
		return -1;
	if (policy_parse(f->conf->policy_path, f->polbuf, f->pollen, f->conf,
	    &f->pol, errbuf, errlen) != 0)
		return -1;
	hash_hex(f->confbuf, f->conflen, f->hex[0]);
	hash_hex(f->polbuf, f->pollen, f->hex[1]);
	return 0;
}

/* Rules whose user or group is unknown: they grant nothing. */
static void
warn_unresolved(const struct policy *pol)
{
	const struct policy_rule *rule;
	size_t next = 0;

	while (policy_unresolved(pol, &next, &rule))
		log_warnx("%s:%d: unknown %s \"%s\": the rule grants nothing",
		    pol->path, rule->line, rule->is_group ? "group" : "user",
		    rule->who_name);
}

/* A keyed hash of each literal PIN: a reload can tell that one changed. */
static void
tag_pins(struct files *f)
{
	static uint8_t key[crypto_generichash_KEYBYTES];
	static int keyed;
	const char *pin;
	size_t i;

	for (i = 0; i < f->conf->ntokens; i++) {
		pin = f->conf->tokens[i].pin_ref;
		if (f->conf->tokens[i].pin_source != PIN_LITERAL ||
		    pin == NULL)
			continue;
		if (!keyed) {
			randombytes_buf(key, sizeof(key));
			keyed = 1;
		}
		crypto_generichash(f->pin_tag[i], sizeof(f->pin_tag[i]),
		    (const uint8_t *)pin, strlen(pin), key, sizeof(key));
	}
}

int
files_load(const char *path, struct files *f, char *errbuf, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	names_record();
	if (lex_read_file(path, CONFIG_FILE_MAX, &f->confbuf, &f->conflen,
	    errbuf, errlen) != 0 || parse(path, f, errbuf, errlen) != 0 ||
	    (f->names = names_export(&f->nameslen)) == NULL ||
	    certfile_load_all(f->conf, errbuf, errlen) != 0) {
		if (f->names == NULL && f->pol != NULL)
			snprintf(errbuf, errlen, "out of memory");
		files_free(f);
		return -1;
	}
	warn_unresolved(f->pol);
	tag_pins(f);
	return 0;
}

void
files_forget_pin(struct files *f)
{
	struct token_block *tb;
	size_t i;

	for (i = 0; i < f->conf->ntokens; i++) {
		tb = &f->conf->tokens[i];
		if (tb->pin_source != PIN_LITERAL || tb->pin_ref == NULL)
			continue;
		sodium_memzero(tb->pin_ref, strlen(tb->pin_ref));
		free(tb->pin_ref);
		tb->pin_ref = NULL;
	}
}

int
files_same_pin(const struct files *a, const struct files *b)
{
	const struct token_block *ta, *tb;
	size_t i;
	int j;

	for (i = 0; i < b->conf->ntokens; i++) {
		tb = &b->conf->tokens[i];
		if ((j = config_token_index(a->conf, tb->name)) == -1)
			continue;	/* a new block: its PIN is read */
		ta = &a->conf->tokens[j];
		if (ta->pin_source != PIN_LITERAL ||
		    tb->pin_source != PIN_LITERAL)
			continue;	/* files_restart_needed() compares */
		if (sodium_memcmp(a->pin_tag[j], b->pin_tag[i],
		    sizeof(a->pin_tag[j])) != 0)
			return 0;
	}
	return 1;
}

static char *
copy(const char *buf, size_t len)
{
	char *p;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, buf, len);
	p[len] = '\0';
	return p;
}

int
files_parse(const char *path, const char *confbuf, size_t conflen,
    const char *polbuf, size_t pollen, const char *names, size_t nameslen,
    struct files *f, char *errbuf, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	if (names_replay(names, nameslen) != 0) {
		snprintf(errbuf, errlen, "reload: malformed name record");
		return -1;
	}
	if ((f->confbuf = copy(confbuf, conflen)) == NULL ||
	    (f->polbuf = copy(polbuf, pollen)) == NULL) {
		snprintf(errbuf, errlen, "reload: out of memory");
		files_free(f);
		return -1;
	}
	f->conflen = conflen;
	f->pollen = pollen;
	if (parse(path, f, errbuf, errlen) != 0) {
		files_free(f);
		return -1;
	}
	return 0;
}

void
files_free(struct files *f)
{
	policy_free(f->pol);
	config_free(f->conf);
	free(f->confbuf);
	free(f->polbuf);
	free(f->names);
	memset(f, 0, sizeof(*f));
}

static int
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static int
list_differs(char **a, size_t na, char **b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 1;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 1;
	return 0;
}

/*
 * A token block in both files (by name) keeps its module, its token and
 * its PIN source; a reload may add or remove blocks.
 */
static const char *
token_blocks_differ(const struct config *oldc, const struct config *newc)
{
	const struct token_block *old, *new;
	size_t i;
	int j;

	for (i = 0; i < newc->ntokens; i++) {
		new = &newc->tokens[i];
		if ((j = config_token_index(oldc, new->name)) == -1)
			continue;
		old = &oldc->tokens[j];
		if (str_differs(old->module, new->module) ||
		    old->token_by != new->token_by ||
		    str_differs(old->token_label, new->token_label) ||
		    old->token_slot != new->token_slot)
			return "token";
		/* A literal PIN is only in the monitor: files_same_pin(). */
		if (old->pin_source != new->pin_source ||
		    (new->pin_source != PIN_LITERAL &&
		    str_differs(old->pin_ref, new->pin_ref)))
			return "PIN source";
		if (list_differs(old->module_env, old->nmodule_env,
		    new->module_env, new->nmodule_env))
			return "module-env";
	}
	return NULL;
}

const char *
files_restart_needed(const struct config *old, const struct config *new)
{
	const char *what;

	if (str_differs(old->socket_path, new->socket_path) ||
	    old->socket_owner != new->socket_owner ||
	    old->socket_group != new->socket_group ||
	    old->socket_mode != new->socket_mode)
		return "socket";
	if ((what = token_blocks_differ(old, new)) != NULL)
		return what;
	if (old->workers != new->workers)
		return "workers";
	if (str_differs(old->user, new->user) ||
	    old->sandbox_mode != new->sandbox_mode ||
	    list_differs(old->sandbox_allow, old->nsandbox_allow,
	    new->sandbox_allow, new->nsandbox_allow) ||
	    list_differs(old->sandbox_read, old->nsandbox_read,
	    new->sandbox_read, new->nsandbox_read) ||
	    list_differs(old->sandbox_write, old->nsandbox_write,
	    new->sandbox_write, new->nsandbox_write) ||
	    list_differs(old->sandbox_connect, old->nsandbox_connect,
	    new->sandbox_connect, new->nsandbox_connect) ||
	    list_differs(old->sandbox_unix, old->nsandbox_unix,
	    new->sandbox_unix, new->nsandbox_unix))
		return "user or sandbox";
	return NULL;
}
