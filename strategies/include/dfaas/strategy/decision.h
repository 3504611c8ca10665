// What one strategy step produces.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dfaas/policy.h"
#include "dfaas/strategy/forecaster.h"
#include "dfaas/strategy/messages.h"
#include "dfaas/strategy/types.h"

namespace dfaas::strategy {

// Recalc's state between step 1 and step 2 of a period (the reference kept it in its peer table).
struct RecalcPlan {
    std::map<std::string, uint32_t> max_rate;  // functions managed by Recalc -> dfaas.maxrate
    std::set<std::string> overloaded;          // user rate >= maxrate at step 1
    std::vector<std::string> unmanaged;        // local functions without a valid maxrate
    // peer id -> function -> LimitIn (req/s that peer may forward to this node)
    std::map<std::string, std::map<std::string, uint32_t>> limit_in;

    bool operator==(const RecalcPlan &) const = default;
};

// What Node Margin computed, for status pages, logs and tests.
struct NmsReport {
    GroupLoad load;                 // this node's user load per group
    Prediction prediction;          // forecast of that load
    double usage_percent = 0.0;     // mean of prediction/threshold over cpu, ram, power, x100
    bool overloaded = false;        // before offloading
    bool still_overloaded = false;  // after offloading
    double margin = 0.0;            // what each common neighbour may use of this node
    size_t common_neighbours = 0;
    size_t accepted_steps = 0;           // 1 % moves accepted by a neighbour
    bool step_limit_reached = false;     // the safety bound on iterations stopped the loop
    std::map<std::string, double> kept;  // f -> req/s kept local
    std::map<std::string, std::map<std::string, double>> forwarded;  // peer -> f -> req/s

    bool operator==(const NmsReport &) const = default;
};

struct Decision {
    // Policies to install, keyed by function; nullopt means "keep the installed policies" (Recalc
    // step 1; the external model without a valid answer).
    std::optional<PolicySet> policies;
    std::vector<OutgoingMessage> messages;
    std::vector<std::string> warnings;
    // Set when an input failed and the strategy fell back: the agent reports not-ready with it.
    std::optional<std::string> degraded;

    std::optional<RecalcPlan> recalc_plan;  // Recalc step 1 -> step 2
    std::optional<NmsReport> nms;

    bool operator==(const Decision &) const = default;
};

}  // namespace dfaas::strategy
