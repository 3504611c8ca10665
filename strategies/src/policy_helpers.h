// Small helpers shared by the strategy implementations (private to the library).
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dfaas/policy.h"
#include "dfaas/strategy/error.h"

namespace dfaas::strategy::detail {

// Adds a positive weight for a peer address; two peer ids at one address share it (capped).
inline void add_peer_weight(std::map<Ipv4, uint32_t> &weights, Ipv4 address, uint32_t weight) {
    if (weight == 0) return;
    uint32_t &slot = weights[address];
    slot = std::min(kMaxWeight, slot + weight);
}

inline PolicySet all_local_policies(const std::vector<std::string> &functions) {
    PolicySet policies;
    for (const auto &name : functions)
        policies[name] = FunctionPolicy::all_local();
    return policies;
}

// A policy for a function this node cannot serve itself: weighted over peers, reject when no
// peer has weight.
inline FunctionPolicy peers_only_policy(std::map<Ipv4, uint32_t> weights) {
    FunctionPolicy policy;
    policy.local = 0;
    policy.peers = std::move(weights);
    if (policy.peers.empty()) policy.reject = kMaxWeight;
    return policy;
}

inline void require_single_step(size_t index, std::string_view strategy) {
    if (index != 0)
        throw Error("strategy " + std::string(strategy) +
                    " has one step per period, asked for step " + std::to_string(index));
}

}  // namespace dfaas::strategy::detail
