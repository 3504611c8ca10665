// Compiles a FunctionPolicy into the selection tables of struct dfaas_policy.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dfaas/abi.h"
#include "dfaas/policy.h"

namespace dfaas::dp {

// A target of a selection table and its weight.
struct WeightedSlot {
    dfaas_slot slot;
    uint32_t weight;
};

// Splits DFAAS_SELECT_SLOTS slots among weighted targets by the largest-remainder method, so
// every target's share is within one slot (0.4 %) of its weight's share. Targets with weight 0
// get no slot. Returns false when every weight is zero.
bool fill_slots(const std::vector<WeightedSlot> &targets, dfaas_slot (&table)[DFAAS_SELECT_SLOTS]);

// Maps a peer address to its index in the peer table; nullopt for unknown peers.
using PeerIndexFn = std::function<std::optional<uint32_t>(Ipv4)>;

// Builds the map value (lock zeroed, version 0) or throws Error naming the problem.
dfaas_policy compile_policy(const FunctionPolicy &policy, const PeerIndexFn &peer_index);

// The inverse, for readers: weights, caps and limits back from a map value.
FunctionPolicy decompile_policy(const dfaas_policy &value,
                                const std::function<Ipv4(uint32_t)> &peer_addr);

}  // namespace dfaas::dp
