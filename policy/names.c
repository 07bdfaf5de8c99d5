/*
 * Name lookups with a record and a replay mode (see names.h).  The
 * record is plain text because it crosses from the monitor to the front
 * with the config files; a malformed record is refused whole.
 */
#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

#define NAMES_MAX	1024
#define NAME_LEN	64

struct name {
	char	kind;		/* 'u' or 'g' */
	char	name[NAME_LEN];
	uid_t	uid;
	gid_t	gid;
};

static struct name *names;
static size_t nnames;
static int recording, replaying;

static void
remember(char kind, const char *name, uid_t uid, gid_t gid)
{
	struct name *n;

	if (!recording || nnames >= NAMES_MAX || strlen(name) >= NAME_LEN)
		return;
	if ((n = reallocarray(names, nnames + 1, sizeof(*n))) == NULL)
		return;
	names = n;
	n = &names[nnames++];
	n->kind = kind;
	strlcpy(n->name, name, sizeof(n->name));
	n->uid = uid;
	n->gid = gid;
}

static const struct name *
find(char kind, const char *name)
{
	size_t i;

	for (i = 0; i < nnames; i++)
		if (names[i].kind == kind && strcmp(names[i].name, name) == 0)
			return &names[i];
	return NULL;
}

int
names_user(const char *name, uid_t *uid, gid_t *gid)
{
	const struct name *n;
	struct passwd *pw;

	if (replaying) {
		if ((n = find('u', name)) == NULL)
			return -1;
		*uid = n->uid;
		*gid = n->gid;
		return 0;
	}
	if ((pw = getpwnam(name)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	remember('u', name, *uid, *gid);
	return 0;
}

int
names_group(const char *name, gid_t *gid)
{
	const struct name *n;
	struct group *gr;

	if (replaying) {
		if ((n = find('g', name)) == NULL)
			return -1;
		*gid = n->gid;
		return 0;
	}
	if ((gr = getgrnam(name)) == NULL)
		return -1;
	*gid = gr->gr_gid;
	remember('g', name, 0, *gid);
	return 0;
}

void
names_record(void)
{
	free(names);
	names = NULL;
	nnames = 0;
	recording = 1;
	replaying = 0;
}

char *
names_export(size_t *lenp)
{
	char *buf, *p;
	size_t i, cap = nnames * (NAME_LEN + 32) + 1;
	int n;

	if ((buf = malloc(cap)) == NULL)
		return NULL;
	p = buf;
	*p = '\0';
	for (i = 0; i < nnames; i++) {
		if (names[i].kind == 'u')
			n = snprintf(p, cap - (size_t)(p - buf), "u %s %u %u\n",
			    names[i].name, (unsigned)names[i].uid,
			    (unsigned)names[i].gid);
		else
			n = snprintf(p, cap - (size_t)(p - buf), "g %s %u\n",
			    names[i].name, (unsigned)names[i].gid);
		p += n;
	}
	*lenp = (size_t)(p - buf);
	return buf;
}

static int
name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) >= NAME_LEN)
		return 0;
	for (; *s != '\0'; s++)
		if (!isgraph((unsigned char)*s))
			return 0;
	return 1;
}

int
names_replay(const char *buf, size_t len)
{
	char line[NAME_LEN + 64], name[NAME_LEN + 1], kind, extra;
	unsigned int a, b;
	size_t off = 0, n;
	const char *nl;

	names_record();
	recording = 0;
	replaying = 1;
	while (off < len) {
		if ((nl = memchr(buf + off, '\n', len - off)) == NULL)
			return -1;
		if ((n = (size_t)(nl - (buf + off))) >= sizeof(line))
			return -1;
		memcpy(line, buf + off, n);
		line[n] = '\0';
		off += n + 1;
		if (sscanf(line, "u %64s %u %u %c", name, &a, &b, &extra) == 3)
			kind = 'u';
		else if (sscanf(line, "g %64s %u %c", name, &b, &extra) == 2) {
			kind = 'g';
			a = 0;
		} else
			return -1;
		if (!name_ok(name) || nnames >= NAMES_MAX)
			return -1;
		recording = 1;
		remember(kind, name, (uid_t)a, (gid_t)b);
		recording = 0;
	}
	return 0;
}
