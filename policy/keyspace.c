/* Keyspaces: types, labels and the policy's names for them. */
#include <string.h>

#include "keyspace.h"

static const struct {
	const char		*name;
	enum p11b_key_type	 type;
	unsigned int		 bits;
} types[KS_TYPE_COUNT] = {
	[KS_EC_P256] = { "ec-p256", P11B_KEY_EC_P256, 256 },
	[KS_EC_P384] = { "ec-p384", P11B_KEY_EC_P384, 384 },
	[KS_RSA_2048] = { "rsa-2048", P11B_KEY_RSA, 2048 },
	[KS_RSA_3072] = { "rsa-3072", P11B_KEY_RSA, 3072 },
	[KS_ED25519] = { "ed25519", P11B_KEY_ED25519, 255 },
	[KS_HMAC_256] = { "hmac-256", P11B_KEY_SECRET, 256 },
	[KS_HMAC_384] = { "hmac-384", P11B_KEY_SECRET, 384 },
	[KS_HMAC_512] = { "hmac-512", P11B_KEY_SECRET, 512 },
};

int
keyspace_type_from_name(const char *name)
{
	int i;

	for (i = 0; i < KS_TYPE_COUNT; i++)
		if (strcmp(types[i].name, name) == 0)
			return i;
	return -1;
}

const char *
keyspace_type_name(enum keyspace_type t)
{
	return (unsigned int)t < KS_TYPE_COUNT ? types[t].name : "unknown";
}

/* EC and Ed25519 sizes follow from the type; a client may send 0. */
int
keyspace_type_of(enum p11b_key_type type, unsigned int bits)
{
	int i;

	for (i = 0; i < KS_TYPE_COUNT; i++) {
		if (types[i].type != type)
			continue;
		if (type == P11B_KEY_RSA || type == P11B_KEY_SECRET) {
			if (types[i].bits == bits)
				return i;
		} else if (bits == 0 || bits == types[i].bits)
			return i;
	}
	return -1;
}

int
keyspace_of_label(const struct keyspace *ks, size_t n, const char *label)
{
	size_t i, plen;

	for (i = 0; i < n; i++) {
		plen = strlen(ks[i].prefix);
		if (strlen(label) > plen &&
		    strncmp(label, ks[i].prefix, plen) == 0)
			return (int)i;
	}
	return -1;
}

int
keyspace_types_parse(char *list, uint32_t *mask, const char **bad)
{
	char *name, *save = NULL;
	int t;

	*mask = 0;
	for (name = strtok_r(list, ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save)) {
		if ((t = keyspace_type_from_name(name)) == -1) {
			*bad = name;
			return -1;
		}
		*mask |= 1U << t;
	}
	if (*mask == 0) {
		*bad = "";
		return -1;
	}
	return 0;
}
