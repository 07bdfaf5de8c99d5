#!/bin/bash
# p11broker-exporter: a Prometheus scrape target beside the broker.  Its
# /metrics carries exactly the broker's counters (after a known number of
# signatures, checked by openssl, the sample says that number); promtool
# accepts the exposition; a real Prometheus scrapes it and its query API
# returns the same count; the exporter runs as the user -u names and is
# refused without the "stats" permission (p11broker_up 0, the broker's
# own counters absent); bad, oversized and slow requests get their error
# and do not stop the next scrape; the broker stopped is p11broker_up 0.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to run the exporter as nobody"
need_tools setpriv curl promtool prometheus systemd-analyze
EXPORTER="$top_builddir/exporter/p11broker-exporter"

# The shipped unit (it needs AF_INET, so a little above the broker's).
unit_rated "$top_srcdir/contrib/systemd/p11broker-exporter.service" 1.5 \
    "the exporter's unit"

setup_token
write_config
write_policy "permit user nobody stats"
start_daemon

EXP_PID=
EXP_LOG=
EXP_STARTS=0
PORT=
# start_exporter USER: the exporter on a free loopback port, as USER; PORT
# is read from its "listening on" line.
start_exporter()
{
	EXP_STARTS=$((EXP_STARTS + 1))	# a fresh log for every start
	EXP_LOG="$T/exporter.$EXP_STARTS.$1.log"
	"$EXPORTER" -l 127.0.0.1:0 -s "$SOCK" -u "$1" >"$EXP_LOG" 2>&1 &
	EXP_PID=$!
	wait_for grep -q 'listening on 127\.0\.0\.1:[0-9]' "$EXP_LOG" ||
	    bail "the exporter did not start: $(cat "$EXP_LOG")"
	PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
	    "$EXP_LOG")
}
stop_exporter()
{
	kill "$EXP_PID" 2>/dev/null
	wait "$EXP_PID" 2>/dev/null
	EXP_PID=
}
# Stopped however the script ends.
on_cleanup '[ -z "$EXP_PID" ] || stop_exporter'
on_cleanup '[ -z "${PROM_PID:-}" ] || kill "$PROM_PID"'

# scrape [PATH]: the body into $T/scrape, the status code into CODE.
scrape()
{
	CODE=$(curl -s -o "$T/scrape" -w '%{http_code}' -m "$HANG" \
	    "http://127.0.0.1:$PORT${1:-/metrics}")
}
# sample NAME{LABELS}: the value of one sample line of the last scrape.
sample()
{
	awk -v k="$1" '$1 == k { print $2 }' "$T/scrape"
}

start_exporter nobody
is "$(awk '/^Uid:/ { print $2 }' "/proc/$EXP_PID/status")" "$(id -u nobody)" \
    "the exporter runs as the user -u names"

# --- the counters a client caused, as the scrape shows them ---------------
head -c 300 /dev/urandom >"$T/data"
n=5
signed=0
for i in $(seq $n); do
	cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data" -o "$T/sig.$i"
	openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature \
	    "$T/sig.$i" "$T/data" >/dev/null 2>&1 && signed=$((signed + 1))
done
is "$signed" "$n" "$n signatures, each verified by openssl"
cli sign no-such -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 5 "a key that does not exist: no-such-key"
# nobody may only read stats: ec256 is hidden from it, and it hears what
# a missing key answers; only the refusal counter tells the two apart.
chmod 0644 "$T/data"
as_nobody sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 5 "a key hidden from nobody: no-such-key, as if missing"
scrape
is "$CODE" 200 "GET /metrics: 200"
is "$(sample 'p11broker_requests_total{op="sign",key="ec256",status="ok"}')" \
    "$n" "the scrape counts the $n signatures"
is "$(sample p11broker_up)" 1 "p11broker_up 1 while the broker answers"
is "$(sample 'p11broker_refusals_total{reason="policy"}')" 1 \
    "the hidden key's refusal counted as the policy's"
is "$(sample 'p11broker_refusals_total{reason="missing-key"}')" 1 \
    "the missing key's refusal counted apart"
is "$(sample p11broker_token_ready)" 1 "token ready"
promtool check metrics <"$T/scrape" >"$T/promtool.out" 2>&1
is "$?" 0 "promtool check metrics accepts the exposition" ||
    diag "$(cat "$T/promtool.out")"
like "$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/metrics")" \
    'Content-Type: text/plain; version=0\.0\.4' \
    "the Prometheus text format's content type"

