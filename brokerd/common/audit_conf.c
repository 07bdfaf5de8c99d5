/* The audit statement's checks and its file (audit_conf.h). */
#include <stdio.h>

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
	return 0;
}

int
audit_file_open(const struct config *conf, const char *path, char *err,
    size_t errlen)
{
	return fcheck_open_log(path, conf->user_uid, err, errlen);
}
