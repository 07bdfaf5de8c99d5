#!/bin/sh
# The tree's layout rules over #include lines (tests/structure/layout.py).
exec python3 "${top_srcdir:-$(dirname "$0")/../..}/tests/structure/layout.py" \
    "${top_srcdir:-$(dirname "$0")/../..}"
