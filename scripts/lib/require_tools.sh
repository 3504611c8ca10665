#!/usr/bin/env bash
# A test whose tools are missing: in CI (CI set, or DFAAS_TESTS_REQUIRE_ROOT=1 as scripts/test.sh
# exports as root) it fails, since CI installs every profile and a missing tool is a broken
# set-up; elsewhere it is skipped (exit 77, ctest's SKIP_RETURN_CODE) with a message naming the
# setup profile that installs the tools.
#
#   source scripts/lib/require_tools.sh; require_tools PROFILE TOOL...   (exits when one is missing)
#   scripts/lib/require_tools.sh PROFILE TOOL...                          (exit 0, 1 or 77; for
#                                                                          tests not written in bash)
# PROFILE is a scripts/setup.sh profile: core, test, bench or deploy.

# Prints what is missing and returns 0 (all present), 1 (missing, must fail) or 77 (skip).
require_tools_status() {
  local profile=$1 tool missing=()
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  ((${#missing[@]} == 0)) && return 0
  local what="${missing[*]} not installed (scripts/setup.sh --profile $profile installs it)"
  if [[ -n "${CI:-}" || "${DFAAS_TESTS_REQUIRE_ROOT:-}" == 1 ]]; then
    echo "FAIL: $what" >&2
    return 1
  fi
  echo "skipped: $what" >&2
  return 77
}

require_tools() {
  local rc=0
  require_tools_status "$@" || rc=$?
  ((rc == 0)) || exit "$rc"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  if (($# < 2)); then
    echo "usage: $0 PROFILE TOOL..." >&2
    exit 2
  fi
  require_tools_status "$@"
fi
