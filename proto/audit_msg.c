/* The checkpoint message, see audit_msg.h and p11broker-audit(5). */
#include <stdio.h>

#include "audit_msg.h"

size_t
audit_checkpoint_message(uint64_t seq, const uint8_t head[AUDIT_MSG_HASH_LEN],
    char *out, size_t outlen)
{
	char hex[2 * AUDIT_MSG_HASH_LEN + 1];
	size_t i;
	int n;

	for (i = 0; i < AUDIT_MSG_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", head[i]);
	n = snprintf(out, outlen, "p11broker-audit-checkpoint v1 seq=%llu "
	    "head=%s", (unsigned long long)seq, hex);
	return n < 0 || (size_t)n >= outlen ? 0 : (size_t)n;
}
