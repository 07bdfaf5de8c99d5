/* The audit statement's checks and its file (audit_conf.h). */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "algs.h"
#include "audit_conf.h"
#include "fcheck.h"

/* EC keys sign with their curve's ECDSA, Ed25519 with EdDSA. */
enum p11b_alg
audit_key_alg(enum p11b_key_type type)
{
	enum p11b_alg alg;

	if ((alg = alg_find(ALG_FAMILY_ECDSA, type, ALG_HASH_NONE)) !=
	    P11B_ALG_NONE)
		return alg;
	return alg_find(ALG_FAMILY_EDDSA, type, ALG_HASH_NONE);
}

/*
 * The signer refuses a second name for the checkpoint key's token object
 * or key pair; the front and the monitor check again what the signer's
 * hello says: no other key may have the checkpoint key's public key.
 */
static int
check_alias(const struct config *conf, const struct key_info *keys,
    size_t nkeys, size_t key, char *err, size_t errlen)
{
	const struct key_info *ck = &keys[key];
	size_t i;

	if (ck->spki == NULL)
		return 0;
	for (i = 0; i < nkeys; i++) {
		if (i == key || keys[i].spki == NULL ||
		    keys[i].spkilen != ck->spkilen ||
		    memcmp(keys[i].spki, ck->spki, ck->spkilen) != 0)
			continue;
		snprintf(err, errlen, "%s:%d: audit: key %s is the same key "
		    "pair as the checkpoint-key %s; a checkpoint key may have "
		    "only one name", conf->path, conf->audit_line,
		    keys[i].name, conf->audit_key);
		return -1;
	}
	return 0;
}

int
audit_config_check(const struct config *conf, const struct key_info *keys,
    size_t nkeys, char *err, size_t errlen)
{
	int key;

	if (conf->audit_path == NULL)
		return 0;
	key = config_key_index(conf, conf->audit_key);
	if (key < 0 || (size_t)key >= nkeys) {
		snprintf(err, errlen, "%s:%d: audit: no key \"%s\"", conf->path,
		    conf->audit_line, conf->audit_key);
		return -1;
	}
	if (audit_key_alg(keys[key].type) == P11B_ALG_NONE) {
		snprintf(err, errlen, "%s:%d: audit: checkpoint-key %s is a "
		    "%s key; it must be an EC (P-256, P-384, P-521) or Ed25519 "
		    "key pair", conf->path, conf->audit_line, conf->audit_key,
		    p11b_key_type_name(keys[key].type));
		return -1;
	}
	return check_alias(conf, keys, nkeys, (size_t)key, err, errlen);
}

int
audit_file_open(const struct config *conf, const char *path, char *err,
    size_t errlen)
{
	return fcheck_open_log(path, conf->user_uid, err, errlen);
}

int
audit_state_open(const char *path)
{
	char state[PATH_MAX];
	struct stat st;
	int fd;

	if ((size_t)snprintf(state, sizeof(state), "%s.head", path) >=
	    sizeof(state)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Nobody's symlink or FIFO: a regular file, or nothing. */
	if ((fd = open(state, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY |
	    O_NOFOLLOW | O_NONBLOCK, 0640)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* Where the type field ends at the latest (seq and time come first). */
#define TYPE_WITHIN	96

int
audit_copy_is_checkpoint(const char *line, size_t len)
{
	static const char type[] = ",\"type\":\"checkpoint\",";

	return memmem(line, len < TYPE_WITHIN ? len : TYPE_WITHIN, type,
	    sizeof(type) - 1) != NULL;
}

int
audit_copy_wanted(const struct config *conf)
{
	return conf->audit_anchor != NULL || conf->audit_syslog != 0;
}
