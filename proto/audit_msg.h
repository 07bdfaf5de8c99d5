/*
 * The message an audit checkpoint signs: the contract between the broker
 * that signs it and `p11broker audit verify`, which rebuilds it.  One
 * definition, compiled into both.
 */
#ifndef AUDIT_MSG_H
#define AUDIT_MSG_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_MSG_HASH_LEN		32	/* SHA-256 chain head */
#define AUDIT_CHECKPOINT_MSG_MAX	128

/*
 * "p11broker-audit-checkpoint v1 seq=S head=H" without a newline; returns
 * its length, 0 when out is too small.
 */
size_t	audit_checkpoint_message(uint64_t seq,
	    const uint8_t head[AUDIT_MSG_HASH_LEN], char *out, size_t outlen);

#endif /* AUDIT_MSG_H */
