#!/usr/bin/env bash
# The image's entrypoint run here with the chart's default configuration (root, namespaces made
# here). The DaemonSet rendered from the chart's defaults is turned into a pod on this machine
# (tests/deploy/pod_env.py): its ConfigMap and Secrets become files under a scratch root, its
# hostPath volumes directories there, its environment is filled in like the kubelet's (downward
# API status.hostIP = the node's address), and the agent container runs with exactly the
# capabilities the DaemonSet grants (setpriv bounding set), inside the node's network namespace.
# The node has dfaas-faas-sim as the OpenFaaS gateway (basic auth with the password of the
# emulated basic-auth Secret, and a second one on the gateway's NodePort 31112, where the data
# plane sends local connections), a real Prometheus, and /etc/hosts names for the cluster
# services the configuration names (gateway.openfaas.svc..., prometheus.openfaas.svc...).
#   the entrypoint refuses to start without BTF or with an invalid configuration;
#   init container: mounts the bpffs (host path), and does nothing the second time;
#   the entrypoint: BTF check, interface detected from the node IP, bpffs found, exec of the
#   agent as the container's main process; /healthz, then /readyz 200; /metrics answers and
#   passes promtool; the node id lands in the state hostPath; a function is served through the
#   data plane on a port of the chart's range;
#   restart (SIGTERM, the pod's stop): exit 0, the data plane keeps serving meanwhile, the new
#   agent keeps the node id and the ports;
#   uninstall as documented (kubectl exec ... dfaas-agent --detach): programs and pins removed,
#   and the running agent does not put them back.
E2E_ID="dp$(($$ % 100000))"
source "$(dirname "$0")/../../scripts/lib/netns.sh"

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$E2E_ROOT"
PY=/usr/bin/python3
A=1
IP_A=$E2E_SUBNET.$A
NS_A=$(ns_of a)
POD_BPFFS=

cleanup_deploy() {
  rm -rf "/etc/netns/$NS_A"
  if [[ -n "$POD_BPFFS" ]] && mountpoint -q "$POD_BPFFS" 2>/dev/null; then umount "$POD_BPFFS"; fi
}
E2E_CLEANUP_HOOKS+=(cleanup_deploy)

api() { in_ns a curl -s --max-time 3 "$@"; }
json_get() { $PY -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
wait_for() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "timed out: $what"; return 1; }
    sleep 0.5
  done
}
http_code() { api -o /dev/null -w '%{http_code}' "http://127.0.0.1:$POD_API_PORT$1"; }
is_ready() { [ "$(http_code /readyz)" == 200 ]; }
call() {
  in_ns client curl -s -o /dev/null --max-time 5 -H 'Connection: close' \
    -w '%{http_code} %header{dfaas-node-id}' -d x "http://$IP_A:$1/function/$2"
}
# Output captured first: with pipefail, `tc … | grep -q` fails when grep exits early (SIGPIPE).
tc_attached() {
  local filters
  filters=$(in_ns a tc filter show dev eth0 ingress)
  grep -q bpf <<<"$filters"
}

render() {
  if "$REPO/deploy/render.sh" --build >/dev/null 2>&1; then
    # This "host" (a scratch directory) has no bpffs: the init container is what such a host needs.
    "$REPO/deploy/render.sh" -- --namespace openfaas --set bpffsInit.enabled=true >"$E2E_RUN/rendered.yaml"
    log "chart rendered with its default values and bpffsInit.enabled=true"
  else
    cp "$REPO/deploy/manifests/dfaas.yaml" "$E2E_RUN/rendered.yaml"
    log "renderer not available: deploy/manifests/dfaas.yaml (the same configuration)"
  fi
  echo "openfaas-test-password" >"$E2E_RUN/basic-auth-password"
  eval "$($PY "$HERE/pod_env.py" "$E2E_RUN/rendered.yaml" "$E2E_RUN/pod" "$IP_A" node-a \
    "$E2E_RUN/basic-auth-password")"
  local entry="$REPO/deploy/image/entrypoint.sh"
  [[ "${POD_CMD[0]}" == /usr/local/bin/dfaas-entrypoint ]] && POD_CMD[0]=$entry
  [[ "${POD_INIT_CMD[0]:-}" == /usr/local/bin/dfaas-entrypoint ]] && POD_INIT_CMD[0]=$entry
  # The container's PATH: the image has the binaries in /usr/local/bin; here they are in build/bin.
  POD_PATH="$E2E_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  CAPS=()
  ((POD_PRIVILEGED)) || CAPS=(setpriv --inh-caps=-all "--bounding-set=-all,$POD_CAPS" --)
}

