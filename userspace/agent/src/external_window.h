// The external (RL) model's measurements of one window, from the data plane's counters at the
// window's two ends and the gateway's Prometheus series, in the reference's units
// (docs/strategies.md, "The external model's observation").
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

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
    // The CPU of each function's containers in percent of one core (function_cpu_query), and
    // the functions this node serves locally: their sum is the reference's cpu_utilization.
    // Functions only peers run are left out (their containers are elsewhere).
    std::map<std::string, double> function_cpu_percent;
    std::set<std::string> local_functions;
    // The node's CPU in use, in percent of one core (the agent's node_cpu_query); nullopt when
    // Prometheus did not answer. The fallback when no local function's CPU is known.
    std::optional<double> cpu_percent;
    unsigned node_cores = 1;  // the cores of this node, to make the percentages a share of it
    double replicas = 0;      // replicas of the node's functions
};

// Where cpu_utilization came from: the local functions' CPU (as the reference), the node's CPU
// (function_cpu_query gave nothing for them), or nothing (0).
enum class CpuSource { Function, Node, None };
// A node_cores_query answer above this is taken as this (no machine has more; the bound keeps a
// wrong query from making every share 0).
inline constexpr unsigned kMaxNodeCores = 4096;
std::string_view cpu_source_name(CpuSource source);

struct CpuShare {
    double utilization = 0;  // 0..1 of node_cores
    CpuSource source = CpuSource::None;
};
// The local functions' CPU share when function_cpu_percent has a finite value for at least one
// of them (the others count 0), else the node's; clamped to 0..1.
CpuShare cpu_share(const WindowSources &sources);

// An empty window (all zeros) when either reading is missing or seconds <= 0.
strategy::NodeWindow measure_window(const WindowSources &sources);

}  // namespace dfaas::agent
