// The per-function policy: what the strategies produce and what the data plane installs.
// One type on both sides, so no translation layer sits between a decision and the kernel.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "dfaas/net.h"

namespace dfaas {

// Weights are integers 0..100 per target, relative to each other like HAProxy weights (they do
// not have to sum to 100; Static's 60/7x6 sums to 102). A target with weight 0 is drained: it
// gets no new connection, existing ones continue.
inline constexpr uint32_t kMaxWeight = 100;

struct FunctionPolicy {
    // Weighted table for a new user connection.
    uint32_t local = 100;
    uint32_t reject = 0;
    std::map<Ipv4, uint32_t> peers;  // peer address -> weight

    // Optional local cap in new connections per second (Recalc's maxrate). When the local pick
    // finds the cap reached within the last second, the overflow choice is taken instead:
    // weighted over `overflow`, or reject when no overflow peer has weight. 0 = no cap.
    uint32_t local_cap = 0;
    std::map<Ipv4, uint32_t> overflow;  // peer address -> weight

    // Forwarded-in admission per peer (Recalc's LimitIn) in new connections per second.
    // A peer absent from the map is not capped; a cap of 0 refuses every forwarded connection.
    std::map<Ipv4, uint32_t> limit_in;

    bool operator==(const FunctionPolicy &) const = default;

    static FunctionPolicy all_local() { return FunctionPolicy{}; }

    // Empty when valid, else the reason (weights over kMaxWeight, all weights zero, ...).
    std::optional<std::string> validate() const;
};

// Policies of every function of a node, keyed by function name (ordered for stable output).
using PolicySet = std::map<std::string, FunctionPolicy>;

}  // namespace dfaas
