#!/usr/bin/env bash
# The project's test command: sets up and builds (scripts/setup.sh), then runs every test suite
# with ctest. Exits non-zero on any failure. Tests that need root (BPF, network namespaces) run
# as root; CI runs this as root.
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         only a label (unit, bpf, e2e, ...), any ctest arguments
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

if [[ $(id -u) -ne 0 ]]; then
  echo "test: not root: tests labelled 'root' are skipped (BPF and network namespaces need root)" >&2
else
  # As root a test that cannot set up its namespaces or load its programs fails, never skips.
  export DFAAS_TESTS_REQUIRE_ROOT=1
  # Namespaces and processes of runs killed before they could clean up would clash with ours.
  scripts/lib/reap_stale.sh
fi

cd build
ctest --output-on-failure --timeout 900 "$@"
