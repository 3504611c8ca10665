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
exit $((failures > 0))
