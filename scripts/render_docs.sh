#!/usr/bin/env bash
# Re-renders the pictures of docs/ from the sources committed next to them:
#   docs/img/architecture.svg   from docs/img/architecture.dot (graphviz dot; docs/architecture.md)
#   docs/img/bench-*.png        from the newest docs/data/bench-<date>.csv through
#                               scripts/bench.sh --report (docs/benchmarks.md)
# tests/docs/diagram_test.sh fails when architecture.svg is not what architecture.dot renders.
# Usage: scripts/render_docs.sh [--diagrams | --bench]   (default: both)
# Needs graphviz (dot) for the diagram and gnuplot for the plots (scripts/setup.sh --profile bench).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
die() {
  echo "render_docs: $*" >&2
  exit 2
}

DO_DIAGRAMS=1 DO_BENCH=1
case ${1:-} in
  "") ;;
  --diagrams) DO_BENCH=0 ;;
  --bench) DO_DIAGRAMS=0 ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' && exit 0 ;;
  *) die "unknown argument '$1' (--diagrams, --bench or nothing)" ;;
esac

if ((DO_DIAGRAMS)); then
  command -v dot >/dev/null || die "graphviz is not installed (apt-get install graphviz)"
  for src in "$ROOT"/docs/img/*.dot; do
    [[ -e $src ]] || continue
    # Rendered from the source's own directory and name, so the SVG does not depend on where
    # the checkout lives.
    (cd "$(dirname "$src")" && dot -Tsvg "$(basename "$src")" -o "$(basename "$src" .dot).svg.new")
    mv "${src%.dot}.svg.new" "${src%.dot}.svg"
    rel=${src#"$ROOT"/}
    echo "render_docs: $rel -> ${rel%.dot}.svg"
  done
fi

if ((DO_BENCH)); then
  csv=$(find "$ROOT/docs/data" -maxdepth 1 -name 'bench-*.csv' 2>/dev/null | sort | tail -1)
  [[ -n $csv ]] || die "no docs/data/bench-*.csv to plot"
  "$ROOT/scripts/bench.sh" --report "$csv" --out "$ROOT/docs/img"
fi
