#!/bin/sh
# Runs one libFuzzer binary for a bounded time: run_fuzz.sh <default seconds> <binary> <args...>.
# DFAAS_FUZZ_SECONDS in the environment overrides the default (longer campaigns without
# reconfiguring: DFAAS_FUZZ_SECONDS=600 scripts/test.sh -L fuzz).
set -eu
seconds=${DFAAS_FUZZ_SECONDS:-$1}
binary=$2
shift 2
case $seconds in
  '' | *[!0-9]*) echo "run_fuzz: DFAAS_FUZZ_SECONDS must be a whole number of seconds, got '$seconds'" >&2; exit 2 ;;
esac
exec "$binary" -max_total_time="$seconds" "$@"
