// Everything a strategy decides from: filled by the agent every period (or loaded from JSON by
// `dfaasctl simulate`).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dfaas/strategy/peer_table.h"
#include "dfaas/strategy/types.h"

namespace dfaas::strategy {

// Measurements of one peer over a window, for the external model's observation, in the
// reference's units (docs/strategies.md, "The external model's observation").
struct PeerWindow {
    double forwarded_rate = 0.0;  // requests/s this node forwarded to the peer
    // Non-2xx answers + RSTs to forwarded SYNs per second from the peer.
    double forwarded_rejected_rate = 0.0;
    double avg_response_time_ms = 0.0;  // mean latency of the forwarded requests (0: none timed)

    bool operator==(const PeerWindow &) const = default;
};

// Measurements of this node over a window, for the external model's observation.
struct NodeWindow {
    double input_rate = 0.0;   // user requests/s
    double reject_rate = 0.0;  // fraction 0..1 of the requests for this node not answered 2xx
    double avg_response_time_local_ms = 0.0;  // mean latency of the local requests
    double cpu_utilization = 0.0;             // 0..1 of the node
    double replicas = 0.0;                    // function replicas
    std::map<std::string, PeerWindow> peers;  // by peer id

    bool operator==(const NodeWindow &) const = default;
};

// The external model's answer for this node: proportions in 0..1 per target.
struct ExternalAction {
    double local = 0.0;
    double reject = 0.0;
    std::map<std::string, double> peers;  // by peer id

    bool operator==(const ExternalAction &) const = default;
};

struct ExternalInputs {
    NodeWindow current;   // the window since the last action
    NodeWindow previous;  // the window before it
    // The model's answer to this period's observation; nullopt when the call failed or the
    // answer was malformed (the strategy then keeps the installed policies).
    std::optional<ExternalAction> action;

    bool operator==(const ExternalInputs &) const = default;
};

// Recalc's option beyond the reference (docs/strategies.md). Off here, so that the library
// reproduces the reference unless asked; the agent turns it on by default
// (strategy.recalc.overflow: standby).
struct RecalcOptions {
    // Overflow weights (from the peers' LimitOut) under the local cap for every function, not
    // only for those a step found overloaded: a burst above the maxrate goes to peers at once
    // instead of being rejected until the next period notices it.
    bool standby_overflow = false;

    bool operator==(const RecalcOptions &) const = default;
};

struct Snapshot {
    std::string node_id;
    NodeType node_type = NodeType::Mid;
    Thresholds thresholds;
    Millis period{10000};
    Instant now{};

    std::vector<LocalFunction> functions;
    // Measured user (non-peer) request rate per function in req/s, averaged over the last period.
    // A function without a rate counts as 0; rates of unknown functions are ignored.
    std::map<std::string, double> user_rates;
    GroupTable groups = reference_group_table();

    PeerTable peers;
    ExternalInputs external;
    RecalcOptions recalc;

    bool operator==(const Snapshot &) const = default;
};

// Throws Error naming the first invalid input: empty or duplicate names, a period <= 0, a
// threshold or rate that is NaN, infinite or negative (thresholds must be > 0), a peer table that
// belongs to another node.
void validate(const Snapshot &snapshot);

// The user rate of a function, 0 when not measured.
double user_rate(const Snapshot &snapshot, const std::string &function);

// Local function names, sorted.
std::vector<std::string> local_function_names(const Snapshot &snapshot);

}  // namespace dfaas::strategy
