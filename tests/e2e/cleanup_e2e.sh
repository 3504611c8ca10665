#!/usr/bin/env bash
# The end-to-end harness cleans up after a failure: run the data-plane test set to fail midway,
# then check that no namespace, mount, pin or process of it is left.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
id="cl$$"
E2E_ID=$id E2E_FAIL_AT=forward "$here/dataplane_e2e.sh" >/dev/null 2>&1
rc=$?
failures=0
check() { if eval "$2"; then echo "ok   - $1"; else echo "FAIL - $1"; failures=$((failures + 1)); fi; }
check "the run failed as asked (exit $rc)" '[ $rc -ne 0 ]'
namespaces=$(ip netns list)
links=$(ip link show)
check "no namespace left" '! grep -q "df-$id" <<<"$namespaces"'
check "no bpffs mount left" '! grep -q "/run/dfaas-$id" /proc/mounts'
check "no run directory left" '[ ! -e /run/dfaas-$id ]'
check "no simulator left" '! pgrep -f "dfaas-faas-sim.*/run/dfaas-$id/" >/dev/null'
check "no veth left in the root namespace" '! grep -q "v-$id" <<<"$links"'

# A script's own teardown registered in E2E_CLEANUP_HOOKS (bench.sh's agent lab, the deploy test's
# mount) runs when the script fails under `set -e`, and the namespaces still go after it.
hook_id="ch$$" marker=$(mktemp)
E2E_ID=$hook_id MARKER=$marker bash -c '
  source "$1/scripts/lib/netns.sh"
  own_teardown() { echo ran >"$MARKER"; }
  E2E_CLEANUP_HOOKS+=(own_teardown)
  e2e_netns x
  false
  echo "not reached"' _ "$(cd "$here/../.." && pwd)" >/dev/null 2>&1
rc=$?
check "the hooked run failed (exit $rc)" '[ $rc -ne 0 ]'
check "its cleanup hook ran" '[ "$(cat "$marker")" = ran ]'
check "its namespace is gone" '! ip netns list | grep -q "df-$hook_id"'
check "its run directory is gone" '[ ! -e /run/dfaas-$hook_id ]'
rm -f "$marker"
exit $((failures > 0))
