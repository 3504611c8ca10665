#include "metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "dfaas/version.h"

namespace dfaas::agent {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<std::pair<std::string, std::string>>;

class Families {
  public:
    MetricFamily &family(const std::string &name, const std::string &help, MetricType type) {
        for (auto &f : families_)
            if (f.name == name) return f;
        families_.push_back(MetricFamily{name, help, type, {}});
        return families_.back();
    }
    void add(const std::string &name, const std::string &help, MetricType type,
             const Labels &labels, double value) {
        ClientMetric m;
        for (const auto &[k, v] : labels)
            m.label.push_back(ClientMetric::Label{k, v});
        if (type == MetricType::Counter)
            m.counter.value = value;
        else
            m.gauge.value = value;
        family(name, help, type).metric.push_back(std::move(m));
    }
    void counter(const std::string &name, const std::string &help, const Labels &labels,
                 double value) {
        add(name, help, MetricType::Counter, labels, value);
    }
    void gauge(const std::string &name, const std::string &help, const Labels &labels,
               double value) {
        add(name, help, MetricType::Gauge, labels, value);
    }
    std::vector<MetricFamily> &all() { return families_; }

  private:
    std::vector<MetricFamily> families_;
};

void path_counters(Families &f, const std::string &function, const std::string &path,
                   const std::string &peer, const dp::PathCounters &c) {
    Labels l{{"function", function}, {"path", path}, {"peer", peer}};
    f.counter("dfaas_connections_total", "New connections steered, by function and path.", l,
              double(c.connections));
    f.counter("dfaas_requests_total",
              "HTTP requests seen in client segments, by function and path.", l,
              double(c.requests));
    f.counter("dfaas_packets_total", "Packets of steered connections (both directions).", l,
              double(c.packets));
    f.counter("dfaas_bytes_total", "Bytes (L3) of steered connections (both directions).", l,
              double(c.bytes));
}

// HTTP/1.x responses and latencies of one (function, route), as the data plane measured them
// (dfaas_http_stats). Cumulative: the map's values only grow while the agent runs (an entry is
// deleted only when its function or peer goes away, and then the series goes too). A route that
// never answered gets no series: a function has up to 34 routes.
void http_metrics(Families &f, const std::string &function, const std::string &route,
                  const std::string &peer, const dp::HttpCounters &c) {
    if (c.empty()) return;
    Labels l{{"function", function}, {"route", route}, {"peer", peer}};
    ClientMetric m;
    for (const auto &[k, v] : l)
        m.label.push_back(ClientMetric::Label{k, v});
    uint64_t cumulative = 0;
    for (size_t i = 0; i < dp::kHttpBuckets; ++i) {
        cumulative += c.buckets[i];
        // The last bucket's bound is +Inf: the exposition's mandatory le="+Inf".
        m.histogram.bucket.push_back(
            ClientMetric::Bucket{cumulative, dp::http_bucket_upper_seconds(i)});
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = double(c.latency_sum_ns) / 1e9;
    f.family("dfaas_request_duration_seconds",
             "HTTP/1.x request latency measured by the data plane, from the request's first "
             "segment to the response's first segment as this node sees them, by function and "
             "route (local, forwarded_in, peer). Pipelined requests are not timed.",
             MetricType::Histogram)
        .metric.push_back(std::move(m));
    for (size_t code = 0; code < dp::kHttpCodes; ++code) {
        Labels with_code = l;
        with_code.emplace_back("code", dp::http_code_label(code));
        f.counter("dfaas_responses_total",
                  "HTTP/1.x responses seen by the data plane, by function, route and status: "
                  "200, 404, 429, 500, 502, 503, 504 exactly; 1xx..5xx the codes of that class "
                  "not listed separately (1xx: interim answers); malformed: a status line "
                  "without a three-digit code.",
                  with_code, double(c.codes[code]));
    }
    f.counter("dfaas_responses_untimed_total",
              "Final HTTP/1.x responses not timed: answers to pipelined requests.", l,
              double(c.untimed));
    f.counter("dfaas_opaque_connections_total",
              "Connections whose payload is not HTTP/1.x (TLS, HTTP/2, other): counted, not "
              "parsed.",
              l, double(c.opaque_connections));
}

void dataplane_metrics(Families &f, const dp::Stats &stats) {
    for (const auto &fs : stats.functions) {
        path_counters(f, fs.name, "local", "", fs.local);
        path_counters(f, fs.name, "reject", "", fs.reject);
        path_counters(f, fs.name, "forwarded_in", "", fs.forwarded_in);
        path_counters(f, fs.name, "forwarded_in_reject", "", fs.forwarded_in_reject);
        // A (function, peer) series appears once the pair has carried traffic: at the limits
        // (256 functions x 32 peers) zeros for every pair were 37k series, a 2.7 MB scrape and
        // 30 MiB of agent memory per render (issue 14).
        for (const auto &[peer, c] : fs.to_peer)
            if (c.connections != 0 || c.packets != 0)
                path_counters(f, fs.name, "peer", peer.str(), c);
        http_metrics(f, fs.name, "local", "", fs.http_local);
        http_metrics(f, fs.name, "forwarded_in", "", fs.http_forwarded_in);
        for (const auto &[peer, c] : fs.http_to_peer)
            http_metrics(f, fs.name, "peer", peer.str(), c);
    }
    for (const auto &[reason, v] : stats.reasons)
        f.counter("dfaas_datapath_events_total",
                  "Data-plane events by reason: packets seen, passes and drops with their cause.",
                  {{"reason", reason}}, double(v));
    for (const auto &p : stats.peers) {
        Labels l{{"peer", p.addr.str()}};
        f.counter("dfaas_peer_forwarded_syns_total",
                  "New connections forwarded to the peer (SYNs encapsulated).", l,
                  double(p.syn_forwarded));
        f.counter("dfaas_peer_synacks_total",
                  "SYN-ACKs that came back from the peer for forwarded connections.", l,
                  double(p.synack_returned));
        f.counter("dfaas_peer_forwarded_in_connections_total",
                  "Connections the peer forwarded to this node.", l,
                  double(p.forwarded_in_connections));
    }
}

void policy_metrics(Families &f, const AgentView &v) {
    for (const auto &[name, p] : v.installed) {
        auto weight = [&](const std::string &target, const std::string &peer, double w) {
            f.gauge("dfaas_policy_weight",
                    "Installed weight (0-100) of a target for new connections (overflow: beyond "
                    "the local cap).",
                    {{"function", name}, {"target", target}, {"peer", peer}}, w);
        };
        weight("local", "", p.local);
        weight("reject", "", p.reject);
        for (const auto &[peer, w] : p.peers)
            weight("peer", peer.str(), w);
        for (const auto &[peer, w] : p.overflow)
            weight("overflow", peer.str(), w);
        f.gauge("dfaas_policy_local_cap_connections_per_second",
                "Local cap of the function (0 = none); over it the overflow weights apply.",
                {{"function", name}}, p.local_cap);
        f.gauge("dfaas_policy_override",
                "1 when an operator override replaces the strategy's policy.", {{"function", name}},
                v.overrides.count(name) ? 1 : 0);
    }
}

// The feedback guard: one series per route guarded at least once (a route the data plane no
// longer has is forgotten, so the series are bounded by the routes that exist).
void guard_metrics(Families &f, const AgentView &v) {
    for (const auto &[key, times] : v.guard_adjustments) {
        Labels l{{"function", key.function}, {"route", route_label(key.route)}};
        f.counter("dfaas_guard_adjustments_total",
                  "Times the feedback guard moved a failing route's share to the function's "
                  "other routes.",
                  l, double(times));
        f.gauge("dfaas_guard_active",
                "1 while the feedback guard keeps the route out of the function's policy (until "
                "the next strategy step).",
                l, v.guarded_routes.count(key) ? 1 : 0);
    }
}

void rate_metrics(Families &f, const AgentView &v) {
    for (const auto &[name, rate] : v.period_user_rates)
        f.gauge("dfaas_user_request_rate_per_second",
                "User request rate per function averaged over the last strategy period.",
                {{"function", name}}, rate);
}

// Cumulative since the agent started (StepDurationHistogram): _count and every bucket only go up,
// so rate() and histogram_quantile() over them are right across scrapes.
void step_duration_histogram(Families &fam, const StepDurationHistogram &h) {
    ClientMetric m;
    for (size_t i = 0; i < StepDurationHistogram::kBounds.size(); ++i)
        m.histogram.bucket.push_back(
            ClientMetric::Bucket{h.cumulative(i), StepDurationHistogram::kBounds[i]});
    m.histogram.bucket.push_back(
        ClientMetric::Bucket{h.count, std::numeric_limits<double>::infinity()});
    m.histogram.sample_count = h.count;
    m.histogram.sample_sum = h.sum;
    fam.family("dfaas_strategy_step_duration_seconds",
               "Duration of strategy steps (gather, decide, install) since the agent started.",
               MetricType::Histogram)
        .metric.push_back(m);
}

void peer_metrics(Families &f, const AgentView &v) {
    for (const auto &p : v.peers) {
        // `peer` (the peer's address) is the one peer label of every family; the node id, which
        // changes when a node loses its id file, is an info series joined on it.
        Labels l{{"peer", p.address.str()}};
        f.gauge("dfaas_peer_info", "Always 1: the node id of the peer at this address.",
                {{"peer", p.address.str()}, {"node_id", p.id}}, 1);
        bool up = p.state == peers::MemberState::Alive && !v.unreachable.count(p.address);
        f.gauge("dfaas_peer_up", "1 when the peer is alive and answers forwarded connections.", l,
                up ? 1 : 0);
        f.gauge("dfaas_peer_last_seen_timestamp_seconds",
                "Unix time of the peer's last authenticated message.", l,
                std::chrono::duration<double>(p.last_seen.time_since_epoch()).count());
    }
    if (!v.peer_stats) return;
    const auto &rx = v.peer_stats->received;
    for (size_t i = 0; i < peers::kMessageTypeCount; ++i)
        f.counter("dfaas_peer_messages_received_total", "Peer messages accepted, by type.",
                  {{"type", std::string(peers::kMessageTypes[i])}}, double(rx.accepted[i]));
    for (size_t i = 0; i < peers::kRejectReasonCount; ++i)
        f.counter("dfaas_peer_messages_rejected_total", "Peer messages refused, by reason.",
                  {{"reason", std::string(peers::to_string(peers::RejectReason(i)))}},
                  double(rx.rejected[i]));
    for (size_t i = 0; i < peers::kSendStatusCount; ++i)
        f.counter("dfaas_peer_messages_sent_total", "Peer messages sent, by outcome.",
                  {{"result", std::string(peers::to_string(peers::SendStatus(i)))}},
                  double(v.peer_stats->sent.totals[i]));
    f.counter("dfaas_peer_heartbeats_total", "Heartbeat rounds sent.", {},
              double(v.peer_stats->heartbeats));
}

// Scale limits reached and failures contained (issue 14): each is a policy with a count.
void limit_metrics(Families &f, const AgentView &v) {
    if (v.peer_protocol) {
        f.gauge("dfaas_peers_over_capacity",
                "Members kept out of the data plane: more members than its peer slots.", {},
                double(v.peers_over_capacity));
        f.gauge("dfaas_peer_services_refused",
                "Members or member function ports refused: they would replace this node's own "
                "entries.",
                {}, double(v.peer_services_refused));
        // Functions only peers run (issue 19).
        f.gauge("dfaas_remote_functions",
                "Functions only peers run, given a port on this node and forwarded to them.", {},
                double(v.remote_functions.size()));
        std::map<std::string, double> refused{{"limit", 0},
                                              {"dataplane_capacity", 0},
                                              {"port_conflict", 0},
                                              {"port_outside_range", 0},
                                              {"dataplane_error", 0}};
        for (const auto &[name, reason] : v.remote_functions_refused)
            refused[reason] += 1;
        for (const auto &[reason, n] : refused)
            f.gauge("dfaas_remote_functions_refused",
                    "Functions peers run that get no port on this node, by reason.",
                    {{"reason", reason}}, n);
    }
    std::map<std::string, double> skipped{
        {"dataplane_capacity", 0}, {"dataplane_error", 0}, {"no_port", 0}};
    for (const auto &[name, reason] : v.skipped_functions)
        skipped[reason] += 1;
    for (const auto &[reason, n] : skipped)
        f.gauge("dfaas_functions_skipped",
                "Functions listed by OpenFaaS but not served, by reason.", {{"reason", reason}}, n);
    for (const auto &[part, n] :
         {std::pair{"strategy_step", v.step_failures}, std::pair{"control_tick", v.tick_failures},
          std::pair{"policy_install", v.install_failures},
          std::pair{"peer_sync", v.peer_sync_failures}})
        f.counter("dfaas_agent_errors_total",
                  "Failures caught and contained (the item is retried; the agent goes on).",
                  {{"part", part}}, double(n));
}

// Seconds since the epoch at which the machine booted (/proc/stat's btime), 0 when unknown.
double boot_time_seconds() {
    std::ifstream stat("/proc/stat");
    for (std::string line; std::getline(stat, line);)
        if (line.rfind("btime ", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
    return 0;
}

// The standard process metrics (the agent's own CPU, memory, start time, file descriptors), as
// client libraries export them: the default node-CPU query falls back to process_cpu_seconds_total
// when no node-exporter is scraped, the agent-cost benchmark reads them, and dashboards and alerts
// compute uptime from process_start_time_seconds. `agent_started` stands in for the start time
// when /proc does not give it.
void process_metrics(Families &f, std::chrono::system_clock::time_point agent_started) {
    std::ifstream stat("/proc/self/stat");
    std::string line;
    std::vector<std::string> fields;
    if (std::getline(stat, line)) {
        auto close = line.rfind(')');  // the command name may contain spaces
        if (close != std::string::npos && close + 2 <= line.size()) {
            std::istringstream rest(line.substr(close + 2));
            for (std::string x; rest >> x;)
                fields.push_back(x);
        }
    }
    // After the name: field 3 is index 0, so utime (14) is 11, stime (15) 12, starttime (22) 19,
    // vsize (23) 20, rss (24) 21.
    const double ticks = double(sysconf(_SC_CLK_TCK));
    double start = std::chrono::duration<double>(agent_started.time_since_epoch()).count();
    if (fields.size() >= 22) {
        double cpu =
            (std::strtod(fields[11].c_str(), nullptr) + std::strtod(fields[12].c_str(), nullptr)) /
            ticks;
        double rss = std::strtod(fields[21].c_str(), nullptr) * double(sysconf(_SC_PAGESIZE));
        f.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                  {}, cpu);
        f.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {}, rss);
        f.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {},
                std::strtod(fields[20].c_str(), nullptr));
        if (double boot = boot_time_seconds(); boot > 0)
            start = boot + std::strtod(fields[19].c_str(), nullptr) / ticks;
    }
    f.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            {}, start);
    std::error_code ec;
    size_t fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++fds;
    if (!ec) f.gauge("process_open_fds", "Number of open file descriptors.", {}, double(fds));
    if (rlimit lim{}; getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
        f.gauge("process_max_fds", "Maximum number of open file descriptors.", {},
                double(lim.rlim_cur));
}

}  // namespace

