# Configuration files scripts/bench.sh generates: the faas-sim functions, the wrk reporting
# script, and the HAProxy configurations (as the reference DFaaS writes them, tuned for speed,
# and the reference one with two weighted servers for the reload churn). Sourced by bench.sh.

# bench_functions_file FILE: one echo function, unlimited capacity (max_inflight 0).
bench_functions_file() {
  cat >"$1" <<'YAML'
functions:
  - name: echo
    behaviour: echo
YAML
}

# bench_wrk_lua FILE: makes wrk print one parseable line at the end of a run (latencies in us).
bench_wrk_lua() {
  cat >"$1" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d mean_us=%.1f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
LUA
}

# HAProxy as the reference configures it (dfaas-reference.md section 3: the common header and
# the NMS/Static template, which turn weights into a weighted backend), for one function "echo"
# whose weighted backend holds this node's gateway and peer B. What is kept: master-worker, a log
# line per request (`log stdout` + `option httplog`; stdout goes to /dev/null here, the reference
# ships it to a log sidecar), the 60 s timeouts, the path ACLs and the DFaaS-Node-ID checks, the
# per-function stick table, and on every backend `option forwardfor` + `option http-server-close`
# + httpchk health checks + the DFaaS-Node-ID/X-Server headers. Left out: the stats page and the
# Prometheus frontend (not on the request path), the Data Plane API (the reload is driven
# directly). The reference forwards to the peer's HAProxy (two proxies on the way); here it goes
# straight to B's gateway, which favours HAProxy.
#
# bench_haproxy_ref FILE BIND_ADDR:PORT NODE_IP GATEWAY PEER_GATEWAY LOCAL_W PEER_W [SOCK]
bench_haproxy_ref() {
  local file=$1 bind=$2 node_ip=$3 gw=$4 peer_gw=$5 local_w=$6 peer_w=$7 sock=${8:-}
  local tmp="$file.tmp"
  {
    cat <<EOF
global
  master-worker no-exit-on-failure
EOF
    [[ -n "$sock" ]] && echo "  stats socket $sock mode 660 level admin expose-fd listeners"
    cat <<EOF
  log stdout format raw local0

defaults
  mode http
  option httplog
  log global
  timeout client 60s
  timeout connect 60s
  timeout server 60s

backend st_users_func_echo
  stick-table type integer size 10 expire 60s store http_req_cnt,http_req_rate(1s)

frontend fe_main
  bind $bind
  acl is_path_haproxy path_beg /haproxy
  acl is_path_system_funcs path /system/functions
  acl is_path_function path_beg /function/
  http-request deny unless is_path_haproxy or is_path_system_funcs or is_path_function
  http-request capture req.hdr(Host) len 50
  http-request capture req.hdr(DFaaS-Node-ID) len 50
  acl is_hdr_nodeID_known req.hdr(DFaaS-Node-ID) -m str node-b
  http-request set-var(req.hdrcnt_nodeid) hdr_cnt(DFaaS-Node-ID)
  acl has_nodeid_hdr var(req.hdrcnt_nodeid),add(0) gt 0
  acl is_func_echo path_beg /function/echo
  http-request track-sc1 dst_port table st_users_func_echo if is_func_echo !has_nodeid_hdr
  http-request deny deny_status 403 if has_nodeid_hdr !is_hdr_nodeID_known
  use_backend be_myself if is_func_echo has_nodeid_hdr
  use_backend be_echo if is_func_echo !has_nodeid_hdr

backend be_myself
  option httpchk GET /healthz
  option forwardfor
  option http-server-close
  http-request add-header DFaaS-Node-ID node-a
  http-response set-header X-Server %s
  http-response set-header DFaaS-Node-ID node-a
  server $node_ip $gw check

backend be_echo
  balance roundrobin
  option httpchk GET /healthz
  option forwardfor
  option http-server-close
  http-request add-header DFaaS-Node-ID node-a
  http-response set-header X-Server %s
  server $node_ip $gw weight $local_w check
  server ${peer_gw%:*} $peer_gw weight $peer_w check
EOF
  } >"$tmp"
  mv "$tmp" "$file"  # a reload never reads a half-written file
}

# HAProxy tuned for speed: no logging, keep-alive on both sides with server connections reused
# across client connections (`http-reuse always`), one thread per core.
# bench_haproxy_tuned FILE BIND_ADDR:PORT PEER_GATEWAY
bench_haproxy_tuned() {
  cat >"$1" <<EOF
global
  nbthread 2
  maxconn 8000

defaults
  mode http
  timeout client 60s
  timeout connect 5s
  timeout server 60s
  option http-keep-alive
  http-reuse always

frontend fe
  bind $2
  default_backend be

backend be
  server b $3
EOF
}
