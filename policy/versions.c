/* Key versions: parsing and lookup (versions.h). */
#include <string.h>

#include "config.h"
#include "versions.h"
#include "wire.h"

static int
version_name(struct lex *lx, const char *kname, char *out, size_t outlen,
    int *linep)
{
	struct lex_token tok;

	if (lex_next(lx, &tok) != 0)
		return -1;
	*linep = tok.line;
	if ((tok.kind != LEX_WORD && tok.kind != LEX_STRING) ||
	    !wire_key_name_valid(tok.text, strlen(tok.text)))
		return lex_error(lx, tok.line, "key %s: expected a version "
		    "name (1-%d of A-Z a-z 0-9 . _ -)", kname,
		    P11B_KEY_NAME_MAX);
	strlcpy(out, tok.text, outlen);
	return 0;
}

/* Is the name taken by another version of the key that starts at key? */
static int
version_taken(const struct config *c, int key, const char *v)
{
	size_t i;

	for (i = (size_t)key; i < c->nkeys &&
	    strcmp(c->keys[i].name, c->keys[key].name) == 0; i++)
		if (strcmp(c->keys[i].version, v) == 0)
			return 1;
	return 0;
}

int
versions_parse_name(struct lex *lx, struct config *c, int key)
{
	struct key_ref *k = &c->keys[key];
	char v[P11B_KEY_NAME_MAX + 1];
	int line;

	if (k->version[0] != '\0')
		return lex_error(lx, lx->line, "key %s: version given twice",
		    k->name);
	if (version_name(lx, k->name, v, sizeof(v), &line) != 0)
		return -1;
	if (version_taken(c, key, v))
		return lex_error(lx, line, "key %s: version \"%s\" listed "
		    "twice", k->name, v);
	strlcpy(k->version, v, sizeof(k->version));
	return 0;
}

int
versions_add(struct lex *lx, struct config *c, int key, struct key_ref **kp)
{
	const struct key_ref *cur = &c->keys[key];
	char v[P11B_KEY_NAME_MAX + 1];
	struct key_ref *k;
	int line;

	if (version_name(lx, cur->name, v, sizeof(v), &line) != 0)
		return -1;
	if (version_taken(c, key, v))
		return lex_error(lx, line, "key %s: version \"%s\" listed "
		    "twice", cur->name, v);
	/* Every version counts: it is an object the signer resolves. */
	if (c->nkeys >= CONFIG_MAX_KEYS)
		return lex_error(lx, line, "too many keys (max %d, each "
		    "version counts)", CONFIG_MAX_KEYS);
	k = &c->keys[c->nkeys];
	memset(k, 0, sizeof(*k));
	strlcpy(k->name, cur->name, sizeof(k->name));
	strlcpy(k->version, v, sizeof(k->version));
	k->previous = 1;
	k->line = line;
	*kp = k;
	return 0;
}

int
versions_finish(struct lex *lx, struct config *c, int key)
{
	const struct key_ref *cur = &c->keys[key];
	struct key_ref *k;
	size_t i;

	if (key + 1 >= (int)c->nkeys || !c->keys[key + 1].previous)
		return 0;
	if (cur->version[0] == '\0')
		return lex_error(lx, cur->line, "key %s: has previous "
		    "versions, so the current one needs a name too "
		    "(version NAME)", cur->name);
	/* The options are the key's: every version verifies alike. */
	for (i = (size_t)key + 1; i < c->nkeys && c->keys[i].previous &&
	    strcmp(c->keys[i].name, cur->name) == 0; i++) {
		k = &c->keys[i];
		k->verify = cur->verify;
		k->low_s = cur->low_s;
		k->max_input = cur->max_input;
	}
	return 0;
}

int
config_key_version_index(const struct config *c, const char *name,
    const char *version)
{
	int i;

	if ((i = config_key_index(c, name)) == -1 || version == NULL ||
	    version[0] == '\0')
		return i;
	for (; i >= 0; i = config_key_next_version(c, i))
		if (strcmp(c->keys[i].version, version) == 0)
			return i;
	return -1;
}

int
config_key_next_version(const struct config *c, int i)
{
	if (i < 0 || (size_t)i + 1 >= c->nkeys || !c->keys[i + 1].previous ||
	    strcmp(c->keys[i + 1].name, c->keys[i].name) != 0)
		return -1;
	return i + 1;
}
