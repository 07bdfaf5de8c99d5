/*
 * The broker's counters in the Prometheus text exposition format.  Label
 * values are key and token names ([A-Za-z0-9._-], the decoder refuses
 * others: nothing to escape) and the fixed operation and status names.
 */
#include <stdio.h>

#include "prom_text.h"

static void
family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void	gauge(FILE *, const char *, const char *, const char *,
		    unsigned long long);

static void
requests(FILE *fp, const struct p11b_stats *st)
{
	size_t i;

	family(fp, "p11broker_requests_total", "counter",
	    "Requests answered, by operation, key and status.");
	for (i = 0; i < st->nrequests; i++)
		fprintf(fp, "p11broker_requests_total{op=\"%s\",key=\"%s\","
		    "status=\"%s\"} %llu\n", p11b_op_name(st->requests[i].op),
		    st->requests[i].key,
		    p11b_status_name(st->requests[i].status),
		    (unsigned long long)st->requests[i].count);
}

/* The caller label: a uid, or "unknown" / "other" (p11b_caller_kind). */
static const char *
caller_label(const struct p11b_caller_count *cc, char *buf, size_t len)
{
	if (cc->kind == P11B_CALLER_UNKNOWN)
		return "unknown";
	if (cc->kind == P11B_CALLER_OTHER)
		return "other";
	snprintf(buf, len, "%u", (unsigned int)cc->uid);
	return buf;
}

static void
callers(FILE *fp, const struct p11b_stats *st)
{
	static const char *results[] = { "ok", "refused", "failed" };
	char uid[16];
	uint64_t n[3];
	size_t i, r;

	family(fp, "p11broker_caller_requests_total", "counter",
	    "Requests by caller uid (those the policy names; \"unknown\" "
	    "for all others, \"other\" past 128 uids) and result.");
	for (i = 0; i < st->ncallers; i++) {
		n[0] = st->callers[i].ok;
		n[1] = st->callers[i].refused;
		n[2] = st->callers[i].failed;
		for (r = 0; r < 3; r++)
			fprintf(fp, "p11broker_caller_requests_total{uid=\"%s\","
			    "result=\"%s\"} %llu\n", caller_label(&st->callers[i],
			    uid, sizeof(uid)), results[r],
			    (unsigned long long)n[r]);
	}
}

static void
latency(FILE *fp, const struct p11b_stats *st)
{
	unsigned long long cum = 0;
	size_t i;

	family(fp, "p11broker_request_duration_seconds", "histogram",
	    "Time from the request's arrival to its answer.");
	for (i = 0; i <= st->nbuckets; i++) {
		cum += st->bucket_count[i];
		if (i < st->nbuckets)
			fprintf(fp, "p11broker_request_duration_seconds_bucket"
			    "{le=\"%g\"} %llu\n", (double)st->bucket_us[i] / 1e6,
			    cum);
		else
			fprintf(fp, "p11broker_request_duration_seconds_bucket"
			    "{le=\"+Inf\"} %llu\n", cum);
	}
	fprintf(fp, "p11broker_request_duration_seconds_sum %g\n"
	    "p11broker_request_duration_seconds_count %llu\n",
	    (double)st->latency_sum_us / 1e6, cum);
}

static void
gauge(FILE *fp, const char *name, const char *type, const char *help,
    unsigned long long value)
{
	family(fp, name, type, help);
	fprintf(fp, "%s %llu\n", name, value);
}

/* Each signer slot, labelled by its number. */
static void
slots(FILE *fp, const struct p11b_stats *st)
{
	const struct p11b_signer_slot *sl;
	size_t i;

	family(fp, "p11broker_signer_up", "gauge",
	    "1 when a signer serves in the slot.");
	for (i = 0; i < st->nsigner_slots; i++)
		fprintf(fp, "p11broker_signer_up{slot=\"%u\"} %d\n",
		    st->signer_slots[i].slot, st->signer_slots[i].up ? 1 : 0);
	family(fp, "p11broker_signer_slot_starts_total", "counter",
	    "Signers started in the slot.");
	for (i = 0; i < st->nsigner_slots; i++)
		fprintf(fp, "p11broker_signer_slot_starts_total{slot=\"%u\"} "
		    "%llu\n", st->signer_slots[i].slot,
		    (unsigned long long)st->signer_slots[i].starts);
	family(fp, "p11broker_signer_slot_restarts_total", "counter",
	    "Signers started in the slot to replace one that died.");
	for (i = 0; i < st->nsigner_slots; i++)
		fprintf(fp, "p11broker_signer_slot_restarts_total{slot=\"%u\"} "
		    "%llu\n", st->signer_slots[i].slot,
		    (unsigned long long)st->signer_slots[i].restarts);
	family(fp, "p11broker_signer_sessions_in_use", "gauge",
	    "The slot's workers running a job now.");
	for (i = 0; i < st->nsigner_slots; i++) {
		sl = &st->signer_slots[i];
		fprintf(fp, "p11broker_signer_sessions_in_use{slot=\"%u\"} "
		    "%u\n", sl->slot, sl->busy);
	}
}

