/*
 * Vendor profiles: the sandbox lines and module environment a PKCS#11
 * module needs, shipped as contrib/profiles/NAME.conf and compiled in
 * (policy/profiles_gen.c), used by "profile NAME" in a token block.
 */
#ifndef PROFILE_H
#define PROFILE_H

#include <stddef.h>

struct profile_text {
	const char	*name;
	const char	*text;
};

/* The compiled-in profiles, ended by { NULL, NULL }. */
extern const struct profile_text profile_table[];

/* The text of a profile, or NULL when there is none of that name. */
const char *profile_find(const char *name);
/* "a, b, c": the known names, for an error message. */
void	profile_names(char *buf, size_t len);

/*
 * ${NAME} and ${NAME:-DEFAULT} in text, from env (NAME=VALUE strings,
 * the token's module-env).  0 with *outp a new string, or -1 with a
 * message and *linep the profile line at fault.
 */
int	profile_expand(const char *text, char *const *env, size_t nenv,
	    char **outp, int *linep, char *errbuf, size_t errlen);

#endif /* PROFILE_H */
