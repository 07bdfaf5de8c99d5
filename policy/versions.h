/*
 * Key versions (p11brokerd.conf(5)): a logical key's current version and
 * its older ones.  Each version is its own entry in the config's key
 * array, resolved and identity-checked by the signer like any key; the
 * entries of one key are adjacent, the current one first, and all share
 * the logical name.
 */
#ifndef VERSIONS_H
#define VERSIONS_H

#include <stddef.h>

#include "lex.h"
#include "token_ref.h"

/* "version NAME" after a key's name: the current version's name. */
int	versions_parse_name(struct lex *lx, struct key_ref *keys,
	    size_t nkeys, int key);
/*
 * "previous NAME" (the reference follows): a new entry keys[*nkeys] for
 * an older version of key (at most max entries in all), -1 with the
 * error recorded in lx.
 */
int	versions_add(struct lex *lx, struct key_ref *keys, size_t nkeys,
	    size_t max, int key, struct key_ref **kp);
/* Once the key statement is read: check it, copy its options down. */
int	versions_finish(struct lex *lx, struct key_ref *keys, size_t nkeys,
	    int key);

/* The entry of a key's version (NULL or "": the current one), or -1. */
int	versions_find(const struct key_ref *keys, size_t nkeys,
	    const char *name, const char *version);
/* The next version of the same key after entry i, or -1. */
int	versions_next(const struct key_ref *keys, size_t nkeys, int i);

#endif /* VERSIONS_H */
