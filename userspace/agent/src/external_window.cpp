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

const dp::PeerCounters *peer_counters(const dp::Stats &stats, Ipv4 addr) {
    for (const auto &p : stats.peers)
        if (p.addr == addr) return &p;
    return nullptr;
}

}  // namespace

strategy::NodeWindow measure_window(const WindowSources &sources) {
    strategy::NodeWindow window;
    window.replicas = sources.replicas;
    if (sources.cpu_percent && std::isfinite(*sources.cpu_percent))
        window.cpu_utilization = std::clamp(
            *sources.cpu_percent / 100.0 / double(std::max(sources.node_cores, 1u)), 0.0, 1.0);
    if (!sources.start || !sources.end || !(sources.seconds > 0)) return window;
    const dp::Stats &start = *sources.start;
    const dp::Stats &end = *sources.end;

    uint64_t user_requests = 0, user_connections = 0, rejected_connections = 0;
    std::map<Ipv4, uint64_t> forwarded_requests;
    double latency_weighted_s = 0, local_requests_timed = 0;
    for (const auto &f : end.functions) {
        const dp::FunctionStats &before = function_at_start(start, f.name);
        user_requests += grown(f.user_requests(), before.user_requests());
        const uint64_t local = grown(f.local.requests, before.local.requests);
        const uint64_t rejected = grown(f.reject.connections, before.reject.connections);
        rejected_connections += rejected;
        user_connections += grown(f.local.connections, before.local.connections) + rejected;
        for (const auto &[peer, c] : f.to_peer) {
            user_connections +=
                grown(c.connections, to_peer(before, peer, &dp::PathCounters::connections));
            forwarded_requests[peer] +=
                grown(c.requests, to_peer(before, peer, &dp::PathCounters::requests));
        }
        auto latency = sources.mean_latency_s.find(f.name);
        if (latency != sources.mean_latency_s.end() && std::isfinite(latency->second) && local) {
            latency_weighted_s += latency->second * double(local);
            local_requests_timed += double(local);
        }
    }
    window.input_rate = double(user_requests) / sources.seconds;
    if (user_connections)
        window.reject_rate = double(rejected_connections) / double(user_connections);
    if (local_requests_timed > 0)
        window.avg_response_time_local_ms = latency_weighted_s / local_requests_timed * 1000.0;

    for (const auto &[addr, id] : sources.peer_ids) {
        strategy::PeerWindow &peer = window.peers[id];
        auto forwarded = forwarded_requests.find(addr);
        if (forwarded != forwarded_requests.end())
            peer.forwarded_rate = double(forwarded->second) / sources.seconds;
        // A peer refuses a forwarded connection with a RST to its SYN (its limit_in, or nothing
        // listening): the data plane counts those per peer, all functions together.
        if (const dp::PeerCounters *now = peer_counters(end, addr)) {
            const dp::PeerCounters *then = peer_counters(start, addr);
            peer.forwarded_rejected_rate =
                double(grown(now->rst_returned, then ? then->rst_returned : 0)) / sources.seconds;
        }
        // avg_response_time_ms stays 0: nothing measures the latency of forwarded requests yet
        // (issue 19 item 1, latency in the data plane; the peer protocol does not carry it).
    }
    return window;
}

}  // namespace dfaas::agent
