#!/usr/bin/env bash
# The fault-injection suite's short profile (scripts/faults.sh --quick) as a test: a 2-node lab
# under constant load, every fault injected once. The suite's own verdict holds every target of
# issue 14 (0 failed requests everywhere); some are not met yet (docs/security.md, "Known
# misses"), so this test fails on what this version guarantees instead:
#   - one row per fault with real figures (a suite that stops measuring cannot pass);
#   - no agent exits that the suite did not cause, and every agent's peak RSS < 64 MiB;
#   - hostile bodies refused before they are read (415/411/413 on both ports);
#   - 0 resets and 0 failures of the 1,000 established keep-alive connections during the flood;
#   - no request timed out while client ports were reused across the nodes (tuple-reuse: node
#     b's gateway sees one client tuple from its own users and from a's forwarded ones; before
#     the fix 16 of about 140 forwarded requests timed out there). A live connection on the
#     tuple is a real collision, refused with an RST (counted, rare): not gated;
#   - node b's agent and gateway killed: a's new connections recover before b's TTL (its data
#     plane answers a's forwarded SYNs with RSTs, which a's failure detector acts on);
#   - node b's gateway answering 503 to figlet (peer-503): node a installs a figlet policy
#     without b's weight (no new connection to b) in under 2.5 s (the agent's feedback guard: 2
#     control ticks + detection; from a's event log);
#   - node a stays ready with 40 members; with 300 functions it serves the 256 it keeps (its
#     readiness probe, 1 s timeout, missed 2 of 9 in one run: a known miss, docs/security.md).
# Failed requests per fault are printed (the table) but not gated: on this 2-core VM the load
# alone fails a few requests in some runs (docs/security.md).
# Results stay in build/faults-e2e (or $DFAAS_FAULTS_OUT).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
[[ -n "${DFAAS_BIN:-}" ]] && export DFAAS_BIN

if [[ $(id -u) -ne 0 ]]; then
  [[ -n "${DFAAS_TESTS_REQUIRE_ROOT:-}" ]] && { echo "FAIL: needs root" >&2; exit 1; }
  echo "skipped: needs root (network namespaces, eBPF)"
  exit 77
fi

# Kept after the run (the figures and the per-fault reports are what a failure is read from).
out="${DFAAS_FAULTS_OUT:-$(dirname "${DFAAS_BIN:-$ROOT/build/bin}")/faults-e2e}"
rm -rf "$out"
mkdir -p "$out"
rc=0
"$ROOT/scripts/faults.sh" --quick --out "$out" || rc=$?
echo "faults.sh exit status $rc (1 = some fault missed an issue-14 target; see the table)"
python3 - "$out/faults.json" "$("$ROOT/scripts/faults.sh" --list | wc -l)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = {r["name"]: r for r in d["faults"]}
expected = int(sys.argv[2])
problems = []
if len(rows) != expected:
    problems.append(f"{len(rows)} rows for {expected} faults")
for name, r in rows.items():
    if r.get("skipped"):
        problems.append(f"{name}: skipped ({r['skipped']})")
        continue
    for key in ("failed", "resets", "peak_rss_mib", "verdict"):
        if key not in r:
            problems.append(f"{name}: no {key}")
    if not r.get("peak_rss_mib", 0) > 0:
        problems.append(f"{name}: no agent RSS was measured")
    if sum(s["requests"] for s in r.get("streams", {}).values()) <= 0:
        problems.append(f"{name}: no load ran")
    if r.get("unexpected_exits"):
        problems.append(f"{name}: agents exited: {r['unexpected_exits']}")
    if r.get("peak_rss_mib", 0) >= d["rss_limit_mib"]:
        problems.append(f"{name}: peak RSS {r['peak_rss_mib']} MiB >= {d['rss_limit_mib']} MiB")
notes = " ".join(rows.get("members", {}).get("notes", []))
if "readiness probes failed: 0 of" not in notes:
    problems.append(f"members: node a did not stay ready ({notes[:300]})")
notes = " ".join(rows.get("functions", {}).get("notes", []))
for want in ("lists 256 functions", "answers 200"):
    if want not in notes:
        problems.append(f"functions: no '{want}' ({notes[:300]})")
bodies = " ".join(rows.get("bodies", {}).get("notes", []))
for answer in ("30090 gzip: HTTP 415", "30090 chunked: HTTP 411", "30090 oversized: HTTP 413",
               "9080 gzip: HTTP 415", "9080 chunked: HTTP 411", "9080 oversized: HTTP 413"):
    if answer not in bodies:
        problems.append(f"bodies: no '{answer}' in the notes")
reuse = rows.get("tuple-reuse", {})
timeouts = sum(st.get("errors", {}).get("timeout", 0) for st in reuse.get("streams", {}).values())
if timeouts:
    problems.append(f"tuple-reuse: {timeouts} requests timed out (a reused client tuple)")
ka = rows.get("synflood", {}).get("extras", {}).get("keepalive", {})
if ka.get("connections", 0) < 1000 or ka.get("reset", 1) or ka.get("failed", 1):
    problems.append(f"synflood: established keep-alive connections {ka}")
# Node b's agent and gateway killed, its data plane left steering to the dead gateway: a's new
# connections must recover before b's membership TTL (1.2 x the 2 s period) could have removed
# it. Only the data plane's RST answers show it that early (a's failure detector).
down = rows.get("node-down", {})
if down.get("recovery_s") is None or down["recovery_s"] >= 2.4:
    problems.append(f"node-down: stream a recovered after {down.get('recovery_s')} s (TTL 2.4 s)")
# A peer whose gateway answers 503: the feedback guard takes b's weight away after 2 failing
# control ticks of 1 s; the suite reads when from a's event log (extras.detection).
p503 = rows.get("peer-503", {})
if p503.get("recovery_s") is None or p503["recovery_s"] >= 2.5:
    detection = p503.get("extras", {}).get("detection", {})
    took = p503.get("recovery_s")
    problems.append(f"peer-503: node a took b's weight away "
                    f"{'never' if took is None else f'after {took} s'}, not below 2.5 s "
                    f"({detection.get('problems')})")
for name, r in rows.items():
    print(f"{name:12} failed={r.get('failed')} resets={r.get('resets')} "
          f"rss={r.get('peak_rss_mib')} MiB verdict={r.get('verdict')}")
if problems:
    print("FAIL:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"faults.json: {len(rows)} rows; the guarantees of this version hold")
PY
test -s "$out/faults.md"
