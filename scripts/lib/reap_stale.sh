#!/usr/bin/env bash
# Removes what earlier test or benchmark runs left behind when they were killed with SIGKILL
# (a CTest timeout, an OOM kill) and their cleanup trap never ran: for every /run/dfaas-<id>
# whose owner.pid names a process that no longer exists, the processes in its namespaces are
# killed, the namespaces df-<id>-* deleted, its bpffs unmounted and the directory removed.
# Runs that are alive, and the lab (no owner.pid; `scripts/lab.sh down` removes it), are left
# alone. Prints one line per run it removes.
set -uo pipefail

reap_run() {
  local dir=$1 id=${1#/run/dfaas-} ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^df-$id-"); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  # Processes started outside the namespaces (a Prometheus on loopback) still name the run.
  pkill -9 -f -- "/run/dfaas-$id/" 2>/dev/null
  if mountpoint -q "$dir/bpf" 2>/dev/null; then umount "$dir/bpf"; fi
  rm -rf "$dir"
  echo "reap_stale: removed the leftovers of dead run $id"
}

for dir in /run/dfaas-*; do
  [[ -f "$dir/owner.pid" ]] || continue
  owner=$(<"$dir/owner.pid")
  [[ "$owner" =~ ^[0-9]+$ ]] || continue
  kill -0 "$owner" 2>/dev/null && continue
  reap_run "$dir"
done
exit 0