/* One series per token block of the config, labelled by its name. */
static void
tokens(FILE *fp, const struct p11b_stats *st)
{
	static const struct {
		const char	*name, *type, *help;
	} fam[] = {
		{ "p11broker_token_up", "gauge",
		    "1 when a signer of the token block serves, else 0." },
		{ "p11broker_token_signers", "gauge",
		    "Signer processes configured for the token block." },
		{ "p11broker_token_signers_up", "gauge",
		    "Signer processes of the token block serving now." },
		{ "p11broker_token_pin_refused", "gauge",
		    "1 when the token refused its PIN (its signers are not "
		    "restarted), else 0." },
		{ "p11broker_token_failovers_total", "counter",
		    "Jobs moved from the token block to another token." },
	};
	size_t f, i;

	/* A broker without rows (an older one) gets no families at all. */
	for (f = 0; st->ntokens > 0 && f < sizeof(fam) / sizeof(fam[0]);
	    f++) {
		family(fp, fam[f].name, fam[f].type, fam[f].help);
		for (i = 0; i < st->ntokens && i < P11B_TOKENS_MAX; i++) {
			const struct p11b_token_health *t = &st->tokens[i];
			/* In the order of fam[]. */
			const unsigned long long v[] = { t->ready ? 1 : 0,
			    t->signers, t->signers_up, t->pin_refused ? 1 : 0,
			    (unsigned long long)t->failovers };

			fprintf(fp, "%s{token=\"%s\"} %llu\n", fam[f].name,
			    t->name, v[f]);
		}
	}
}

/* The monitor's counts of signer processes. */
static void
signers(FILE *fp, const struct p11b_stats *st)
{
	size_t i;

	gauge(fp, "p11broker_signer_starts_total", "counter",
	    "Signer processes started (at start, reloads, restarts).",
	    st->signer_starts);
	gauge(fp, "p11broker_signer_restarts_total", "counter",
	    "Signers started to replace one that died.", st->signer_restarts);
	gauge(fp, "p11broker_login_failures_total", "counter",
	    "Logins the token refused (wrong or locked PIN).",
	    st->login_failures);
	gauge(fp, "p11broker_signers", "gauge",
	    "Signer processes configured.", st->signers);
	gauge(fp, "p11broker_signers_up", "gauge",
	    "Signer processes serving now.", st->signers_up);
	slots(fp, st);
	tokens(fp, st);
	family(fp, "p11broker_sandbox_kills_total", "counter",
	    "Processes ended by their seccomp filter, by the system call the "
	    "signer reported (unknown: no report; other: past 15 names).");
	for (i = 0; i < st->nsandbox_kills; i++)
		fprintf(fp, "p11broker_sandbox_kills_total{syscall=\"%s\"} "
		    "%llu\n", st->sandbox_kills[i].syscall,
		    (unsigned long long)st->sandbox_kills[i].count);
}

int
prom_write_stats(FILE *fp, const struct p11b_stats *st)
{
	requests(fp, st);
	callers(fp, st);
	latency(fp, st);
	family(fp, "p11broker_refusals_total", "counter",
	    "Refusals a client cannot tell apart: by the policy (a key or "
	    "operation the caller may not use, a hidden key included) or "
	    "for a key that does not exist.");
	fprintf(fp, "p11broker_refusals_total{reason=\"policy\"} %llu\n"
	    "p11broker_refusals_total{reason=\"missing-key\"} %llu\n",
	    (unsigned long long)st->policy_refusals,
	    (unsigned long long)st->missing_key_refusals);
	gauge(fp, "p11broker_token_ready", "gauge",
	    "1 when a signer holds a logged-in token and is not dying over "
	    "and over, else 0.", st->token_ready ? 1 : 0);
	signers(fp, st);
	gauge(fp, "p11broker_workers", "gauge",
	    "Signer workers (one PKCS#11 session each).", st->workers);
	gauge(fp, "p11broker_sessions_in_use", "gauge",
	    "Workers running a job now.", st->workers_busy);
	gauge(fp, "p11broker_connections", "gauge",
	    "Client connections open now.", st->connections);
	gauge(fp, "p11broker_audit_lines_total", "counter",
	    "Lines written to the audit log.", st->audit_lines);
	gauge(fp, "p11broker_audit_write_failures_total", "counter",
	    "Writes of the audit log that failed (full disk, I/O error).",
	    st->audit_write_failures);
	gauge(fp, "p11broker_audit_copies_dropped_total", "counter",
	    "Audit lines not copied to syslog and the anchor (the copy "
	    "channel was full); the log file has them.",
	    st->audit_copies_dropped);
	gauge(fp, "p11broker_audit_checkpoint_timestamp_seconds", "gauge",
	    "When the last audit checkpoint line was written (Unix time); "
	    "0 before the first.", st->audit_checkpoint_time);
	gauge(fp, "p11broker_policy_generation", "gauge",
	    "Policy generation: 1 at start, +1 per reload put in force.",
	    st->policy_generation);
	gauge(fp, "p11broker_uptime_seconds", "gauge",
	    "Seconds since the broker started.", st->uptime_seconds);
	return ferror(fp) ? -1 : 0;
}