std::string render_metrics(const AgentView &v) {
    Families f;
    f.gauge("dfaas_build_info", "Build information.",
            {{"version", DFAAS_VERSION}, {"git", DFAAS_GIT}}, 1);
    f.gauge("dfaas_ready", "1 when the agent is ready (data plane attached, inputs healthy).", {},
            v.ready ? 1 : 0);
    for (const auto &[input, s] : v.inputs) {
        f.gauge("dfaas_input_up", "1 when the input answered at its last use.", {{"input", input}},
                s.ok && s.ever_reported ? 1 : 0);
        f.counter("dfaas_input_failures_total", "Failed uses of an input.", {{"input", input}},
                  double(s.failures));
    }
    f.counter("dfaas_strategy_iterations_total", "Strategy steps run.", {},
              double(v.last_recalc.iterations));
    f.gauge("dfaas_strategy_last_duration_seconds", "Duration of the last strategy step.", {},
            v.last_recalc.duration.count() / 1e6);
    step_duration_histogram(f, v.step_durations);
    f.counter("dfaas_policy_updates_total", "Policies written to the data plane.", {},
              double(v.policy_updates));
    f.counter("dfaas_state_file_refused_total",
              "State files (node.state_file) ignored at start: corrupt, too large, another node's.",
              {}, double(v.state_file_refused));
    f.counter("dfaas_state_file_write_errors_total", "Failed writes of node.state_file.", {},
              double(v.state_file_write_errors));
    f.counter("dfaas_empty_function_lists_held_total",
              "Empty OpenFaaS function lists not applied while the node serves functions.", {},
              double(v.empty_function_lists_held));
    f.gauge("dfaas_functions", "Functions known from OpenFaaS.", {}, double(v.functions.size()));
    limit_metrics(f, v);
    f.gauge("dfaas_conntrack_entries", "Tracked connections at the last garbage collection.", {},
            double(v.ct_entries));
    // The TC programs as last checked (every control tick): 0 before the first attach or when a
    // program was removed from the interface (what the DataPlaneDetached alert watches).
    for (const auto &[hook, attached] :
         {std::pair{"ingress", v.dataplane && v.dataplane->ingress_attached},
          std::pair{"egress", v.dataplane && v.dataplane->egress_attached}})
        f.gauge("dfaas_dataplane_attached",
                "1 when the data plane's TC program is attached to the interface, by hook.",
                {{"hook", hook}}, attached ? 1 : 0);
    if (v.dataplane)
        f.gauge("dfaas_conntrack_capacity", "Conntrack table size.", {},
                double(v.dataplane->ct_capacity));
    f.counter("dfaas_conntrack_expired_total", "Conntrack entries removed by the collector.", {},
              double(v.ct_expired_total));
    // Base unit: a ratio of one core, as the strategy sees it (cpu_utilization); above 1 when more
    // than one core's worth is busy. node_cpu_query answers in percent of one core.
    if (v.node_metrics.cpu_percent)
        f.gauge("dfaas_node_cpu_ratio",
                "Node CPU in use from Prometheus, as a ratio of one core (2 = two cores busy).", {},
                *v.node_metrics.cpu_percent / 100.0);
    if (v.node_metrics.ram_bytes)
        f.gauge("dfaas_node_memory_bytes", "Node memory in use from Prometheus.", {},
                *v.node_metrics.ram_bytes);
    // One series per source, 1 for the one the last observation used (none before the first).
    if (!v.external_cpu_source.empty())
        for (const char *source : {"function", "node", "none"})
            f.gauge("dfaas_external_cpu_source",
                    "1 for where the external model's cpu_utilization came from: the local "
                    "functions' CPU (function), the node's (node) or none.",
                    {{"source", source}}, v.external_cpu_source == source ? 1 : 0);
    policy_metrics(f, v);
    guard_metrics(f, v);
    rate_metrics(f, v);
    if (v.stats) dataplane_metrics(f, *v.stats);

    peer_metrics(f, v);
    process_metrics(f, v.started_at);

    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, f.all());
    return out.str();
}

