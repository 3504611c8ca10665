// The external (RL) model's measurements of one window, from the data plane's counters at the
// window's two ends and the gateway's Prometheus series, in the reference's units
// (docs/strategies.md, "The external model's observation").
#pragma once

#include <map>
#include <optional>
#include <string>

#include "dfaas/dataplane/types.h"
#include "dfaas/strategy/snapshot.h"

namespace dfaas::agent {

struct WindowSources {
    const dp::Stats *start = nullptr;  // the data plane's counters when the window opened
    const dp::Stats *end = nullptr;    // ... and when it closed
    double seconds = 0;                // between the two readings
    // The peers the observation names: data plane address -> peer id. Counters of other
    // addresses (not members, or not live) are left out.
    std::map<Ipv4, std::string> peer_ids;
    // The gateway's mean latency per function over the Prometheus window (NaN: no request):
    // avg_resp_time_loc when the data plane timed no local response in the window.
    std::map<std::string, double> mean_latency_s;
    // The node's CPU in use, in percent of one core (the agent's node_cpu_query); nullopt when
    // Prometheus did not answer.
    std::optional<double> cpu_percent;
    unsigned node_cores = 1;  // the cores of this node, to make cpu_percent a share of the node
    double replicas = 0;      // replicas of the node's functions
};

// An empty window (all zeros) when either reading is missing or seconds <= 0.
strategy::NodeWindow measure_window(const WindowSources &sources);

}  // namespace dfaas::agent
