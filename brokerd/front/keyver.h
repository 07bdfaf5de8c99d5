/*
 * Key versions in the front (p11brokerd.conf(5), "Key versions"): a
 * request names the logical key and is served by its current version;
 * hmac-verify goes on to the older ones, pubkey may name one, and list
 * shows them all.  The config's entries of one key are adjacent, the
 * current one first (policy/versions.h).
 */
#ifndef KEYVER_H
#define KEYVER_H

#include <stddef.h>

struct broker;
struct request_ctx;
struct work;
struct wire_key_version;

/* The version rq->key_index (a current entry) names: into rq. */
void	keyver_note(const struct broker *b, struct request_ctx *rq);
/*
 * The entry of rq's key at a version ("": the current one), noted in
 * rq; -1 when the key has no such version.
 */
int	keyver_select(const struct broker *b, struct request_ctx *rq,
	    const char *version);
/*
 * An hmac-verify that names the identity of one of the key's versions
 * (KeyInfo.identity) is checked under that version only: 0 and rq
 * pinned to it, or -1 when no version has that identity.
 */
int	keyver_pin(const struct broker *b, struct request_ctx *rq,
	    const uint8_t *identity);
/*
 * A whole hmac-verify whose MAC did not match the version it ran on:
 * submit it again on the next older version that fits its algorithm
 * (noted in rq), and return 1; 0 when there is none (the answer is
 * "invalid").  The work is then the link's again: touch nothing of it.
 */
int	keyver_verify_next(struct broker *b, struct request_ctx *rq,
	    struct work *work);
/* Is the version noted in rq an older one? */
int	keyver_previous(const struct broker *b, const struct request_ctx *rq);
/* The list answer's versions, one per entry i; keep what fits i. */
void	keyver_list_entry(const struct broker *b, size_t i,
	    struct wire_key_version *kv, uint32_t *ops);

#endif /* KEYVER_H */