// The HTTP front doors (peer, api, health): refusals by reason and open connections.
std::string render_http_metrics(const std::vector<peers::HttpListenerSnapshot> &listeners) {
    Families f;
    for (const auto &l : listeners) {
        for (const auto reason : peers::all_http_refusals())
            f.counter("dfaas_http_refused_total",
                      "HTTP requests and connections refused before their body was read, by "
                      "listener and reason.",
                      {{"listener", l.listener}, {"reason", std::string(peers::to_string(reason))}},
                      double(l.refused_for(reason)));
        f.gauge("dfaas_http_connections", "Open HTTP connections, by listener.",
                {{"listener", l.listener}}, double(l.connections));
        f.counter("dfaas_http_connections_accepted_total",
                  "HTTP connections admitted (within the per-source and total limits).",
                  {{"listener", l.listener}}, double(l.accepted_connections));
        f.counter("dfaas_http_fast_lane_total",
                  "HTTP connections over the limits served anyway because their whole GET/HEAD "
                  "request head was already there (the fast lane; a slow-loris never gets it).",
                  {{"listener", l.listener}}, double(l.fast_lane_served));
        const std::string lane_refused =
            "HTTP connections over the limits refused the fast lane: no_waiting_place (head not "
            "whole yet, every waiting place held by heads still arriving) or no_place (whole "
            "head, every place held).";
        f.counter("dfaas_http_fast_lane_refused_total", lane_refused,
                  {{"listener", l.listener}, {"cause", "no_waiting_place"}},
                  double(l.fast_lane_no_waiting_place));
        f.counter("dfaas_http_fast_lane_refused_total", lane_refused,
                  {{"listener", l.listener}, {"cause", "no_place"}}, double(l.fast_lane_no_place));
        const std::string lane_places =
            "Fast-lane places held now: by heads still arriving (waiting) or requests being "
            "served (serving).";
        f.gauge("dfaas_http_fast_lane_places", lane_places,
                {{"listener", l.listener}, {"use", "waiting"}}, double(l.fast_lane_waiting));
        f.gauge("dfaas_http_fast_lane_places", lane_places,
                {{"listener", l.listener}, {"use", "serving"}}, double(l.fast_lane_serving));
        f.counter("dfaas_http_read_bytes_total", "Bytes read from HTTP clients, by listener.",
                  {{"listener", l.listener}}, double(l.bytes_read));
    }
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, f.all());
    return out.str();
}

}  // namespace dfaas::agent
