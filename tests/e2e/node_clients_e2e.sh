#!/usr/bin/env bash
# Clients on the node (issue 18, item 2): a "pod" namespace behind a bridge (cni0) on node A,
# the data plane attached to A's uplink (eth0) and to cni0 with one set of maps. From the pod:
# a local request served by A's gateway, a forwarded one served by the peer B (which sees the
# pod's address), a rejected one refused by an RST, each path's counter checked; `dp status`
# lists both interfaces, a second attach without cni0 removes its programs, detach removes all.
# A host process on A calling A's own address goes over loopback and is not steered (the limit
# docs/architecture.md states): checked too.
# NODE_CLIENTS_BENCH=SECONDS additionally measures requests/s from the pod and from the client
# namespace on the local and forward paths (not run in CI).
source "$(dirname "$0")/../../scripts/lib/netns.sh"

A=1 B=2 CLIENT=100
IP_A=$E2E_SUBNET.$A IP_B=$E2E_SUBNET.$B
POD_NET=10.78.1 # the pod network on A's bridge
POD_IP=$POD_NET.2
FPORT=31000
CTL="$E2E_BIN/dfaasctl"

functions_file="$E2E_RUN/functions.yaml"
cat >"$functions_file" <<YAML
functions:
  - name: echo
    behaviour: echo
YAML

dp() { local node=$1; shift; in_ns "$node" "$CTL" --bpffs "$E2E_RUN/bpf/$node" "$@"; }

# A bridge cni0 on A (the pod network's gateway) and a pod namespace on it by a veth.
add_pod() {
  e2e_netns pod
  local a pod
  a=$(ns_of a) pod=$(ns_of pod)
  ip -n "$a" link add cni0 type bridge
  ip -n "$a" addr add "$POD_NET.1/24" dev cni0
  ip -n "$a" link set cni0 up
  ip -n "$a" link add veth-pod type veth peer name eth0 netns "$pod"
  ip -n "$a" link set veth-pod master cni0 up
  ip -n "$pod" addr add "$POD_IP/24" dev eth0
  ip -n "$pod" link set eth0 up
  ip -n "$pod" route add default via "$POD_NET.1"
  # A node with a CNI bridge forwards (the CNI turns it on); bpf_fib_lookup answers only then.
  in_ns a sysctl -qw net.ipv4.ip_forward=1
  # B reaches the pod network through A, as a node reaches another node's pod CIDR.
  ip -n "$(ns_of b)" route add "$POD_NET.0/24" via "$IP_A"
}

