#include "dfaas/dataplane/json.h"

namespace dfaas::dp {

using nlohmann::json;

json to_json(const Settings &s) {
    return json{{"node", s.node.str()},
                {"gateway", s.gateway.str()},
                {"reject_mode", to_string(s.reject_mode)},
                {"mtu", s.mtu},
                {"syn_guard_rate", s.syn_guard_rate},
                {"ct_timeout_syn_s", s.ct_timeout_syn.count() / 1e9},
                {"ct_timeout_established_s", s.ct_timeout_established.count() / 1e9},
                {"ct_timeout_closing_s", s.ct_timeout_closing.count() / 1e9},
                {"default_limit_in", s.default_limit_in},
                {"enabled", s.enabled},
                {"http_stats", s.http_stats}};
}

json to_json(const Status &s) {
    json interfaces = json::array();
    for (const auto &a : s.interfaces)
        interfaces.push_back(json{{"name", a.name},
                                  {"ifindex", a.ifindex},
                                  {"uplink", a.uplink},
                                  {"ingress_prog_id", a.ingress_prog_id},
                                  {"egress_prog_id", a.egress_prog_id}});
    return json{{"bpffs", s.bpffs},
                {"interfaces", interfaces},
                {"abi_version", s.abi_version},
                {"interface", s.interface},
                {"ifindex", s.ifindex},
                {"ingress_attached", s.ingress_attached},
                {"egress_attached", s.egress_attached},
                {"ingress_prog_id", s.ingress_prog_id},
                {"egress_prog_id", s.egress_prog_id},
                {"attached_unix_ns", s.attached_unix_ns},
                {"ct_capacity", s.ct_capacity},
                {"ct_half_open_capacity", s.ct_half_open_capacity},
                {"settings", to_json(s.settings)}};
}

json to_json(const PathCounters &c) {
    return json{{"connections", c.connections},
                {"packets", c.packets},
                {"bytes", c.bytes},
                {"requests", c.requests}};
}

namespace {

json number_or_null(std::optional<double> v) {
    return v ? json(*v) : json(nullptr);
}

}  // namespace

json to_json(const HttpCounters &c) {
    json codes = json::object();
    for (size_t i = 0; i < c.codes.size(); ++i)
        if (c.codes[i] != 0) codes[http_code_label(i)] = c.codes[i];
    return json{{"responses", c.final_responses()},
                {"timed", c.timed()},
                {"untimed", c.untimed},
                {"opaque_connections", c.opaque_connections},
                {"codes", codes},
                {"latency_sum_s", double(c.latency_sum_ns) / 1e9},
                {"buckets", c.buckets},
                {"p50_s", number_or_null(latency_quantile_seconds(c.buckets, 0.5))},
                {"p99_s", number_or_null(latency_quantile_seconds(c.buckets, 0.99))},
                {"error_ratio", number_or_null(c.error_ratio())}};
}

json to_json(const FunctionStats &f) {
    json peers = json::object(), fwd_in = json::object();
    for (const auto &[addr, c] : f.to_peer)
        peers[addr.str()] = to_json(c);
    for (const auto &[addr, c] : f.forwarded_in_by_peer)
        fwd_in[addr.str()] = json{{"accepted", c.accepted}, {"rejected", c.rejected}};
    // Only the routes that answered something: a function has up to 34 routes.
    json http = json::object(), http_peers = json::object();
    if (!f.http_local.empty()) http["local"] = to_json(f.http_local);
    if (!f.http_forwarded_in.empty()) http["forwarded_in"] = to_json(f.http_forwarded_in);
    for (const auto &[addr, c] : f.http_to_peer)
        if (!c.empty()) http_peers[addr.str()] = to_json(c);
    http["to_peer"] = http_peers;
    return json{{"name", f.name},
                {"id", f.id},
                {"local", to_json(f.local)},
                {"reject", to_json(f.reject)},
                {"forwarded_in", to_json(f.forwarded_in)},
                {"forwarded_in_reject", to_json(f.forwarded_in_reject)},
                {"to_peer", peers},
                {"forwarded_in_by_peer", fwd_in},
                {"http", http},
                {"user_requests", f.user_requests()}};
}

json to_json(const Stats &s) {
    json functions = json::array(), reasons = json::object(), peers = json::array();
    for (const auto &f : s.functions)
        functions.push_back(to_json(f));
    for (const auto &[name, v] : s.reasons)
        reasons[name] = v;
    for (const auto &p : s.peers)
        peers.push_back(json{{"addr", p.addr.str()},
                             {"index", p.index},
                             {"syn_forwarded", p.syn_forwarded},
                             {"synack_returned", p.synack_returned},
                             {"rst_returned", p.rst_returned},
                             {"forwarded_in_connections", p.forwarded_in_connections}});
    return json{{"functions", functions}, {"reasons", reasons}, {"peers", peers}};
}

json to_json(const CtEntry &e) {
    return json{{"client", e.client.str() + ":" + std::to_string(e.client_port)},
                {"gateway_port", e.gateway_port},
                {"service", e.service.str() + ":" + std::to_string(e.service_port)},
                {"path", to_string(e.path)},
                {"state", to_string(e.state)},
                {"function", e.function},
                {"peer", e.peer.is_unspecified() ? "" : e.peer.str()},
                {"age_s", e.age.count() / 1e9},
                {"idle_s", e.idle.count() / 1e9}};
}

json to_json(const Service &s) {
    return json{
        {"addr", s.addr.str()}, {"port", s.port}, {"function", s.function}, {"local", s.local}};
}

json policy_to_json(const FunctionPolicy &p) {
    json peers = json::object(), overflow = json::object(), limit_in = json::object();
    for (const auto &[a, w] : p.peers)
        peers[a.str()] = w;
    for (const auto &[a, w] : p.overflow)
        overflow[a.str()] = w;
    for (const auto &[a, l] : p.limit_in)
        limit_in[a.str()] = l;
    return json{{"local", p.local},         {"reject", p.reject},   {"peers", peers},
                {"local_cap", p.local_cap}, {"overflow", overflow}, {"limit_in", limit_in}};
}

}  // namespace dfaas::dp
