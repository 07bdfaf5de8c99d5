#!/usr/bin/env python3
"""Check contrib/grafana/p11broker.json the way Grafana reads it, and run
every panel's query against a live Prometheus.

    dashboard.py DASHBOARD.json PROMETHEUS_URL

The keys Grafana relies on: a title and uid, unique panel ids, known panel
types, a gridPos inside the 24-column grid, a datasource on each panel and
target, unique refIds, an expr per target whose $variables are defined in
templating (or are Grafana's own).  Each expr, with $instance as ".*" and
$__rate_interval as 1m, must be accepted by the live Prometheus and give
data (asked again until it does, up to the tests' hang deadline,
$P11B_HANG: a fresh series needs two scrapes for a rate).  Prints one line per check: "0<TAB>what" when it holds, "1<TAB>what
<TAB>why" when not (the calling test turns them into TAP).
"""
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request

path, prom = sys.argv[1], sys.argv[2]
KNOWN_TYPES = {"timeseries", "stat", "heatmap", "gauge", "table",
               "bargauge", "text", "row"}
BUILTIN = {"__rate_interval", "__interval", "__range"}


def tap(good, what, why=""):
    why = " | ".join(str(why).splitlines())
    print(f"0\t{what}" if good else f"1\t{what}\t{why}")


def query(expr):
    expr = expr.replace("$instance", ".*").replace("$__rate_interval", "1m")
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


d = json.load(open(path))
variables = {v["name"] for v in d.get("templating", {}).get("list", [])}
problems = []
if not d.get("title") or not d.get("uid"):
    problems.append("no title or uid")
ids = [p.get("id") for p in d["panels"]]
if len(set(ids)) != len(ids) or None in ids:
    problems.append(f"panel ids not unique: {ids}")
exprs = []
for p in d["panels"]:
    name = p.get("title", "?")
    if p.get("type") not in KNOWN_TYPES:
        problems.append(f"{name}: unknown type {p.get('type')}")
    g = p.get("gridPos", {})
    if not all(isinstance(g.get(k), int) for k in "xywh") or \
            g["x"] + g["w"] > 24:
        problems.append(f"{name}: bad gridPos {g}")
    if "datasource" not in p:
        problems.append(f"{name}: no datasource")
    refs = [t.get("refId") for t in p.get("targets", [])]
    if len(set(refs)) != len(refs) or not refs:
        problems.append(f"{name}: refIds {refs}")
    for t in p.get("targets", []):
        if not t.get("expr") or "datasource" not in t:
            problems.append(f"{name}: target without expr or datasource")
            continue
        for v in re.findall(r"\$(\w+)", t["expr"]):
            if v not in variables and v not in BUILTIN:
                problems.append(f"{name}: undefined variable ${v}")
        exprs.append((name, t["expr"]))
tap(not problems, f"the dashboard has the keys Grafana reads "
    f"({len(d['panels'])} panels)", "\n".join(problems))
deadline = time.monotonic() + float(os.environ.get("P11B_HANG", "60"))
for name, expr in exprs:
    while True:
        try:
            r = query(expr)
            good = r.get("status") == "success" and r["data"]["result"]
            why = json.dumps(r)[:300]
        except Exception as e:          # a 400 for a query it rejects
            good, why = False, e
        if good or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    tap(good, f"dashboard panel \"{name}\": Prometheus answers its query "
        "with data", f"{expr}\n{why}")
