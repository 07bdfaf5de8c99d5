/*
 * p11broker stats: the broker's counters, as lines for people or in the
 * Prometheus text exposition format (--prometheus).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
	for (i = 0; i < st->nrequests; i++)
		printf("requests op=%s key=%s status=%s count=%llu\n",
		    p11b_op_name(st->requests[i].op),
		    st->requests[i].key[0] != '\0' ? st->requests[i].key : "-",
		    p11b_status_name(st->requests[i].status),
		    (unsigned long long)st->requests[i].count);
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

static void
print_prometheus(const struct p11b_stats *st)
{
	unsigned long long cum = 0;
	size_t i;

	printf("# HELP p11broker_requests_total Requests answered, by "
	    "operation, key and status.\n"
	    "# TYPE p11broker_requests_total counter\n");
	for (i = 0; i < st->nrequests; i++)
		printf("p11broker_requests_total{op=\"%s\",key=\"%s\","
		    "status=\"%s\"} %llu\n", p11b_op_name(st->requests[i].op),
		    st->requests[i].key, p11b_status_name(st->requests[i].status),
		    (unsigned long long)st->requests[i].count);
	printf("# HELP p11broker_request_duration_seconds Time from the "
	    "request's arrival to its answer.\n"
	    "# TYPE p11broker_request_duration_seconds histogram\n");
	for (i = 0; i <= st->nbuckets; i++) {
		cum += st->bucket_count[i];
		if (i < st->nbuckets)
			printf("p11broker_request_duration_seconds_bucket"
			    "{le=\"%g\"} %llu\n", (double)st->bucket_us[i] / 1e6,
			    cum);
		else
			printf("p11broker_request_duration_seconds_bucket"
			    "{le=\"+Inf\"} %llu\n", cum);
	}
	printf("p11broker_request_duration_seconds_sum %g\n"
	    "p11broker_request_duration_seconds_count %llu\n",
	    (double)st->latency_sum_us / 1e6, cum);
	printf("# TYPE p11broker_token_ready gauge\n"
	    "p11broker_token_ready %d\n", st->token_ready ? 1 : 0);
	printf("# TYPE p11broker_workers gauge\np11broker_workers %u\n",
	    st->workers);
	printf("# TYPE p11broker_sessions_in_use gauge\n"
	    "p11broker_sessions_in_use %u\n", st->workers_busy);
	printf("# TYPE p11broker_connections gauge\n"
	    "p11broker_connections %u\n", st->connections);
	printf("# TYPE p11broker_audit_lines_total counter\n"
	    "p11broker_audit_lines_total %llu\n",
	    (unsigned long long)st->audit_lines);
	printf("# TYPE p11broker_policy_generation gauge\n"
	    "p11broker_policy_generation %llu\n",
	    (unsigned long long)st->policy_generation);
	printf("# TYPE p11broker_uptime_seconds gauge\n"
	    "p11broker_uptime_seconds %llu\n",
	    (unsigned long long)st->uptime_seconds);
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
		print_prometheus(&st);
	else
		print_plain(&st);
	p11b_stats_free(&st);
	if (fflush(stdout) != 0)
		return CLI_EXIT_LOCAL_IO;
	return CLI_EXIT_OK;
}
