/*
 * The one place every request is answered, exactly once, whatever its
 * outcome: its audit line, its count and its reply.
 */
#include <string.h>

#include "clock.h"
#include "audit.h"
#include "answer.h"
#include "conn_ops.h"

/*
 * Every request ends here, exactly once, whatever its outcome: the one
 * place that sees each decision with its caller, key and status.
 */
void
answer_send(struct broker *b, struct conn *c,
    const struct request_ctx *rq, struct wire_response *resp)
{
	uint64_t latency_us = (clock_ns() - rq->received_ns) / 1000;
	struct wire_response refusal;
	int logged, key = rq->key_index;

	/* Callers the policy does not know: one line per interval. */
	if (resp->status != P11B_OK && conn_refusal_counted(c))
		logged = audit_refusing(b->audit) ? -1 : 0;
	else
		logged = audit_decision(b->audit, conn_peer(c), rq, resp, 0);
	if (logged != 0) {
		/* Not in the log (it fails closed): only a refusal leaves. */
		memset(&refusal, 0, sizeof(refusal));
		refusal.status = P11B_INTERNAL;
		refusal.message = AUDIT_UNAVAILABLE;
		resp = &refusal;
	}
	/*
	 * A hidden key is counted as a missing one: no trace of which.
	 * Whether the policy refused or the key is missing is counted
	 * apart, without the key, for operators to alert on.
	 */
	if (resp->status == P11B_NO_SUCH_KEY && key < 0)
		metrics_count_refusal(b->metrics, METRICS_REFUSED_NO_KEY);
	else if (resp->status == P11B_NO_SUCH_KEY ||
	    resp->status == P11B_DENIED)
		metrics_count_refusal(b->metrics, METRICS_REFUSED_BY_POLICY);
	if (resp->status == P11B_NO_SUCH_KEY)
		key = -1;
	metrics_count(b->metrics, rq->op, key, resp->status, latency_us);
	metrics_count_caller(b->metrics, conn_peer(c)->uid, conn_known(c),
	    resp->status);
	resp->id = rq->id;
	conn_reply(c, resp);
}

void
answer_refuse(struct broker *b, struct conn *c,
    const struct request_ctx *rq, int status, const char *message)
{
	struct wire_response resp;

	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	resp.message = message;
	answer_send(b, c, rq, &resp);
}
