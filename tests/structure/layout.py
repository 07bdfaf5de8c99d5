#!/usr/bin/env python3
"""The tree's layout rules (issue #11), checked over #include lines.

A module is a .c file with its .h (and its private foo_int.h).  Among the daemon's modules (brokerd/,
proto/, policy/, sandbox/) no include cycle; the public client headers are
included there only by proto/wire.h (which serves the public API's own
types); token.h only under brokerd/signer/; sandbox/ and the token layer
never include the config language (policy/config.h).  Prints TAP.
"""
import os
import re
import sys

top = sys.argv[1] if len(sys.argv) > 1 else "."
DAEMON = ("brokerd", "proto", "policy", "sandbox")
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

files = {}
for root in DAEMON + ("client",):
    for d, _, names in os.walk(os.path.join(top, root)):
        for n in names:
            if n.endswith((".c", ".h")):
                p = os.path.relpath(os.path.join(d, n), top)
                files[p] = INC.findall(open(os.path.join(top, p),
                                            errors="replace").read())

by_name = {}
for p in files:
    by_name.setdefault(os.path.basename(p), []).append(p)


def resolve(src, name):
    """The file an include names: beside src first, then by base name."""
    here = os.path.normpath(os.path.join(os.path.dirname(src), name))
    if here in files:
        return here
    cands = by_name.get(os.path.basename(name), [])
    return cands[0] if len(cands) == 1 else None


def module(p):
    """foo.c, foo.h and foo's private header foo_int.h are one module."""
    m = os.path.splitext(p)[0]
    return m[:-len("_int")] if m.endswith("_int") else m


def daemon(p):
    return p.split("/")[0] in DAEMON


edges = {}
includes = []
for src, incs in files.items():
    for name in incs:
        dst = resolve(src, name)
        if dst is None:
            continue
        includes.append((src, dst))
        a, b = module(src), module(dst)
        if a != b and daemon(src) and daemon(dst):
            edges.setdefault(a, set()).add(b)

# Tarjan's strongly connected components: a component of more than one
# module is a cycle.
index, low, stack, on, sccs = {}, {}, [], set(), []


def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on.add(v)
    for w in sorted(edges.get(v, ())):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


sys.setrecursionlimit(10000)
for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
    if v not in index:
        visit(v)

checks = []
checks.append((not sccs, "no include cycle among the daemon's modules",
               ["cycle: " + " <-> ".join(c) for c in sccs]))
bad = [f"{s} includes {d}" for s, d in includes
       if daemon(s) and d.startswith("client/") and s != "proto/wire.h"]
checks.append((not bad, "client/ headers reach the daemon only through "
               "proto/wire.h", bad))
bad = [f"{s} includes {d}" for s, d in includes
       if d.endswith("/token.h") and not s.startswith("brokerd/signer/")]
checks.append((not bad, "token.h is included only under brokerd/signer/",
               bad))
inc_of = {}
for s, d in includes:
    inc_of.setdefault(s, set()).add(d)


def reaches(src, target):
    """The include chain from src to target, or None."""
    seen, todo = {src: None}, [src]
    while todo:
        f = todo.pop()
        for d in sorted(inc_of.get(f, ())):
            if d not in seen:
                seen[d] = f
                todo.append(d)
    if target not in seen:
        return None
    chain, f = [], target
    while f is not None:
        chain.append(f)
        f = seen[f]
    return " -> ".join(reversed(chain))


bad = [c for c in (reaches(f, "policy/config.h") for f in sorted(files)
                   if f.startswith(("sandbox/", "brokerd/signer/token/")))
       if c]
checks.append((not bad, "sandbox/ and signer/token/ do not include "
               "policy/config.h, even through another header", bad))
bad = [f"{s} includes {d}" for s, d in includes
       if s.startswith("brokerd/front/") and
       (d.startswith("brokerd/signer/") or d.startswith("brokerd/monitor/"))]
checks.append((not bad, "the front includes nothing of the signer or the "
               "monitor", bad))

print(f"1..{len(checks)}")
failed = 0
for i, (good, what, why) in enumerate(checks, 1):
    print(f"{'ok' if good else 'not ok'} {i} - {what}")
    for line in why:
        print(f"# {line}")
    failed += not good
sys.exit(1 if failed else 0)
