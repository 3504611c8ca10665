#include "views.h"

#include <cmath>

#include "dfaas/dataplane/json.h"
#include "dfaas/peers/reject.h"
#include "dfaas/version.h"

namespace dfaas::agent {

namespace {

using nlohmann::json;

double unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

json number_or_null(double v) {
    return std::isfinite(v) ? json(v) : json(nullptr);
}

json inputs_json(const AgentView &v) {
    json out = json::object();
    for (const auto &[name, s] : v.inputs) {
        json j{{"ok", s.ok && s.ever_reported}, {"failures", s.failures}};
        if (!s.last_error.empty()) j["last_error"] = s.last_error;
        if (s.last_ok.time_since_epoch().count()) j["last_ok_unix"] = unix_seconds(s.last_ok);
        out[name] = j;
    }
    return out;
}

json peer_counts(const AgentView &v) {
    int up = 0, down = 0;
    for (const auto &p : v.peers) {
        bool is_up = p.state == peers::MemberState::Alive && !v.unreachable.count(p.address);
        (is_up ? up : down) += 1;
    }
    return json{{"protocol", v.peer_protocol},
                {"up", up},
                {"down", down},
                {"over_capacity", v.peers_over_capacity},  // members without a data-plane slot
                {"candidates", v.candidates.size()}};
}

std::string state_of(const PeerView &p, const AgentView &v) {
    if (v.unreachable.count(p.address) && p.state != peers::MemberState::Dead) return "unreachable";
    return std::string(peers::to_string(p.state));
}

double instant_seconds(strategy::Instant t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

json status_json(const AgentView &v) {
    json dp = nullptr;
    if (v.dataplane)
        dp = json{{"attached", v.dataplane->ingress_attached && v.dataplane->egress_attached},
                  {"interface", v.dataplane->interface},
                  {"attached_since_unix", v.dataplane->attached_unix_ns / 1e9},
                  {"ingress_prog_id", v.dataplane->ingress_prog_id},
                  {"egress_prog_id", v.dataplane->egress_prog_id},
                  {"bpffs", v.dataplane->bpffs},
                  {"conntrack_entries", v.ct_entries},
                  {"conntrack_capacity", v.dataplane->ct_capacity}};
    json recalc{{"iterations", v.last_recalc.iterations},
                {"step", v.last_recalc.step},
                {"duration_ms", v.last_recalc.duration.count() / 1000.0},
                {"warnings", v.last_recalc.warnings}};
    if (v.last_recalc.iterations) recalc["at_unix"] = unix_seconds(v.last_recalc.at);
    if (v.last_recalc.degraded) recalc["degraded"] = *v.last_recalc.degraded;
    return json{{"node_id", v.node_id},
                {"node_ip", v.config.node.ip.str()},
                {"node_type", std::string(to_string(v.config.node.type))},
                {"version", DFAAS_VERSION},
                {"git", DFAAS_GIT},
                {"strategy", v.strategy_name},
                {"configured_strategy", std::string(to_string(v.config.strategy.name))},
                {"period_s", v.config.strategy.period.count() / 1000.0},
                {"started_at_unix", unix_seconds(v.started_at)},
                {"ready", v.ready},
                {"not_ready_reasons", v.not_ready_reasons},
                {"inputs", inputs_json(v)},
                {"last_recalc", recalc},
                {"policy_updates", v.policy_updates},
                {"functions", v.functions.size()},
                {"dataplane", dp},
                {"peers", peer_counts(v)}};
}

json functions_json(const AgentView &v) {
    json out = json::array();
    // Local functions first, then the ones only peers run (remote_only, with their runners).
    std::vector<const std::pair<const std::string, KnownFunction> *> listed;
    for (const auto &entry : v.functions)
        listed.push_back(&entry);
    for (const auto &entry : v.remote_functions)
        listed.push_back(&entry);
    for (const auto *entry : listed) {
        const auto &[name, kf] = *entry;
        const auto &info = kf.info;
        json f{{"name", name},
               {"remote_only", kf.remote_only},
               {"namespace", info.namespace_name},
               {"port", kf.port},
               {"replicas", info.replicas},
               {"available_replicas", info.available_replicas},
               {"maxrate", info.dfaas.max_rate ? json(*info.dfaas.max_rate) : json(nullptr)},
               {"group",
                info.dfaas.group ? json(std::string(to_string(*info.dfaas.group))) : json(nullptr)},
               {"labels", info.labels}};
        auto pol = v.installed.find(name);
        f["policy"] = pol == v.installed.end() ? json(nullptr) : dp::policy_to_json(pol->second);
        f["override"] = v.overrides.count(name) > 0;
        json rates{{"user_rps", 0.0},
                   {"local_rps", 0.0},
                   {"reject_cps", 0.0},
                   {"forwarded_in_rps", 0.0},
                   {"to_peer_rps", json::object()}};
        if (auto r = v.rates.find(name); r != v.rates.end()) {
            rates["user_rps"] = r->second.user_requests;
            rates["local_rps"] = r->second.local_requests;
            rates["reject_cps"] = r->second.reject_connections;
            rates["forwarded_in_rps"] = r->second.forwarded_in_requests;
            for (const auto &[peer, rps] : r->second.to_peer_requests)
                rates["to_peer_rps"][peer.str()] = rps;
        }
        if (auto p = v.period_user_rates.find(name); p != v.period_user_rates.end())
            rates["period_user_rps"] = p->second;
        f["rates"] = rates;
        json gateway{{"rate_by_code", json::object()}, {"mean_latency_s", nullptr}};
        if (auto g = v.node_metrics.invocation_rates.find(name);
            g != v.node_metrics.invocation_rates.end())
            for (const auto &[code, rps] : g->second)
                gateway["rate_by_code"][code] = number_or_null(rps);
        if (auto l = v.node_metrics.mean_latency_s.find(name);
            l != v.node_metrics.mean_latency_s.end())
            gateway["mean_latency_s"] = number_or_null(l->second);
        f["gateway"] = gateway;
        if (kf.remote_only) f["runners"] = kf.runners;
        out.push_back(f);
    }
    return out;
}

json policies_json(const AgentView &v, const std::string &function) {
    json out = json::object();
    for (const auto &[name, p] : v.installed) {
        if (!function.empty() && name != function) continue;
        json j = dp::policy_to_json(p);
        auto o = v.overrides.find(name);
        j["source"] = o == v.overrides.end() ? "strategy" : "override";
        if (o != v.overrides.end() && o->second.expires_at)
            j["override_expires_unix"] = unix_seconds(*o->second.expires_at);
        // Routes the feedback guard keeps out until the next strategy step (their share is in
        // the weights above). Listed under an override too: the override is installed as given.
        json guarded = json::array();
        for (const auto &[key, g] : v.guarded_routes)
            if (key.function == name)
                guarded.push_back(json{{"route", route_label(key.route)},
                                       {"cause", g.cause},
                                       {"error_ratio", g.error_ratio}});
        j["guarded"] = guarded;
        out[name] = j;
    }
    return out;
}

json peers_json(const AgentView &v) {
    json out = json::array();
    for (const auto &p : v.peers) {
        json functions = json::array();
        for (const auto &f : p.functions) {
            json entry{{"name", f.name}, {"port", f.port}};
            if (f.remote_only) entry["remote_only"] = true;  // it only forwards it
            functions.push_back(std::move(entry));
        }
        json reported = json::object();
        std::string summary;
        if (p.recalc_limit_out) {
            reported["recalc_limit_out"] = *p.recalc_limit_out;
            for (const auto &[f, limit] : *p.recalc_limit_out)
                summary +=
                    (summary.empty() ? "limit_out " : ",") + f + "=" + std::to_string(int(limit));
        }
        if (p.nms_margin) {
            reported["nms_margin"] = *p.nms_margin;
            summary += (summary.empty() ? "" : " ") + std::string("margin ") +
                       std::to_string(*p.nms_margin).substr(0, 5);
        }
        json j{{"id", p.id},
               {"address", p.address.str()},
               {"peer_port", p.peer_port},
               {"state", state_of(p, v)},
               {"last_seen_unix", instant_seconds(p.last_seen)},
               {"joined_unix", instant_seconds(p.joined)},
               {"messages", p.messages},
               {"strategy", p.strategy},
               {"node_type", std::string(to_string(p.node_type))},
               {"functions", functions},
               {"reported", reported},
               {"reported_summary", summary.empty() ? "-" : summary}};
        if (v.peer_stats)
            for (const auto &[endpoint, c] : v.peer_stats->sent.destinations)
                if (endpoint.addr == p.address)
                    j["sent"] = json{{"ok", c.sent()},
                                     {"failed", c.failed()},
                                     {"last_status", std::string(peers::to_string(c.last_status))},
                                     {"last_reason", c.last_reason}};
        out.push_back(j);
    }
    return out;
}

json stats_json(const AgentView &v) {
    json out{{"stats", v.stats ? dp::to_json(*v.stats) : json(nullptr)}};
    json rates = json::object();
    for (const auto &[name, r] : v.rates) {
        json peers = json::object();
        for (const auto &[peer, rps] : r.to_peer_requests)
            peers[peer.str()] = rps;
        rates[name] = json{{"user_rps", r.user_requests},
                           {"local_rps", r.local_requests},
                           {"reject_cps", r.reject_connections},
                           {"forwarded_in_rps", r.forwarded_in_requests},
                           {"forwarded_in_reject_cps", r.forwarded_in_rejects},
                           {"to_peer_rps", peers}};
    }
    out["rates_per_second"] = rates;
    return out;
}

}  // namespace dfaas::agent
