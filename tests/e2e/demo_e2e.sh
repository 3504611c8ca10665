#!/usr/bin/env bash
# The main job, shortened: `scripts/demo.sh --quick` (15 s of load per strategy) on its own lab.
# Asserts what the demo is there to show, on the same offered load:
#   both runs offered the same number of requests;
#   All-Local serves everything on node A and loses the excess (success well under 100 %);
#   Recalc raises the HTTP 200 ratio over All-Local by at least 10 points, with requests
#   served by nodes B and C; half of the load called figlet by name through A's entry port
#   (http://NODE:30080/function/figlet), some of it offloaded from there;
#   the table, summary.json and the PNG plot are written; nothing of the lab is left.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
export DFAAS_LAB_ID="dm$(($$ % 100000))"
OUT=$(mktemp -d /tmp/dfaas-demo-test.XXXXXX)
trap '"$ROOT/scripts/lab.sh" down >/dev/null 2>&1 || true; rm -rf "$OUT"' EXIT

if [[ $(id -u) -ne 0 ]]; then
  [[ -n "${DFAAS_TESTS_REQUIRE_ROOT:-}" ]] && { echo "FAIL: needs root" >&2; exit 1; }
  echo "skipped: needs root (network namespaces, eBPF)"
  exit 77
fi

"$ROOT/scripts/demo.sh" --quick --out "$OUT"

python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
s = json.load(open(f"{out}/summary.json"))
local, recalc = s["alllocal"], s["recalc"]
failures = 0
def check(what, ok):
    global failures
    print(("ok   - " if ok else "FAIL - ") + what)
    failures += not ok
check(f"same offered load ({local['requests']} and {recalc['requests']} requests)",
      local["requests"] == recalc["requests"] > 0)
check(f"All-Local: only node A serves ({local['served_by']})",
      set(k for k, v in local["served_by"].items() if v) == {"node-a"})
check(f"All-Local loses the excess ({100 * local['http_200_ratio']:.1f} % HTTP 200)",
      local["http_200_ratio"] < 0.9)
check(f"Recalc raises the success ratio by 10 points or more "
      f"({100 * local['http_200_ratio']:.1f} % -> {100 * recalc['http_200_ratio']:.1f} %)",
      recalc["http_200_ratio"] >= local["http_200_ratio"] + 0.10)
check(f"Recalc offloads to B and C ({recalc['served_by']})",
      recalc["served_by"].get("node-b", 0) > 0 and recalc["served_by"].get("node-c", 0) > 0)
entry = recalc.get("entry_connections", {})
check(f"half the load called figlet by name through A's entry port, some of it offloaded ({entry})",
      sum(entry.values()) >= 0.45 * recalc["requests"] and
      any(v > 0 for k, v in entry.items() if k not in ("local", "reject")))
check("table and plot written",
      os.path.getsize(f"{out}/summary.txt") > 0 and os.path.getsize(f"{out}/demo.png") > 1000)
sys.exit(1 if failures else 0)
PY
left=$(ip netns list | awk '{print $1}' | grep "^df-$DFAAS_LAB_ID-" || true)
if [[ -n $left || -e /run/dfaas-$DFAAS_LAB_ID ]]; then
  echo "FAIL - the demo left its lab behind: $left"
  exit 1
fi
echo "ok   - nothing of the demo's lab is left"