# --- a real Prometheus scrapes it -----------------------------------------
PROM_PID=
prom_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $top_srcdir/contrib/prometheus/p11broker.rules.yml
scrape_configs:
  - job_name: p11broker
    static_configs:
      - targets: ["127.0.0.1:$PORT"]
EOF
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$T/prometheus.log" 2>&1 &
PROM_PID=$!
# prom_value QUERY: the first result's value, from the query API.
prom_value()
{
	curl -s -m "$HANG" --data-urlencode "query=$1" \
	    "http://127.0.0.1:$prom_port/api/v1/query" | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")'
}
prom_says()
{
	[ "$(prom_value "$1")" = "$2" ]
}
q='p11broker_requests_total{op="sign",key="ec256",status="ok"}'
wait_for prom_says "$q" "$n"
is "$(prom_value "$q")" "$n" "Prometheus scraped the exporter: $n signatures" ||
    diag "$(tail -5 "$T/prometheus.log")"
is "$(prom_value 'up{job="p11broker"}')" 1 "Prometheus sees the target up"
# The shipped alert rules load into it and evaluate without error.
rules_ok()
{
	curl -s -m "$HANG" "http://127.0.0.1:$prom_port/api/v1/rules" |
	    python3 -c '
import json, sys
rules = [r for g in json.load(sys.stdin)["data"]["groups"] for r in g["rules"]]
bad = [r["name"] for r in rules if r.get("health") != "ok"]
sys.exit(0 if len(rules) >= 10 and not bad else 1)'
}
wait_for rules_ok
ok $? "the shipped alert rules load and evaluate in Prometheus"
# The dashboard reads as Grafana reads it, and each of its queries gives
# data from this Prometheus.
while IFS="$(printf '\t')" read -r rc what why; do
	ok "$rc" "$what" || diag "$why"
done < <(python3 "$INTEGRATION_DIR/dashboard.py" \
    "$top_srcdir/contrib/grafana/p11broker.json" "http://127.0.0.1:$prom_port")
kill "$PROM_PID"
wait "$PROM_PID" 2>/dev/null
PROM_PID=

# --- requests it refuses, and the scrape after them ----------------------
scrape /nothing
is "$CODE" 404 "an unknown path: 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -m "$HANG" \
    "http://127.0.0.1:$PORT/metrics")
is "$code" 405 "POST: 405"
big=$(head -c 6000 /dev/zero | tr '\0' a)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" -m "$HANG" \
    "http://127.0.0.1:$PORT/metrics")
is "$code" 431 "headers over 4 KiB: 431"
reply=$(printf 'GET /metrics HTTP/9.9\r\n\r\n' | python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=float(sys.argv[2]))
s.sendall(sys.stdin.buffer.read())
print(s.recv(100).split(b"\r\n")[0].decode())' "$PORT" "$HANG")
is "$reply" "HTTP/1.1 400 Bad Request" "a bad request line: 400"
# A client that sends half a request and stalls is cut off at the
# exporter's deadline; others are served meanwhile.
python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=float(sys.argv[2]))
s.sendall(b"GET /metr")
print("closed" if s.recv(100) == b"" else "answered")' "$PORT" "$HANG" \
    >"$T/slow.out" 2>&1 &
slow=$!
scrape
is "$CODE" 200 "a scrape while a slow client holds a connection"
wait "$slow"
is "$(cat "$T/slow.out")" closed "the slow client is cut off"

# --- without the stats permission -----------------------------------------
stop_exporter
start_exporter daemon
scrape
is "$CODE" 200 "an exporter the policy does not permit still answers"
is "$(sample p11broker_up)" 0 "... with p11broker_up 0"
is "$(grep -c '^p11broker_requests_total' "$T/scrape")" 0 \
    "... and none of the broker's counters"
like "$(cat "$EXP_LOG")" 'does not answer: .*denied' "it logs the denial"

# --- the broker stopped ---------------------------------------------------
stop_exporter
start_exporter nobody
stop_daemon
scrape
is "$(sample p11broker_up)" 0 "the broker stopped: p11broker_up 0"
scrape
is "$(sample 'p11broker_exporter_scrapes_total{result="error"}')" 2 \
    "both failed scrapes counted"
stop_exporter
is "$(grep -c 'does not answer' "$EXP_LOG")" 1 \
    "the unreachable broker is logged once"

done_testing
