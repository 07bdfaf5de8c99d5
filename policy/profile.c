/*
 * Vendor profiles: look one up by name, and fill in the paths it takes
 * from the module's own environment (a store directory the module finds
 * in TPM2_PKCS11_STORE is the directory the sandbox must open to it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

#define PROFILE_MAX	(64 * 1024)

const char *
profile_find(const char *name)
{
	const struct profile_text *p;

	for (p = profile_table; p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return p->text;
	return NULL;
}

void
profile_names(char *buf, size_t len)
{
	const struct profile_text *p;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (p = profile_table; p->name != NULL; p++) {
		if (p != profile_table)
			strlcat(buf, ", ", len);
		strlcat(buf, p->name, len);
	}
}

/* The value of NAME (n bytes) in env, or NULL. */
static const char *
env_value(char *const *env, size_t nenv, const char *name, size_t n)
{
	size_t i;

	for (i = nenv; i-- > 0; )	/* the last setting wins */
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

/*
 * The value goes inside a quoted string of the profile: a quote, a
 * backslash or a line break would end it, so they are refused.
 */
static int
value_ok(const char *v, size_t n)
{
	return n > 0 && strcspn(v, "\"\\\n") >= n;
}

/* One ${...} at s (after "${"): its value into out. */
static int
expand_one(const char **sp, char *const *env, size_t nenv, char *out,
    size_t *olen, char *errbuf, size_t errlen)
{
	const char *s = *sp, *end, *def, *v;
	size_t n, vlen;

	if ((end = strchr(s, '}')) == NULL || memchr(s, '\n', end - s)) {
		snprintf(errbuf, errlen, "\"${\" without \"}\"");
		return -1;
	}
	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_");
	def = s + n;
	if (n == 0 || (def != end && strncmp(def, ":-", 2) != 0)) {
		snprintf(errbuf, errlen, "\"${%.*s}\": expected ${NAME} or "
		    "${NAME:-DEFAULT}", (int)(end - s), s);
		return -1;
	}
	if ((v = env_value(env, nenv, s, n)) != NULL)
		vlen = strlen(v);
	else if (def != end) {
		v = def + 2;
		vlen = end - v;
	} else {
		snprintf(errbuf, errlen, "it needs %.*s: add module-env "
		    "\"%.*s=...\" to the token block", (int)n, s, (int)n, s);
		return -1;
	}
	if (!value_ok(v, vlen)) {
		snprintf(errbuf, errlen, "%.*s: an empty value, or one with "
		    "a quote, backslash or line break, cannot be a path here",
		    (int)n, s);
		return -1;
	}
	if (*olen + vlen >= PROFILE_MAX) {
		snprintf(errbuf, errlen, "too long once expanded");
		return -1;
	}
	memcpy(out + *olen, v, vlen);
	*olen += vlen;
	*sp = end + 1;
	return 0;
}

int
profile_expand(const char *text, char *const *env, size_t nenv,
    char **outp, int *linep, char *errbuf, size_t errlen)
{
	const char *s = text;
	char *out;
	size_t olen = 0;

	*linep = 1;
	if ((out = malloc(PROFILE_MAX)) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	while (*s != '\0') {
		if (s[0] == '$' && s[1] == '{') {
			s += 2;
			if (expand_one(&s, env, nenv, out, &olen, errbuf,
			    errlen) != 0)
				goto fail;
			continue;
		}
		if (*s == '\n')
			(*linep)++;
		if (olen + 1 >= PROFILE_MAX) {
			snprintf(errbuf, errlen, "too long once expanded");
			goto fail;
		}
		out[olen++] = *s++;
	}
	out[olen] = '\0';
	*outp = out;
	return 0;
 fail:
	free(out);
	return -1;
}
