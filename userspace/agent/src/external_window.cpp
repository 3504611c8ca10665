#include "external_window.h"

#include <algorithm>
#include <cmath>

namespace dfaas::agent {

namespace {

// Counters only grow; a smaller value means the slot was reused (a function id or peer index
// given to another one, its counters zeroed): count from zero, as the rate meter does.
uint64_t grown(uint64_t end, uint64_t start) {
    return end >= start ? end - start : end;
}

const dp::FunctionStats &function_at_start(const dp::Stats &start, const std::string &name) {
    static const dp::FunctionStats kNeverSeen{};
    const dp::FunctionStats *found = start.function(name);
    return found ? *found : kNeverSeen;
}

uint64_t to_peer(const dp::FunctionStats &f, Ipv4 peer, uint64_t dp::PathCounters::*counter) {
    auto it = f.to_peer.find(peer);
    return it == f.to_peer.end() ? 0 : it->second.*counter;
}

const dp::HttpCounters &http_to_peer(const dp::FunctionStats &f, Ipv4 peer) {
    static const dp::HttpCounters kNothingAnswered{};
    auto it = f.http_to_peer.find(peer);
    return it == f.http_to_peer.end() ? kNothingAnswered : it->second;
}

// Final responses that are not 2xx: what the reference counted as not served (HAProxy's
// non-2xx answers). Malformed status lines count: they ended a request without a 2xx.
uint64_t count_not_2xx(const dp::HttpCounters &c) {
    return c.final_responses() - c.codes[size_t(dp::HttpCode::Ok200)] -
           c.codes[size_t(dp::HttpCode::Other2xx)];
}

// What one route answered in the window, from its counters at the window's two ends.
struct HttpGrowth {
    uint64_t final_responses = 0;
    uint64_t not_2xx = 0;
    uint64_t timed = 0;
    uint64_t latency_sum_ns = 0;

