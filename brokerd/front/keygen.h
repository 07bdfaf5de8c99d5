/*
 * One generation of the keys a signer announced, as the front knows them
 * (names, types, public keys: no token handles).  Jobs in flight hold
 * the generation they were checked against, so that a reload never
 * changes a key under a request.  Event loop thread only.
 */
#ifndef KEYGEN_H
#define KEYGEN_H

#include <stddef.h>

#include "job.h"

struct keygen;

/* Takes over keys (freed with the last reference); one reference. */
struct keygen *keygen_new(struct key_info *keys, size_t nkeys);
void	keygen_hold(struct keygen *kg);
void	keygen_release(struct keygen *kg);
const struct key_info *keygen_keys(const struct keygen *kg, size_t *nkeys);

#endif /* KEYGEN_H */
