#!/usr/bin/env bash
# End-to-end test of the data plane with real TCP: a client and three nodes in namespaces on a
# bridge, each node with dfaas-faas-sim as its gateway and the data plane on its eth0.
#   local path, forward path (served by the peer, which sees the real client address), 1 MiB
#   through the forward path, a 70/30 split over 1000 connections, reject answered fast with
#   "connection refused", `dfaasctl monitor` seeing those decisions (JSON lines; the lease cleared
#   at exit and on SIGINT), connections surviving a program replace on both nodes.
# E2E_FAIL_AT=<step> makes the script fail on purpose at that step (used by the cleanup test).
source "$(dirname "$0")/../../scripts/lib/netns.sh"

A=1 B=2 C=3 CLIENT=100
IP_A=$E2E_SUBNET.$A IP_B=$E2E_SUBNET.$B IP_C=$E2E_SUBNET.$C
FPORT=31000
CTL="$E2E_BIN/dfaasctl"

fail_here() { [[ "${E2E_FAIL_AT:-}" == "$1" ]] && { log "failing on purpose at $1"; exit 3; }; true; }

functions_file="$E2E_RUN/functions.yaml"
cat >"$functions_file" <<YAML
functions:
  - name: echo
    behaviour: echo
  - name: slow
    behaviour: sleep
    sleep_ms: 3000
YAML