setup() {
  render
  e2e_switch
  e2e_host client 100
  e2e_host a $A
  in_ns a sysctl -qw net.ipv4.ip_forward=1
  # Cluster DNS names of the configuration -> this node's loopback (ip netns exec bind-mounts it).
  mkdir -p "/etc/netns/$NS_A"
  printf '127.0.0.1 localhost %s\n' "$POD_HOSTS" >"/etc/netns/$NS_A/hosts"
  cat >"$E2E_RUN/functions.yaml" <<YAML
functions:
  - name: echo
    behaviour: echo
  - name: figlet
    behaviour: figlet
    labels: {dfaas.port: "28500", dfaas.maxrate: "500"}
  - name: slow
    behaviour: sleep
    sleep_ms: 4000
YAML
  local auth=(--basic-auth-user admin --basic-auth-password-file "$E2E_RUN/basic-auth-password")
  e2e_bg gateway in_ns a "$E2E_BIN/dfaas-faas-sim" --functions "$E2E_RUN/functions.yaml" \
    --node node-a --log-level warn --listen 0.0.0.0:8080 "${auth[@]}"
  e2e_bg gateway-nodeport in_ns a "$E2E_BIN/dfaas-faas-sim" --functions "$E2E_RUN/functions.yaml" \
    --node node-a --log-level warn --listen 0.0.0.0:31112 "${auth[@]}"
  wait_http a http://127.0.0.1:8080/healthz
  wait_http a http://127.0.0.1:31112/healthz
  cat >"$E2E_RUN/prometheus.yml" <<YAML
global: {scrape_interval: 5s, evaluation_interval: 5s}
scrape_configs:
  - job_name: gateway
    static_configs: [{targets: ["127.0.0.1:8080"]}]
  - job_name: dfaas-agent
    static_configs: [{targets: ["127.0.0.1:$POD_API_PORT"]}]
YAML
  e2e_bg prometheus in_ns a prometheus --config.file="$E2E_RUN/prometheus.yml" \
    --storage.tsdb.path="$E2E_RUN/prom" --web.listen-address=127.0.0.1:9090 --log.level=warn
  wait_http a http://127.0.0.1:9090/-/ready 20
}

start_pod() {
  e2e_bg "pod-$((++POD_RUNS))" in_ns a env -i "PATH=$POD_PATH" HOME=/root "${POD_ENV[@]}" \
    "${CAPS[@]}" "${POD_CMD[@]}"
  POD_PID=$!
  POD_LOG="$E2E_LOGS/pod-$POD_RUNS.log"
}
POD_RUNS=0

test_entrypoint_errors() {
  local out rc=0
  out=$(env -i "PATH=$POD_PATH" "${POD_ENV[@]}" ENTRYPOINT_BTF=/nonexistent/vmlinux "${POD_CMD[@]}" 2>&1) || rc=$?
  local ok=0
  [[ $rc -ne 0 && "$out" == *CONFIG_DEBUG_INFO_BTF* ]] && ok=1
  check "entrypoint refuses to start without kernel BTF (exit $rc)" [ $ok -eq 1 ]
  printf 'strategy: {name: fastest}\n' >"$E2E_RUN/bad.yaml"
  rc=0
  out=$(env -i "PATH=$POD_PATH" "${POD_ENV[@]}" AUTODETECT_INTERFACE= "${POD_CMD[0]}" --config "$E2E_RUN/bad.yaml" 2>&1) || rc=$?
  ok=0
  [[ $rc -ne 0 && "$out" == *strategy.name* && "$out" == *"is not valid"* ]] && ok=1
  check "entrypoint reports an invalid configuration before starting the agent (exit $rc)" [ $ok -eq 1 ]
}

