#!/usr/bin/env bash
# scripts/bench.sh --report: from a small run directory (tests/fixtures/bench/run, the outputs of
# a real `scripts/bench.sh --smoke --rounds 2` run) it writes results.csv with the median, min and
# max of every figure (checked against python3's statistics over the same files) and draws
# every plot; from docs/data/bench-*.csv it draws the plots docs/benchmarks.md shows; a run
# without BPF figures draws the others; bad inputs are refused with a message and exit 2.
# Exit 77 (skipped) when gnuplot is missing, except in CI (CI or DFAAS_TESTS_REQUIRE_ROOT=1).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bench="$repo/scripts/bench.sh"
fixture="$repo/tests/fixtures/bench/run"

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
ok() { echo "ok   - $*"; }

if ! command -v gnuplot >/dev/null 2>&1; then
  if [[ -n ${CI:-} || ${DFAAS_TESTS_REQUIRE_ROOT:-} == 1 ]]; then
    echo "FAIL: gnuplot is not installed: CI must install it (scripts/setup.sh)" >&2
    exit 1
  fi
  echo "gnuplot is not installed: skipped (scripts/setup.sh installs it)" >&2
  exit 77
fi
command -v python3 >/dev/null || {
  echo "FAIL: python3 is needed to check the figures" >&2
  exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# png_ok FILE: a PNG of at least 600x300 pixels (signature, IHDR width and height).
png_ok() {
  local h
  h=$(od -An -tx1 -N24 "$1" | tr -d ' \n')
  [[ ${h:0:16} == 89504e470d0a1a0a && ${h:24:8} == 49484452 ]] || return 1
  ((16#${h:32:8} >= 600 && 16#${h:40:8} >= 300))
}

# plots_ok DIR WHAT NAME...: every plot NAME in DIR is a non-empty PNG.
plots_ok() {
  local dir=$1 what=$2 name bad=0
  shift 2
  for name in "$@"; do
    if [[ ! -s $dir/$name ]]; then
      fail "$what: $name is missing or empty"
      bad=1
    elif ! png_ok "$dir/$name"; then
      fail "$what: $name is not a PNG of a readable size"
      bad=1
    fi
  done
  ((bad)) || ok "$what: $* drawn"
}

ALL=(bench-throughput.png bench-latency.png bench-bpf.png)

# ---- a run directory -------------------------------------------------------------------------
cp -r "$fixture" "$tmp/run"
if "$bench" --report "$tmp/run" >"$tmp/out.txt" 2>&1; then
  plots_ok "$tmp/run" "run directory" "${ALL[@]}"
else
  fail "bench.sh --report on the fixture run exited $?: $(cat "$tmp/out.txt")"
fi

# results.csv against an independent computation over the same inputs.
if [[ -s $tmp/run/results.csv ]]; then
  if python3 - "$tmp/run" >"$tmp/check.txt" 2>&1 <<'PY'; then
import csv, json, statistics, sys
run = sys.argv[1]
expected = {}
with open(f"{run}/measurements.tsv") as f:
    rows = list(csv.DictReader(f, delimiter="\t"))
groups = {}
for r in rows:
    section = {"wrk": "closed", "loadgen": "open"}[r["tool"]]
    for metric in ("req_per_s", "p50_us", "p99_us"):
        groups.setdefault((section, r["scenario"], r["mode"], metric), []).append(float(r[metric]))
with open(f"{run}/raw/bpf.json") as f:
    for b in json.load(f)["benchmarks"]:
        if b.get("run_type") == "iteration":
            assert b["time_unit"] == "ns"
            name = b["run_name"].removesuffix("/manual_time")
            groups.setdefault(("bpf", name, "", "ns_per_packet"), []).append(float(b["real_time"]))
for key, values in groups.items():
    expected[key] = (statistics.median(values), min(values), max(values), len(values))
got = {}
with open(f"{run}/results.csv") as f:
    lines = [l for l in f if not l.startswith("#")]
for r in csv.DictReader(lines):
    got[(r["section"], r["name"], r["mode"], r["metric"])] = (
        float(r["median"]), float(r["min"]), float(r["max"]), int(r["samples"]))
problems = []
for key in sorted(set(expected) | set(got)):
    if key not in got:
        problems.append(f"missing row {key}")
    elif key not in expected:
        problems.append(f"unexpected row {key}")
    else:
        e, g = expected[key], got[key]
        if g[3] != e[3] or any(abs(a - b) > 1e-5 * max(1.0, abs(b)) for a, b in zip(g[:3], e[:3])):
            problems.append(f"{key}: got {g}, expected {e}")
if problems:
    print("\n".join(problems[:20]))
    sys.exit(1)
samples = sorted({v[3] for v in expected.values()})
print(f"{len(expected)} rows, samples per figure {samples}")
PY
    ok "results.csv: medians, min, max and counts as computed by python3 ($(cat "$tmp/check.txt"))"
  else
    fail "results.csv differs from the figures of the run: $(cat "$tmp/check.txt")"
  fi
  grep -q '^# run: run (' "$tmp/run/results.csv" ||
    fail "results.csv has no '# run:' line from raw/machine.txt"
else
  fail "bench.sh --report wrote no results.csv"
fi

# ---- a run without BPF figures: the others are drawn, the BPF plot is reported missing ----------
cp -r "$fixture" "$tmp/nobpf"
rm "$tmp/nobpf/raw/bpf.json"
if "$bench" --report "$tmp/nobpf" >"$tmp/out.txt" 2>&1; then
  plots_ok "$tmp/nobpf" "run without BPF figures" bench-throughput.png bench-latency.png
  [[ ! -e $tmp/nobpf/bench-bpf.png ]] || fail "a BPF plot was drawn from no BPF figures"
  grep -q 'no BPF figures' "$tmp/out.txt" || fail "no message about the missing BPF figures: $(cat "$tmp/out.txt")"
else
  fail "bench.sh --report on a run without BPF figures exited $?: $(cat "$tmp/out.txt")"
fi

# ---- the figures of docs/benchmarks.md --------------------------------------------------------
docs_csv=$(find "$repo/docs/data" -maxdepth 1 -name 'bench-*.csv' | sort | tail -1)
if [[ -z $docs_csv ]]; then
  fail "no docs/data/bench-*.csv"
else
  grep -q '^# run: ' "$docs_csv" || fail "${docs_csv#"$repo"/} does not say which run it comes from ('# run:')"
  if "$bench" --report "$docs_csv" --out "$tmp/docs" >"$tmp/out.txt" 2>&1; then
    plots_ok "$tmp/docs" "${docs_csv#"$repo"/}" "${ALL[@]}"
  else
    fail "bench.sh --report ${docs_csv#"$repo"/} exited $?: $(cat "$tmp/out.txt")"
  fi
  for name in "${ALL[@]}"; do
    grep -q "](img/$name)" "$repo/docs/benchmarks.md" || fail "docs/benchmarks.md does not show img/$name"
    [[ -s $repo/docs/img/$name ]] || fail "docs/img/$name is not committed (scripts/render_docs.sh --bench)"
  done
fi

# ---- bad inputs ---------------------------------------------------------------------------------
mkdir -p "$tmp/empty"
"$bench" --report "$tmp/empty" >"$tmp/out.txt" 2>&1
rc=$?
if [[ $rc == 2 ]] && grep -q 'neither measurements.tsv nor results.csv' "$tmp/out.txt"; then
  ok "an empty directory is refused (exit 2: $(head -1 "$tmp/out.txt"))"
else
  fail "an empty directory: exit $rc, $(cat "$tmp/out.txt")"
fi
printf 'a,b,c\n1,2,3\n' >"$tmp/other.csv"
"$bench" --report "$tmp/other.csv" >"$tmp/out.txt" 2>&1
rc=$?
if [[ $rc == 2 ]] && grep -q 'is not a results CSV' "$tmp/out.txt"; then
  ok "a CSV of another kind is refused (exit 2)"
else
  fail "a CSV of another kind: exit $rc, $(cat "$tmp/out.txt")"
fi
"$bench" --report "$tmp/does-not-exist" >"$tmp/out.txt" 2>&1
rc=$?
if [[ $rc == 2 ]] && grep -q 'does not exist' "$tmp/out.txt"; then
  ok "a missing path is refused (exit 2)"
else
  fail "a missing path: exit $rc, $(cat "$tmp/out.txt")"
fi

((failures == 0)) || exit 1
echo "bench report: all checks passed"
