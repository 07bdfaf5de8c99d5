/*
 * Keyspaces (p11brokerd.conf(5) "keyspace"): the key types one may hold,
 * which keyspace a label falls in, and how policy rules name them.
 */
#ifndef KEYSPACE_H
#define KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "token_ref.h"		/* not config.h: the token layer uses this */

/*
 * Policy rules name a keyspace by this pseudo key index: past every
 * configured key (CONFIG_MAX_KEYS, checked in config.c), so that a
 * rule's key list holds both kinds.
 */
#define KEYSPACE_POLICY_BASE	256
#define KEYSPACE_POLICY_INDEX(ks)	(KEYSPACE_POLICY_BASE + (int)(ks))
#define KEYSPACE_OF_POLICY_INDEX(i)	((i) - KEYSPACE_POLICY_BASE)

/* "ec-p256", "rsa-2048", "hmac-256", ...; -1 for an unknown name. */
int		 keyspace_type_from_name(const char *name);
const char	*keyspace_type_name(enum keyspace_type t);
/* The keyspace type of a key type and size (bits), or -1. */
int		 keyspace_type_of(enum p11b_key_type type, unsigned int bits);
/* The keyspace whose prefix label starts with (and is longer than), -1. */
int		 keyspace_of_label(const struct keyspace *ks, size_t n,
		    const char *label);
/* Parse "T1,T2,..." into a type mask; -1 with the bad name in *bad. */
int		 keyspace_types_parse(char *list, uint32_t *mask,
		    const char **bad);

#endif /* KEYSPACE_H */