    void add(const dp::HttpCounters &end, const dp::HttpCounters &start) {
        final_responses += grown(end.final_responses(), start.final_responses());
        not_2xx += grown(count_not_2xx(end), count_not_2xx(start));
        timed += grown(end.timed(), start.timed());
        latency_sum_ns += grown(end.latency_sum_ns, start.latency_sum_ns);
    }
    // Mean latency of the timed responses in milliseconds; 0 when none was timed.
    double mean_latency_ms() const {
        return timed ? double(latency_sum_ns) / double(timed) / 1e6 : 0;
    }
};

const dp::PeerCounters *peer_counters(const dp::Stats &stats, Ipv4 addr) {
    for (const auto &p : stats.peers)
        if (p.addr == addr) return &p;
    return nullptr;
}

double share_of_cores(double percent_of_one_core, unsigned cores) {
    return std::clamp(percent_of_one_core / 100.0 / double(std::max(cores, 1u)), 0.0, 1.0);
}

}  // namespace

std::string_view cpu_source_name(CpuSource source) {
    switch (source) {
        case CpuSource::Function:
            return "function";
        case CpuSource::Node:
            return "node";
        case CpuSource::None:
            return "none";
    }
    return "none";
}

CpuShare cpu_share(const WindowSources &sources) {
    double functions_percent = 0;
    bool any_function = false;
    for (const std::string &name : sources.local_functions) {
        auto cpu = sources.function_cpu_percent.find(name);
        if (cpu == sources.function_cpu_percent.end() || !std::isfinite(cpu->second)) continue;
        functions_percent += cpu->second;
        any_function = true;
    }
    if (any_function)
        return {share_of_cores(functions_percent, sources.node_cores), CpuSource::Function};
    if (sources.cpu_percent && std::isfinite(*sources.cpu_percent))
        return {share_of_cores(*sources.cpu_percent, sources.node_cores), CpuSource::Node};
    return {};
}

strategy::NodeWindow measure_window(const WindowSources &sources) {
    strategy::NodeWindow window;
    window.replicas = sources.replicas;
    window.cpu_utilization = cpu_share(sources).utilization;
    if (!sources.start || !sources.end || !(sources.seconds > 0)) return window;
    const dp::Stats &start = *sources.start;
    const dp::Stats &end = *sources.end;

    uint64_t user_requests = 0, local_requests = 0, rejected_connections = 0;
    HttpGrowth local_http;
    std::map<Ipv4, uint64_t> forwarded_requests;
    std::map<Ipv4, HttpGrowth> forwarded_http;
    double gateway_latency_weighted_s = 0, gateway_latency_requests = 0;
    for (const auto &f : end.functions) {
        const dp::FunctionStats &before = function_at_start(start, f.name);
        user_requests += grown(f.user_requests(), before.user_requests());
        const uint64_t local = grown(f.local.requests, before.local.requests);
        local_requests += local;
        rejected_connections += grown(f.reject.connections, before.reject.connections);
        local_http.add(f.http_local, before.http_local);
        for (const auto &[peer, c] : f.to_peer)
            forwarded_requests[peer] +=
                grown(c.requests, to_peer(before, peer, &dp::PathCounters::requests));
        for (const auto &[peer, c] : f.http_to_peer)
            forwarded_http[peer].add(c, http_to_peer(before, peer));
        auto latency = sources.mean_latency_s.find(f.name);
        if (latency != sources.mean_latency_s.end() && std::isfinite(latency->second) && local) {
            gateway_latency_weighted_s += latency->second * double(local);
            gateway_latency_requests += double(local);
        }
    }
    window.input_rate = double(user_requests) / sources.seconds;

    // The reference's reject_rate is the share of the requests for the local OpenFaaS not
    // answered 2xx. Here a request is refused in two places: this data plane resets the
    // connection (the reject route: one request each, as in input_rate) or the local gateway
    // answers it non-2xx. The requests of the local route are its final responses, or its
    // request starts when there are more (TLS and HTTP/2 connections get no HTTP status; a
    // request still unanswered when the window closes has no response yet) -- never fewer than
    // the requests the data plane saw, so an opaque route cannot make every rejection look total.
    const uint64_t local_answered_or_sent = std::max(local_http.final_responses, local_requests);
    const uint64_t refused = local_http.not_2xx + rejected_connections;
    if (const uint64_t sent_to_node = local_answered_or_sent + rejected_connections)
        window.reject_rate = double(refused) / double(sent_to_node);

    // The data plane's own timing of the local route when it timed responses in the window (the
    // time from the request's first byte to the response's first byte, at this node's edge);
    // otherwise the gateway's mean, weighted by each function's local requests.
    if (local_http.timed)
        window.avg_response_time_local_ms = local_http.mean_latency_ms();
    else if (gateway_latency_requests > 0)
        window.avg_response_time_local_ms =
            gateway_latency_weighted_s / gateway_latency_requests * 1000.0;

    for (const auto &[addr, id] : sources.peer_ids) {
        strategy::PeerWindow &peer = window.peers[id];
        auto forwarded = forwarded_requests.find(addr);
        if (forwarded != forwarded_requests.end())
            peer.forwarded_rate = double(forwarded->second) / sources.seconds;
        // Refused by the peer: its gateway's non-2xx answers to what this node forwarded, plus
        // the RSTs it answered to forwarded SYNs (its limit_in, or nothing listening; the data
        // plane counts those per peer, all functions together).
        uint64_t refused_by_peer = 0;
        auto http = forwarded_http.find(addr);
        if (http != forwarded_http.end()) {
            refused_by_peer += http->second.not_2xx;
            peer.avg_response_time_ms = http->second.mean_latency_ms();
        }
        if (const dp::PeerCounters *now = peer_counters(end, addr)) {
            const dp::PeerCounters *then = peer_counters(start, addr);
            refused_by_peer += grown(now->rst_returned, then ? then->rst_returned : 0);
        }
        peer.forwarded_rejected_rate = double(refused_by_peer) / sources.seconds;
    }
    return window;
}

}  // namespace dfaas::agent
