# Helpers for emulated nodes in network namespaces, shared by the end-to-end tests, the
# benchmarks and the lab. Source it; it installs a cleanup trap that removes every namespace,
# mount and process the script made, also when it fails (set E2E_KEEP=1 to skip the trap, as
# `lab.sh up` does, which removes its namespaces with `lab.sh down`).
#
# Topology: a "switch" namespace holding a bridge, and one namespace per host, each joined to
# the bridge by a veth pair (eth0 inside the host). Nothing is created in the root namespace
# except the namespaces themselves and one bpffs mount under /run, so traffic only ever flows
# between namespaces the script made.

set -euo pipefail

E2E_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
E2E_BIN="${DFAAS_BIN:-$E2E_ROOT/build/bin}"
E2E_ID="${E2E_ID:-e2e$$}"
# veth names are limited to 15 characters: "v-<id>-<num>"
[[ ${#E2E_ID} -le 9 ]] || { echo "E2E_ID too long (max 9): $E2E_ID" >&2; exit 2; }
E2E_PREFIX="df-${E2E_ID}"
E2E_RUN="/run/dfaas-${E2E_ID}"
E2E_SUBNET="10.77.0"
E2E_NAMESPACES=()
E2E_PIDS=()
# Functions the cleanup calls first (a script's own teardown: a lab it started, a mount). A script
# adds to this list instead of wrapping the trap: a wrapper that replays the exit status with
# `(exit "$rc")` stops right there under `set -e` when the status is not 0, and the namespaces and
# processes of a failed run are left behind.
E2E_CLEANUP_HOOKS=()
E2E_FAILURES=0

mkdir -p "$E2E_RUN"
E2E_LOGS="$E2E_RUN/logs"
mkdir -p "$E2E_LOGS"
# Who owns this run: a run killed with SIGKILL (a CTest timeout) cannot clean up after itself;
# scripts/lib/reap_stale.sh removes the runs whose owner is gone (the lab keeps no owner).
if [[ -z "${E2E_KEEP:-}" ]]; then echo $$ >"$E2E_RUN/owner.pid"; fi

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

e2e_cleanup() {
  local rc=$? hook
  set +e
  for hook in "${E2E_CLEANUP_HOOKS[@]}"; do "$hook"; done
  for pid in "${E2E_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${E2E_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in "${E2E_NAMESPACES[@]}"; do
    # Anything still running inside (a crashed test's children) goes with the namespace.
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  if mountpoint -q "$E2E_RUN/bpf" 2>/dev/null; then umount "$E2E_RUN/bpf"; fi
  if ((rc != 0)) && [[ -d "$E2E_LOGS" ]]; then
    for f in "$E2E_LOGS"/*.log; do
      [[ -s "$f" ]] || continue
      echo "---- $(basename "$f") (last 20 lines)" >&2
      tail -n 20 "$f" >&2
    done
  fi
  rm -rf "$E2E_RUN"
  exit "$rc"
}
if [[ -z "${E2E_KEEP:-}" ]]; then
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
fi

# e2e_netns NAME: creates namespace $E2E_PREFIX-NAME with loopback up.
e2e_netns() {
  local ns="$E2E_PREFIX-$1"
  ip netns add "$ns"
  E2E_NAMESPACES+=("$ns")
  ip -n "$ns" link set lo up
}

ns_of() { echo "$E2E_PREFIX-$1"; }
in_ns() { local ns; ns=$(ns_of "$1"); shift; ip netns exec "$ns" "$@"; }

# e2e_switch: the bridge every host attaches to.
e2e_switch() {
  e2e_netns sw
  ip -n "$(ns_of sw)" link add br0 type bridge
  ip -n "$(ns_of sw)" link set br0 up
}

# e2e_host NAME HOSTNUM: a host at $E2E_SUBNET.HOSTNUM/24 with eth0 on the bridge.
e2e_host() {
  local name=$1 num=$2 ns
  e2e_netns "$name"
  ns=$(ns_of "$name")
  ip link add "v-$E2E_ID-$num" type veth peer name eth0 netns "$ns"
  ip link set "v-$E2E_ID-$num" netns "$(ns_of sw)"
  ip -n "$(ns_of sw)" link set "v-$E2E_ID-$num" master br0 up
  ip -n "$ns" addr add "$E2E_SUBNET.$num/24" dev eth0
  ip -n "$ns" link set eth0 up
}

# e2e_bpffs: one bpffs for all nodes (each node pins under its own directory in it). Mounted
# outside /sys because `ip netns exec` remounts /sys.
e2e_bpffs() {
  mkdir -p "$E2E_RUN/bpf"
  mount -t bpf bpf "$E2E_RUN/bpf"
}

# e2e_bg NAME CMD...: starts a background process (logs in $E2E_LOGS/NAME.log); $! is its pid.
# `e2e_bg NAME in_ns HOST CMD...` runs CMD in HOST's namespace with `ip netns exec`, which execs
# CMD: $! is then CMD's own pid (signals reach it, not a wrapper shell).
e2e_bg() {
  local name=$1
  shift
  if [[ "$1" == in_ns ]]; then
    local ns
    ns=$(ns_of "$2")
    shift 2
    set -- ip netns exec "$ns" "$@"
  fi
  # E2E_DETACH=1 (the lab): a session of its own, so closing the terminal does not stop it.
  if [[ -n "${E2E_DETACH:-}" ]]; then set -- setsid "$@"; fi
  "$@" >"$E2E_LOGS/$name.log" 2>&1 &
  E2E_PIDS+=($!)
}

# wait_http NS URL [SECONDS]: waits until URL answers inside namespace NS.
wait_http() {
  local host=$1 url=$2 deadline=$((SECONDS + ${3:-10}))
  until in_ns "$host" curl -s -o /dev/null --max-time 1 "$url"; do
    ((SECONDS < deadline)) || { log "timeout waiting for $url in $host"; return 1; }
    sleep 0.1
  done
}

pass() { printf 'ok   - %s\n' "$*"; }
fail() {
  printf 'FAIL - %s\n' "$*"
  E2E_FAILURES=$((E2E_FAILURES + 1))
}
# check DESCRIPTION CONDITION...: evaluates the condition (a command) and reports.
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
e2e_finish() {
  if ((E2E_FAILURES > 0)); then
    echo "$E2E_FAILURES check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}
