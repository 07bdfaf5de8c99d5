/*
 * p11broker stats: the broker's counters, as lines for people or in the
 * Prometheus text exposition format (--prometheus).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "prom_text.h"

/* One line per token block; none from a broker that sends no rows. */
static void
print_tokens(const struct p11b_stats *st)
{
	const struct p11b_token_health *t;
	size_t i;

	for (i = 0; i < st->ntokens; i++) {
		t = &st->tokens[i];
		printf("token %s ready=%d signers=%u signers_up=%u "
		    "pin_refused=%d failovers=%llu\n", t->name,
		    t->ready ? 1 : 0, t->signers, t->signers_up,
		    t->pin_refused ? 1 : 0, (unsigned long long)t->failovers);
	}
}

static void
print_plain(const struct p11b_stats *st)
{
	size_t i;

	printf("token=%s workers=%u busy=%u connections=%u uptime=%llu "
	    "policy-generation=%llu audit-lines=%llu\n",
	    st->token_ready ? "ready" : "unavailable", st->workers,
	    st->workers_busy, st->connections,
	    (unsigned long long)st->uptime_seconds,
	    (unsigned long long)st->policy_generation,
	    (unsigned long long)st->audit_lines);
	printf("refusals policy=%llu missing-key=%llu\n",
	    (unsigned long long)st->policy_refusals,
	    (unsigned long long)st->missing_key_refusals);
	printf("audit write-failures=%llu copies-dropped=%llu "
	    "checkpoint-time=%llu\n",
	    (unsigned long long)st->audit_write_failures,
	    (unsigned long long)st->audit_copies_dropped,
	    (unsigned long long)st->audit_checkpoint_time);
	printf("signers starts=%llu restarts=%llu login-failures=%llu\n",
	    (unsigned long long)st->signer_starts,
	    (unsigned long long)st->signer_restarts,
	    (unsigned long long)st->login_failures);
	printf("signers configured=%u up=%u\n", st->signers,
	    st->signers_up);
	print_tokens(st);
	for (i = 0; i < st->nsigner_slots; i++) {
		printf("signer slot=%u up=%d looping=%d starts=%llu "
		    "restarts=%llu busy=%u", st->signer_slots[i].slot,
		    st->signer_slots[i].up, st->signer_slots[i].looping,
		    (unsigned long long)st->signer_slots[i].starts,
		    (unsigned long long)st->signer_slots[i].restarts,
		    st->signer_slots[i].busy);
		if (st->signer_slots[i].token < st->ntokens)
			printf(" token=%s",
			    st->tokens[st->signer_slots[i].token].name);
		printf("\n");
	}
	for (i = 0; i < st->nsandbox_kills; i++)
		printf("sandbox-kills syscall=%s count=%llu\n",
		    st->sandbox_kills[i].syscall,
		    (unsigned long long)st->sandbox_kills[i].count);
	for (i = 0; i < st->nrequests; i++)
		printf("requests op=%s key=%s status=%s count=%llu\n",
		    p11b_op_name(st->requests[i].op),
		    st->requests[i].key[0] != '\0' ? st->requests[i].key : "-",
		    p11b_status_name(st->requests[i].status),
		    (unsigned long long)st->requests[i].count);
	for (i = 0; i < st->ncallers; i++) {
		if (st->callers[i].kind == P11B_CALLER_UID)
			printf("caller uid=%u", (unsigned int)st->callers[i].uid);
		else
			printf("caller uid=%s", st->callers[i].kind ==
			    P11B_CALLER_UNKNOWN ? "unknown" : "other");
		printf(" ok=%llu refused=%llu failed=%llu\n",
		    (unsigned long long)st->callers[i].ok,
		    (unsigned long long)st->callers[i].refused,
		    (unsigned long long)st->callers[i].failed);
	}
	for (i = 0; i <= st->nbuckets; i++) {
		if (i < st->nbuckets)
			printf("latency le_us=%llu", (unsigned long long)
			    st->bucket_us[i]);
		else
			printf("latency le_us=inf");
		printf(" count=%llu\n", (unsigned long long)
		    st->bucket_count[i]);
	}
}

int
cmd_stats(struct cli *cli)
{
	struct p11b_stats st;
	int r;

	if ((r = cli_connect(cli)) != CLI_EXIT_OK)
		return r;
	if ((r = p11b_stats(cli->conn, &st)) != P11B_OK)
		return cli_fail(cli, r);
	if (cli->args.prometheus)
		(void)prom_write_stats(stdout, &st);
	else
		print_plain(&st);
	p11b_stats_free(&st);
	if (fflush(stdout) != 0)
		return CLI_EXIT_LOCAL_IO;
	return CLI_EXIT_OK;
}
