#!/bin/bash
# The shipped Prometheus rules (contrib/prometheus/): promtool accepts
# them, and their unit tests pass: each alert fires from recorded series
# and stays quiet where it should (p11broker.rules.test.yml).  The rules
# and the dashboard against a live broker and Prometheus: exporter.sh.
. "$(dirname "$0")/lib.sh"

need_tools promtool
RULES="$top_srcdir/contrib/prometheus"

out=$(promtool check rules "$RULES/p11broker.rules.yml" 2>&1)
ok $? "promtool check rules accepts p11broker.rules.yml" || diag "$out"
n=$(grep -c -- '- alert:' "$RULES/p11broker.rules.yml")
tested=0
for a in $(sed -n 's/^ *- alert: *//p' "$RULES/p11broker.rules.yml"); do
	grep -q "alertname: $a\$" "$RULES/p11broker.rules.test.yml" &&
	    tested=$((tested + 1))
done
is "$tested" "$n" "every one of the $n alerts has a unit test"
# promtool resolves rule_files relative to the test file.
out=$(cd "$RULES" && promtool test rules p11broker.rules.test.yml 2>&1)
ok $? "promtool test rules: every alert fires from its series, and only then" ||
    diag "$out"

done_testing