setup() {
  e2e_switch
  e2e_bpffs
  e2e_host client $CLIENT
  for n in a:$A b:$B; do
    local name=${n%%:*} num=${n##*:}
    e2e_host "$name" "$num"
    e2e_bg "faas-sim-$name" in_ns "$name" "$E2E_BIN/dfaas-faas-sim" --functions "$functions_file" \
      --listen 0.0.0.0:8080 --node "node-$name" --log-level warn
  done
  add_pod
  wait_http a "http://127.0.0.1:8080/healthz"
  wait_http b "http://127.0.0.1:8080/healthz"
  dp a dp attach --iface eth0,cni0 --node-ip "$IP_A" --gateway "$IP_A:8080" >/dev/null
  dp b dp attach --iface eth0 --node-ip "$IP_B" --gateway "$IP_B:8080" >/dev/null
  dp a dp service add $FPORT echo
  dp b dp service add $FPORT echo
  dp a dp peer add "$IP_B"
  dp b dp peer add "$IP_A"
  dp b dp service add $FPORT echo --addr "$IP_A" --peer-port
  dp b dp policy set echo --local 100
}

# served_by NS URL: one request on a new connection; prints the serving node and the client
# address it saw.
served_by() {
  local ns=$1
  shift
  in_ns "$ns" curl -s -o /dev/null --max-time 5 -H 'Connection: close' -d hello \
    -w '%header{dfaas-node-id} %header{x-client-addr}' "$@" || true # a failure is a check's
}

# conns NODE PATH: connections of echo on one path (local, reject, or a peer's address) from
# `dp stats -o json`.
conns() {
  dp "$1" -o json dp stats | python3 -c "
import json, sys
f = [f for f in json.load(sys.stdin)['functions'] if f['name'] == 'echo'][0]
path = '$2'
print(f['to_peer'].get(path, {}).get('connections', 0) if path[0].isdigit() else f[path]['connections'])"
}

test_status() {
  local st
  st=$(dp a -o json dp status)
  local names
  names=$(python3 -c "
import json, sys
s = json.loads(sys.argv[1])
print(' '.join(f\"{i['name']}:{int(i['uplink'])}:{int(i['ingress_prog_id'] > 0 and i['egress_prog_id'] > 0)}\"
               for i in sorted(s['interfaces'], key=lambda i: i['name'])))" "$st")
  check "dp status lists both interfaces with their programs, eth0 the uplink ($names)" \
    [ "$names" == "cni0:0:1 eth0:1:1" ]
}

test_local() {
  dp a dp policy set echo --local 100
  local before got after
  before=$(conns a local)
  got=$(served_by pod "http://$IP_A:$FPORT/function/echo")
  after=$(conns a local)
  check "pod, local path: served by A, which sees the pod ($got)" [ "$got" == "node-a $POD_IP" ]
  check "pod, local path: A's local counter +1 ($before -> $after)" [ "$after" -eq $((before + 1)) ]
}

test_forward() {
  dp a dp policy set echo --local 0 --peer "$IP_B=100"
  local before got after
  before=$(conns a "$IP_B")
  got=$(served_by pod "http://$IP_A:$FPORT/function/echo")
  after=$(conns a "$IP_B")
  check "pod, forward path: served by B, which sees the pod ($got)" [ "$got" == "node-b $POD_IP" ]
  check "pod, forward path: A's counter towards B +1 ($before -> $after)" [ "$after" -eq $((before + 1)) ]
  # A payload larger than one segment, both ways through the forward path, intact.
  head -c $((256 * 1024)) /dev/urandom >"$E2E_RUN/body.bin"
  in_ns pod curl -s --max-time 10 -H 'Connection: close' -H 'Content-Type: application/octet-stream' \
    --data-binary @"$E2E_RUN/body.bin" -o "$E2E_RUN/body.out" "http://$IP_A:$FPORT/function/echo" || true
  check "pod, forward path: 256 KiB echoed intact" cmp -s "$E2E_RUN/body.bin" "$E2E_RUN/body.out"
}

test_reject() {
  dp a dp policy set echo --local 0 --reject 100
  local before after rc=0
  before=$(conns a reject)
  in_ns pod curl -s -o /dev/null --max-time 2 "http://$IP_A:$FPORT/function/echo" || rc=$?
  after=$(conns a reject)
  check "pod, reject: connection refused by the RST (curl $rc; 7 = refused)" [ "$rc" -eq 7 ]
  check "pod, reject: A's reject counter +1 ($before -> $after)" [ "$after" -eq $((before + 1)) ]
}

# A host process on A calling A's own address: the packets go over loopback, where no program
# runs, so the function port is not steered (nothing listens on it: refused).
test_host_process() {
  dp a dp policy set echo --local 100
  local rc=0
  in_ns a curl -s -o /dev/null --max-time 2 "http://$IP_A:$FPORT/function/echo" || rc=$?
  check "host process on A to A's function port: not steered, refused (curl $rc)" [ "$rc" -eq 7 ]
}

test_reattach_and_detach() {
  local left
  left=$(in_ns a tc filter show dev cni0 ingress | grep -c 'dfaas' || true)
  check "tc shows our filter on cni0 while attached ($left)" [ "$left" -eq 1 ]
  dp a dp attach --iface eth0 --node-ip "$IP_A" --gateway "$IP_A:8080" >/dev/null
  left=$(in_ns a tc filter show dev cni0 ingress | grep -c 'dfaas' || true)
  check "attach without cni0 removes its programs ($left filters left)" [ "$left" -eq 0 ]
  dp a dp attach --iface eth0 --iface cni0 --node-ip "$IP_A" --gateway "$IP_A:8080" >/dev/null
  local rc=0
  dp a dp attach --iface eth0,eth0 --node-ip "$IP_A" --gateway "$IP_A:8080" >/dev/null 2>&1 || rc=$?
  check "an interface named twice is refused (rc $rc)" [ "$rc" -ne 0 ]
  dp a dp detach 2>/dev/null
  left=$(in_ns a tc filter show dev cni0 ingress | grep -c 'dfaas' || true)
  left=$((left + $(in_ns a tc filter show dev eth0 ingress | grep -c 'dfaas' || true)))
  check "detach removes the programs from every interface ($left filters left)" [ "$left" -eq 0 ]
}

# rate NS SECONDS: requests/s of sequential connections (curl -K, one connection each).
rate() {
  local ns=$1 seconds=$2 config="$E2E_RUN/rate.curl" i n start end
  : >"$config"
  for ((i = 0; i < 20000; i++)); do
    printf 'url = "http://%s:%s/function/echo"\noutput = "/dev/null"\n' "$IP_A" $FPORT >>"$config"
  done
  start=$(date +%s.%N)
  n=$(in_ns "$ns" timeout "$seconds" curl -s -K "$config" -H 'Connection: close' -d x \
    -w '%{http_code}\n' 2>/dev/null | grep -c '^200$' || true)
  end=$(date +%s.%N)
  awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }'
}

bench() {
  local seconds=$1
  for path in local forward; do
    if [[ $path == local ]]; then dp a dp policy set echo --local 100
    else dp a dp policy set echo --local 0 --peer "$IP_B=100"; fi
    local from_client="" from_pod="" round
    # Interleaved rounds: a busy machine's drift touches both sides alike.
    for round in 1 2 3; do
      from_client="$from_client $(rate client "$seconds")"
      from_pod="$from_pod $(rate pod "$seconds")"
    done
    log "bench $path: client namespace$from_client req/s, pod$from_pod req/s (rounds of ${seconds}s, connection per request; loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
  done
}

setup
test_status
test_local
test_forward
test_reject
test_host_process
if [[ -n "${NODE_CLIENTS_BENCH:-}" ]]; then bench "$NODE_CLIENTS_BENCH"; fi
test_reattach_and_detach
e2e_finish