setup() {
  e2e_switch
  e2e_bpffs
  e2e_host client $CLIENT
  for n in a:$A b:$B c:$C; do
    local name=${n%%:*} num=${n##*:}
    e2e_host "$name" "$num"
    e2e_bg "faas-sim-$name" in_ns "$name" "$E2E_BIN/dfaas-faas-sim" --functions "$functions_file" \
      --listen 0.0.0.0:8080 --node "node-$name" --log-level warn
  done
  fail_here setup
  for n in a:$A b:$B c:$C; do
    local name=${n%%:*} num=${n##*:}
    wait_http "$name" "http://127.0.0.1:8080/healthz"
    dp "$name" dp attach --iface eth0 --node-ip "$E2E_SUBNET.$num" --gateway "$E2E_SUBNET.$num:8080" >/dev/null
    dp "$name" dp service add $FPORT echo
    dp "$name" dp service add 31001 slow
  done
  # A forwards to B and C; B and C accept what A forwards (they know A and A's ports).
  dp a dp peer add "$IP_B"
  dp a dp peer add "$IP_C"
  for peer in b c; do
    dp $peer dp peer add "$IP_A"
    dp $peer dp service add $FPORT echo --addr "$IP_A" --peer-port
    dp $peer dp service add 31001 slow --addr "$IP_A" --peer-port
    dp $peer dp policy set echo --local 100
    dp $peer dp policy set slow --local 100
  done
}

dp() { local node=$1; shift; in_ns "$node" "$CTL" --bpffs "$E2E_RUN/bpf/$node" "$@"; }

# call [CURL ARGS...] URL: one request from the client on a new connection; prints the
# serving node and the client address it saw.
served_by() {
  in_ns client curl -s -o /dev/null --max-time 5 -H 'Connection: close' \
    -w '%header{dfaas-node-id} %header{x-client-addr}' "$@"
}

test_local() {
  dp a dp policy set echo --local 100
  local got
  got=$(served_by "http://$IP_A:$FPORT/function/echo" -d hello)
  check "local path: served by A, which sees the client ($got)" [ "$got" == "node-a $E2E_SUBNET.$CLIENT" ]
}

test_forward() {
  dp a dp policy set echo --local 0 --peer "$IP_B=100"
  local got
  got=$(served_by "http://$IP_A:$FPORT/function/echo" -d hello)
  check "forward path: served by B, which sees the real client ($got)" [ "$got" == "node-b $E2E_SUBNET.$CLIENT" ]
  fail_here forward
}

test_forward_1mib() {
  dp a dp policy set echo --local 0 --peer "$IP_C=100"
  head -c $((1024 * 1024)) /dev/urandom >"$E2E_RUN/1mib.bin"
  local sent got node
  sent=$(sha256sum <"$E2E_RUN/1mib.bin" | cut -d' ' -f1)
  node=$(in_ns client curl -s --max-time 20 -H 'Connection: close' -H 'Content-Type: application/octet-stream' \
    --data-binary @"$E2E_RUN/1mib.bin" \
    -o "$E2E_RUN/1mib.out" -w '%header{dfaas-node-id}' "http://$IP_A:$FPORT/function/echo")
  got=$(sha256sum <"$E2E_RUN/1mib.out" | cut -d' ' -f1)
  check "1 MiB up and back through the forward path, intact (served by $node)" \
    [ "$got" == "$sent" -a "$node" == "node-c" ]
  local clamped
  clamped=$(dp a -o json dp stats | grep -o '"mss_clamped": [0-9]*' | grep -o '[0-9]*$')
  check "MSS clamped on the forwarded connection ($clamped)" [ "${clamped:-0}" -ge 2 ]
}

test_split() {
  dp a dp policy set echo --local 70 --peer "$IP_B=30"
  local config="$E2E_RUN/split.curl" i
  : >"$config"
  for ((i = 0; i < 1000; i++)); do
    printf 'url = "http://%s:%s/function/echo"\noutput = "/dev/null"\n' "$IP_A" $FPORT >>"$config"
  done
  in_ns client curl -s -K "$config" -H 'Connection: close' -d x \
    -w '%header{dfaas-node-id}\n' >"$E2E_RUN/split.out"
  local a b total
  a=$(grep -c '^node-a$' "$E2E_RUN/split.out" || true)
  b=$(grep -c '^node-b$' "$E2E_RUN/split.out" || true)
  total=$((a + b))
  check "1000 connections all served ($total)" [ "$total" -eq 1000 ]
  check "70/30 split within 5 points (A $a, B $b)" [ "$a" -ge 650 -a "$a" -le 750 ]
  local conns
  conns=$(dp a -o json dp stats | tr -d ' \n' | grep -o '"name":"echo"[^]]*' | head -1)
  log "A's counters for echo: ${conns:0:200}"
}

test_reject() {
  dp a dp policy set echo --local 0 --reject 100
  # curl's own clock (time to the refusal), best of five: a busy CI machine can delay one run.
  local out rc t best=999999999 codes=""
  for _ in 1 2 3 4 5; do
    rc=0
    out=$(in_ns client curl -s -o /dev/null --max-time 2 -w '%{time_total}' \
      "http://$IP_A:$FPORT/function/echo" 2>&1) || rc=$?
    codes="$codes$rc "
    t=$(awk -v s="$out" 'BEGIN { printf "%d", s * 1000000 }')
    ((t < best)) && best=$t
  done
  check "reject: connection refused every time (curl exits: $codes; 7 = refused)" [ "$codes" == "7 7 7 7 7 " ]
  check "reject: answered in ${best} us (< 10 ms)" [ "$best" -lt 10000 ]
}

# A peer over its forwarded-in cap refuses with an RST that travels back through the forwarder.
# (Real traffic only: an skb that arrived encapsulated is marked so by the kernel, and some
# helpers refuse such skbs; BPF_PROG_TEST_RUN cannot show that.)
test_forwarded_in_reject() {
  dp a dp policy set echo --local 0 --peer "$IP_B=100"
  dp b dp policy set echo --local 100 --limit-in "$IP_A=0"
  local rc=0 t
  t=$(in_ns client curl -s -o /dev/null --max-time 3 -w '%{time_total}' \
    "http://$IP_A:$FPORT/function/echo" 2>&1) || rc=$?
  check "forwarded-in over the cap: connection refused through the forwarder (curl $rc = 7, ${t}s)" \
    [ "$rc" -eq 7 ]
  local failed
  failed=$(dp b -o json dp stats | grep -o '"rst_failed": [0-9]*' | grep -o '[0-9]*$')
  check "the RST was built (rst_failed ${failed:-0})" [ "${failed:-0}" -eq 0 ]
  dp b dp policy set echo --local 100
}

# A request in flight (3 s function) while the programs are replaced on both nodes of its path.
replace_during() {
  local target=$1
  local out="$E2E_RUN/replace-$target.out"
  in_ns client curl -s --max-time 10 -o "$out" -w '%{http_code} %header{dfaas-node-id}' \
    -d payload "http://$IP_A:31001/function/slow" >"$out.status" &
  local curl_pid=$!
  sleep 1
  dp a dp attach --iface eth0 --node-ip "$IP_A" --gateway "$IP_A:8080" >/dev/null
  dp b dp attach --iface eth0 --node-ip "$IP_B" --gateway "$IP_B:8080" >/dev/null
  local rc=0
  wait $curl_pid || rc=$?
  check "$target connection survives a program replace (curl $rc, $(cat "$out.status"))" \
    [ "$rc" -eq 0 -a "$(cat "$out.status")" == "200 node-$target" ]
}

test_replace() {
  dp a dp policy set slow --local 100
  replace_during a
  dp a dp policy set slow --local 0 --peer "$IP_B=100"
  replace_during b
  local misses
  misses=$(dp a -o json dp stats | grep -o '"pass_ct_miss_midflow": [0-9]*' | grep -o '[0-9]*$')
  check "no mid-flow conntrack miss on A after replaces (${misses:-0})" [ "${misses:-0}" -eq 0 ]
}

# `dfaasctl monitor` sees real connections: two forwarded to B and one rejected (its decision and
# the RST), as JSON lines, then stops by itself (--count).
test_monitor() {
  dp a dp policy set echo --local 0 --peer "$IP_B=100"
  local out="$E2E_RUN/monitor.jsonl" err="$E2E_RUN/monitor.err" i
  dp a -o json monitor --type new,reject --function echo --count 4 --duration 20s >"$out" 2>"$err" &
  local mon=$!
  for ((i = 0; i < 50; i++)); do grep -q 'listening' "$err" && break; sleep 0.1; done
  served_by "http://$IP_A:$FPORT/function/echo" -d one >/dev/null
  served_by "http://$IP_A:$FPORT/function/echo" -d two >/dev/null
  dp a dp policy set echo --local 0 --reject 100
  in_ns client curl -s -o /dev/null --max-time 2 "http://$IP_A:$FPORT/function/echo" || true
  local rc=0
  wait $mon || rc=$?
  log "monitor (rc $rc): $(tr '\n' ' ' <"$out") $(cat "$err")"
  local forwarded rejected rst
  forwarded=$(grep -c "\"client\":\"$E2E_SUBNET.$CLIENT:[0-9]*\",\"decision\":\"peer\",\"function\":\"echo\",\"peer\":\"$IP_B\",\"reason\":\"syn_new\"" "$out" || true)
  rejected=$(grep -c '"decision":"reject","function":"echo","reason":"syn_new".*"type":"new"' "$out" || true)
  rst=$(grep -c '"reason":"rst_sent".*"type":"reject"' "$out" || true)
  check "monitor: 4 events, then stopped by --count (rc $rc, $(wc -l <"$out") lines)" \
    [ "$rc" -eq 0 -a "$(wc -l <"$out")" -eq 4 ]
  check "monitor: the 2 forwarded connections, to B ($forwarded)" [ "$forwarded" -eq 2 ]
  check "monitor: the rejected one, its decision ($rejected) and its RST ($rst)" \
    [ "$rejected" -eq 1 -a "$rst" -eq 1 ]
  check "monitor: the lease cleared at exit ($(monitor_lease expires_ns))" [ "$(monitor_lease expires_ns)" == 0 ]
  # SIGINT: the monitor stops at once and clears the lease (data-plane emission off).
  dp a monitor --type new --duration 20s >/dev/null 2>"$err" &
  mon=$!
  for ((i = 0; i < 50; i++)); do grep -q 'listening' "$err" && break; sleep 0.1; done
  local owner
  owner=$(monitor_lease owner_pid)
  check "monitor: holds the lease while it runs (pid $owner)" [ "$(monitor_lease expires_ns)" != 0 ]
  kill -INT "$owner"
  rc=0
  wait $mon || rc=$?
  check "monitor: SIGINT ends it (rc $rc) and clears the lease" \
    [ "$rc" -eq 0 -a "$(monitor_lease expires_ns)" == 0 ]
}

# A field of node A's monitor lease (dfaas_event_config), read with bpftool.
monitor_lease() {
  bpftool -j map dump pinned "$E2E_RUN/bpf/a/dfaas_event_config" |
    python3 -c "import json, sys; e = json.load(sys.stdin)[0]; print(e.get('formatted', e)['value']['$1'])"
}

setup
test_local
test_forward
test_forward_1mib
test_split
test_reject
test_monitor
test_forwarded_in_reject
test_replace
e2e_finish
