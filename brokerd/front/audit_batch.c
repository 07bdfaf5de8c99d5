/*
 * A batch's decision line: one line for the whole batch, with every
 * item's input length, input SHA-256, status (and for hmac-verify its
 * answer), in the batch's order.  The chain covers the line's bytes as
 * it covers any other, so an item cannot be changed, dropped or added
 * without "audit verify" failing; see p11broker-audit(5), "BATCHES".
 */
#include <string.h>

#include "audit_int.h"
#include "clock.h"

void
audit_hash_input(struct audit *a, const uint8_t *in, size_t len,
    uint8_t out[AUDIT_HASH_LEN])
{
	if (a == NULL) {
		memset(out, 0, AUDIT_HASH_LEN);
		return;
	}
	audit_sha256(&a->buf.sha, in != NULL ? in : (const uint8_t *)"", len,
	    out);
}

int
audit_batch(struct audit *a, const struct peer_cred *peer,
    const struct request_ctx *rq, const struct audit_item *items, size_t n,
    int dropped)
{
	struct audit_buf *ab;
	uint64_t now = clock_ns();

	if (a == NULL)
		return 0;
	if (audit_refusing(a)) {
		a->refused++;
		return -1;
	}
	ab = audit_decision_begin(a, peer, rq);
	audit_line_str(ab, "alg", p11b_alg_name(rq->alg));
	audit_line_str(ab, "status", p11b_status_name(P11B_OK));
	audit_line_num(ab, "batch", n);
	audit_line_items(ab, "items", items, n);
	if (dropped)
		audit_line_bool(ab, "dropped", 1);
	audit_line_num(ab, "latency_us", now > rq->received_ns ?
	    (now - rq->received_ns) / 1000 : 0);
	if (audit_end(a, 0) != 0)
		return a->b->conf->audit_fail_open ? 0 : -1;
	a->fresh++;
	return 0;
}
