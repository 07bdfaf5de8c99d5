/* Key versions: parsing and lookup (versions.h). */
#include <string.h>

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
version_taken(const struct key_ref *keys, size_t nkeys, int key,
    const char *v)
{
	size_t i;

	for (i = (size_t)key; i < nkeys &&
	    strcmp(keys[i].name, keys[key].name) == 0; i++)
		if (strcmp(keys[i].version, v) == 0)
			return 1;
	return 0;
}

int
versions_parse_name(struct lex *lx, struct key_ref *keys, size_t nkeys,
    int key)
{
	struct key_ref *k = &keys[key];
	char v[P11B_KEY_NAME_MAX + 1];
	int line;

	if (version_name(lx, k->name, v, sizeof(v), &line) != 0)
		return -1;
	if (version_taken(keys, nkeys, key, v))
		return lex_error(lx, line, "key %s: version \"%s\" listed "
		    "twice", k->name, v);
	strlcpy(k->version, v, sizeof(k->version));
	return 0;
}

int
versions_add(struct lex *lx, struct key_ref *keys, size_t nkeys,
    size_t max, int key, struct key_ref **kp)
{
	const struct key_ref *cur = &keys[key];
	char v[P11B_KEY_NAME_MAX + 1];
	struct key_ref *k;
	int line;

	if (version_name(lx, cur->name, v, sizeof(v), &line) != 0)
		return -1;
	if (version_taken(keys, nkeys, key, v))
		return lex_error(lx, line, "key %s: version \"%s\" listed "
		    "twice", cur->name, v);
	/* Every version counts: it is an object the signer resolves. */
	if (nkeys >= max)
		return lex_error(lx, line, "too many keys (max %zu, each "
		    "version counts)", max);
	k = &keys[nkeys];
	memset(k, 0, sizeof(*k));
	strlcpy(k->name, cur->name, sizeof(k->name));
	strlcpy(k->version, v, sizeof(k->version));
	k->previous = 1;
	k->line = line;
	*kp = k;
	return 0;
}

int
versions_finish(struct lex *lx, struct key_ref *keys, size_t nkeys, int key)
{
	const struct key_ref *cur = &keys[key];
	int i;

	if ((i = versions_next(keys, nkeys, key)) == -1)
		return 0;
	if (cur->version[0] == '\0')
		return lex_error(lx, cur->line, "key %s: has previous "
		    "versions, so the current one needs a name too "
		    "(version NAME)", cur->name);
	/* The options are the key's: every version verifies alike. */
	for (; i != -1; i = versions_next(keys, nkeys, i)) {
		keys[i].verify = cur->verify;
		keys[i].low_s = cur->low_s;
		keys[i].max_input = cur->max_input;
		keys[i].tokens = cur->tokens;
	}
	return 0;
}

int
versions_find(const struct key_ref *keys, size_t nkeys, const char *name,
    const char *version)
{
	size_t i;
	int k;

	for (i = 0; i < nkeys; i++)
		if (!keys[i].previous && strcmp(keys[i].name, name) == 0)
			break;
	if (i == nkeys)
		return -1;
	for (k = (int)i; k != -1; k = versions_next(keys, nkeys, k))
		if (version == NULL || version[0] == '\0' ||
		    strcmp(keys[k].version, version) == 0)
			return k;
	return -1;
}

int
versions_next(const struct key_ref *keys, size_t nkeys, int i)
{
	if (i < 0 || (size_t)i + 1 >= nkeys || !keys[i + 1].previous ||
	    strcmp(keys[i + 1].name, keys[i].name) != 0)
		return -1;
	return i + 1;
}
