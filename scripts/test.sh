#!/usr/bin/env bash
# The project's test command: sets up and builds (scripts/setup.sh with the profiles the chosen
# labels need), then runs every test suite with ctest. Exits non-zero on any failure. Tests that
# need root (BPF, network namespaces) run as root; CI runs this as root.
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         only a label (unit, bpf, e2e, ...), any ctest arguments
set -euo pipefail
cd "$(dirname "$0")/.."

# Install what the chosen labels need (scripts/setup.sh profiles). Without -L, or with another
# test selection (-R, -E, -LE, -I) or a label not listed here, everything: CI runs this plainly
# and must get every package.
declare -A LABEL_PROFILES=(
  [unit]="test,deploy" # the deploy.* chart checks carry the unit label
  [e2e]="test,bench"   # e2e.bench_smoke runs scripts/bench.sh (wrk, haproxy)
  [bpf]="core" [fuzz]="test" [faults]="test" [style]="test" [docs]="test" [deploy]="test,deploy"
  [root]="all"
)
profiles=""
selection_by_label=0
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  label=""
  case "${args[i]}" in
    -LE* | -R* | -E* | -I* | --label-exclude* | --tests-regex* | --exclude-regex* | --tests-information*)
      profiles=all ;;
    -L | --label-regex) label=${args[i + 1]:-}; i=$((i + 1)) ;;
    -L*) label=${args[i]#-L} ;;
    --label-regex=*) label=${args[i]#--label-regex=} ;;
  esac
  [[ -z $label || $profiles == all ]] && continue
  selection_by_label=1
  IFS='|' read -r -a names <<<"$label"
  for name in "${names[@]}"; do
    if [[ -n "${LABEL_PROFILES[$name]+x}" ]]; then
      profiles+=${profiles:+,}${LABEL_PROFILES[$name]}
    else
      profiles=all
      break
    fi
  done
done
((selection_by_label)) || profiles=all
scripts/setup.sh --profile "$profiles"

if [[ $(id -u) -ne 0 ]]; then
  echo "test: not root: tests labelled 'root' are skipped (BPF and network namespaces need root)" >&2
else
  # As root a test that cannot set up its namespaces or load its programs fails, never skips.
  export DFAAS_TESTS_REQUIRE_ROOT=1
  # Namespaces and processes of runs killed before they could clean up would clash with ours.
  scripts/lib/reap_stale.sh
fi

# One test per core: the unit, BPF, fuzz, deploy and style suites run side by side; the e2e tests
# (namespaces, reaction times, rates) are RUN_SERIAL and run alone (tests/e2e/CMakeLists.txt).
# An explicit -j/--parallel among the arguments wins.
jobs=(-j"$(nproc)")
for arg in "$@"; do
  case $arg in -j* | --parallel*) jobs=() ;; esac
done
cd build
ctest --output-on-failure --timeout 900 "${jobs[@]}" "$@"