test_init_container() {
  if ((${#POD_INIT_CMD[@]} == 0)); then
    fail "the DaemonSet with bpffsInit.enabled has the bpffs init container"
    return
  fi
  local out rc=0
  out=$(timeout 20 ip netns exec "$NS_A" env -i "PATH=$POD_PATH" HOME=/root "${POD_ENV[@]}" "${CAPS[@]}" "${POD_CMD[@]}" 2>&1) || rc=$?
  local refused=0
  [[ $rc -ne 0 && ( "$out" == *bpffsInit* || "$out" == *"init container"* ) ]] && refused=1
  check "without a bpffs on the host the agent container refuses to start, saying what to do (exit $rc)" \
    [ $refused -eq 1 ]
  rc=0
  out=$("${POD_INIT_CMD[@]}" 2>&1) || rc=$?
  check "init container mounts the bpffs on the host path (exit $rc: $out)" \
    bash -c "[ $rc -eq 0 ] && [ \"\$(stat -f -c %T '$POD_BPFFS')\" == bpf_fs ]"
  rc=0
  out=$("${POD_INIT_CMD[@]}" 2>&1) || rc=$?
  local ok=0
  [[ $rc -eq 0 && "$out" == *"already mounted"* ]] && ok=1
  check "init container again: bpffs already there, nothing done ($out)" [ $ok -eq 1 ]
  check "init container created the pin directory on the bpffs" \
    bash -c "[ \"\$(stat -f -c %T '$POD_PIN_DIR')\" == bpf_fs ]"
}

test_start() {
  start_pod
  check "/healthz answers" wait_for 20 healthz bash -c "[ \"\$(ip netns exec $NS_A curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:$POD_API_PORT/healthz)\" == 200 ]"
  check "/readyz reaches 200 (data plane attached, OpenFaaS and Prometheus answering)" \
    wait_for 90 ready is_ready
  check "the agent is the container's main process (the entrypoint exec'd it)" \
    [ "$(cat /proc/$POD_PID/comm 2>/dev/null)" == dfaas-agent ]
  local want got
  want=$("${CAPS[@]}" grep CapEff /proc/self/status)
  got=$(grep CapEff /proc/$POD_PID/status)
  check "the agent runs with the DaemonSet's capabilities only ($POD_CAPS: $got)" [ "$want" == "$got" ]
  check "entrypoint detected the interface from the node IP" \
    grep -q "data-plane interface: eth0 (holds $IP_A)" "$POD_LOG"
  check "entrypoint found the bpffs the init container mounted" bash -c "! grep -q 'mounted a bpffs' '$POD_LOG'"
  check "no configuration warning at start" bash -c "! grep -qi 'warn.*config' '$POD_LOG'"
  check "node id generated into the state hostPath" test -s "$POD_STATE/node-id"
  NODE_ID=$(cat "$POD_STATE/node-id" 2>/dev/null)
  check "maps pinned under the host's bpffs" test -e "$POD_PIN_DIR/dfaas_ct"
  api "http://127.0.0.1:$POD_API_PORT/metrics" >"$E2E_RUN/metrics.txt"
  check "/metrics answers with dfaas_ready 1" grep -q '^dfaas_ready 1' "$E2E_RUN/metrics.txt"
  check "/metrics passes promtool check metrics" promtool check metrics <"$E2E_RUN/metrics.txt"
  local functions first last
  functions=$(api "http://127.0.0.1:$POD_API_PORT/v1/functions")
  ECHO_PORT=$(json_get '[f["port"] for f in d if f["name"]=="echo"][0]' <<<"$functions")
  first=${POD_FUNCTION_PORTS%-*}
  last=${POD_FUNCTION_PORTS#*-}
  check "echo got a port of the chart's range $POD_FUNCTION_PORTS ($ECHO_PORT)" \
    [ "$ECHO_PORT" -ge "$first" -a "$ECHO_PORT" -le "$last" ]
  local got_call
  got_call=$(call "$ECHO_PORT" echo)
  check "echo served through the data plane via the gateway NodePort ($got_call)" [ "$got_call" == "200 node-a" ]
  got_call=$(call 28500 figlet)
  check "figlet on its dfaas.port 28500 ($got_call)" [ "$got_call" == "200 node-a" ]
  check "Prometheus scrapes the agent on the annotated port" wait_for 30 "dfaas_build_info in Prometheus" \
    bash -c "ip netns exec $NS_A curl -s 127.0.0.1:9090/api/v1/query --data-urlencode 'query=dfaas_build_info' | grep -q dfaas_build_info"
}

test_restart() {
  local slow_port out="$E2E_RUN/slow.out"
  slow_port=$(api "http://127.0.0.1:$POD_API_PORT/v1/functions" | json_get '[f["port"] for f in d if f["name"]=="slow"][0]')
  in_ns client curl -s --max-time 15 -o /dev/null -w '%{http_code}' -H 'Connection: close' -d x \
    "http://$IP_A:$slow_port/function/slow" >"$out" &
  local curl_pid=$! rc=0 t0=$SECONDS
  sleep 1
  kill -TERM "$POD_PID"
  wait "$POD_PID" || rc=$?
  check "SIGTERM (pod stop): the agent exits 0 well within the grace period (exit $rc, $((SECONDS - t0))s)" \
    [ "$rc" -eq 0 -a $((SECONDS - t0)) -lt 10 ]
  check "the data plane stays attached while the agent is down" tc_attached
  local got
  got=$(call "$ECHO_PORT" echo)
  check "functions still served with no agent running ($got)" [ "$got" == "200 node-a" ]
  start_pod
  check "the new agent becomes ready" wait_for 90 ready is_ready
  rc=0
  wait $curl_pid || rc=$?
  check "a connection open across the restart completes (curl $rc, HTTP $(cat "$out"))" \
    [ "$rc" -eq 0 -a "$(cat "$out")" == 200 ]
  check "node id kept across the restart" [ "$(cat "$POD_STATE/node-id")" == "$NODE_ID" ]
  local port
  port=$(api "http://127.0.0.1:$POD_API_PORT/v1/functions" | json_get '[f["port"] for f in d if f["name"]=="echo"][0]')
  check "function port kept across the restart ($ECHO_PORT -> $port)" [ "$port" == "$ECHO_PORT" ]
}

test_uninstall() {
  # What docs/deploy.md has users run before helm uninstall: kubectl exec into the agent
  # container (its environment, its capabilities) running dfaas-agent --detach.
  local out rc=0
  out=$(in_ns a env -i "PATH=$POD_PATH" HOME=/root "${POD_ENV[@]}" "${CAPS[@]}" \
    dfaas-agent --config "$POD_CONFIG" --detach 2>&1) || rc=$?
  check "dfaas-agent --detach in the running pod (exit $rc: $out)" [ "$rc" -eq 0 ]
  check "programs detached from the interface" bash -c "! ip netns exec $NS_A tc filter show dev eth0 ingress | grep -q bpf"
  check "pins removed from the host's bpffs" test ! -e "$POD_PIN_DIR/dfaas_ct"
  sleep 3
  check "the running agent does not attach again" bash -c "! ip netns exec $NS_A tc filter show dev eth0 ingress | grep -q bpf"
  check "readiness reports the detached data plane" bash -c "[ \"\$(ip netns exec $NS_A curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:$POD_API_PORT/readyz)\" == 503 ]"
  rc=0
  kill -TERM "$POD_PID"
  wait "$POD_PID" || rc=$?
  check "then the pod stops cleanly (exit $rc)" [ "$rc" -eq 0 ]
  rc=0
  in_ns client curl -s -o /dev/null --max-time 2 "http://$IP_A:$ECHO_PORT/function/echo" || rc=$?
  check "nothing steers the function port any more (curl $rc: refused)" [ "$rc" -eq 7 ]
}

setup
test_entrypoint_errors
test_init_container
test_start
test_restart
test_uninstall
e2e_finish
