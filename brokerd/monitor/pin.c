/*
 * The PIN.  A PIN file (and a credential file) gets the config file's
 * checks (fcheck.h: no link, no FIFO, root's or ours, in a directory no
 * one else can write) and must not be readable by group or others; the
 * PIN never appears in logs or error messages.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcheck.h"
#include "log.h"
#include "pin.h"
#include "secret.h"

static struct secret *
pin_from_file(const char *path, char *errbuf, size_t errlen)
{
	struct secret *s = NULL;
	struct stat st;
	char why[LOG_MSG_MAX];
	ssize_t n;
	int fd;

	/* As strict as the config, and not readable by anyone else. */
	if ((fd = fcheck_open_read(path, FCHECK_SECRET, &st, why,
	    sizeof(why))) == -1) {
		snprintf(errbuf, errlen, "PIN file %s", why);
		return NULL;
	}
	if ((s = secret_new(PIN_MAX + 1)) == NULL) {
		snprintf(errbuf, errlen, "PIN: out of memory");
		goto out;
	}
	while ((n = read(fd, s->buf + s->len, PIN_MAX + 1 - s->len)) > 0)
		s->len += n;
	if (n == -1 || s->len > PIN_MAX) {
		snprintf(errbuf, errlen, "PIN file %s: %s", path, n == -1 ?
		    strerror(errno) : "longer than 256 bytes");
		secret_free(s);
		s = NULL;
		goto out;
	}
	secret_chomp(s);
 out:
	close(fd);
	return s;
}

static struct secret *
pin_from_string(char *value, const char *what, char *errbuf, size_t errlen)
{
	struct secret *s;
	size_t len = strlen(value);

	if (len > PIN_MAX) {
		snprintf(errbuf, errlen, "PIN from %s: longer than 256 bytes",
		    what);
		return NULL;
	}
	if ((s = secret_new(PIN_MAX + 1)) == NULL) {
		snprintf(errbuf, errlen, "PIN: out of memory");
		return NULL;
	}
	memcpy(s->buf, value, len);
	s->len = len;
	return s;
}

static struct secret *
pin_from_env(const char *name, char *errbuf, size_t errlen)
{
	struct secret *s;
	char *value;

	if ((value = getenv(name)) == NULL) {
		snprintf(errbuf, errlen, "PIN: environment variable %s is "
		    "not set", name);
		return NULL;
	}
	s = pin_from_string(value, name, errbuf, errlen);
	/* Leave no copy in the environment for children or /proc. */
	explicit_bzero(value, strlen(value));
	unsetenv(name);
	return s;
}

static struct secret *
pin_from_credential(const char *name, char *errbuf, size_t errlen)
{
	const char *dir;
	char path[4096];

	if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL) {
		snprintf(errbuf, errlen, "PIN: credential %s: "
		    "$CREDENTIALS_DIRECTORY is not set (not started by "
		    "systemd with LoadCredential=?)", name);
		return NULL;
	}
	if (strchr(name, '/') != NULL || (size_t)snprintf(path, sizeof(path),
	    "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(errbuf, errlen, "PIN: bad credential name %s", name);
		return NULL;
	}
	return pin_from_file(path, errbuf, errlen);
}

struct secret *
pin_read(const struct config *conf, const struct token_block *tb,
    char *errbuf, size_t errlen)
{
	switch (tb->pin_source) {
	case PIN_ENV:
		return pin_from_env(tb->pin_ref, errbuf, errlen);
	case PIN_FILE:
		return pin_from_file(tb->pin_ref, errbuf, errlen);
	case PIN_CREDENTIAL:
		return pin_from_credential(tb->pin_ref, errbuf, errlen);
	case PIN_LITERAL:
		log_warnx("%s: token %s: the PIN is written in the config "
		    "file; prefer pin-file or pin-credential", conf->path,
		    tb->name);
		return pin_from_string(tb->pin_ref, "config", errbuf,
		    errlen);
	case PIN_NONE:
		break;
	}
	snprintf(errbuf, errlen, "PIN: no source configured");
	return NULL;
}
