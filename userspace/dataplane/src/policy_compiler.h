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

// Lays out weighted targets in smooth weighted round robin order (nginx's: every step adds each
// target's weight to its current value, picks the largest, ties to the earlier target, and takes
// the total off it). The cycle is the weights divided by their gcd; when its length exceeds
// DFAAS_SELECT_SLOTS the weights are first scaled to DFAAS_SELECT_SLOTS slots by the largest
// remainder (each share within one slot, 0.4 %). Slots after the cycle repeat it. Any window of
// one cycle's length of consecutive slots, wrapping from the cycle's end to its start, holds each
// target exactly its share. Targets with weight 0 get no slot. Returns the cycle length, 0 when
// every weight is zero (the table is then untouched).
uint32_t fill_slots(const std::vector<WeightedSlot> &targets,
                    dfaas_slot (&table)[DFAAS_SELECT_SLOTS]);

// (Re)builds both tables and their lengths of a policy value from the weights it stores
// (weight_local, weight_peer of peers_named, weight_reject; overflow_peer of overflow_named):
// compile_policy uses it, and so does the loader migrating a policy of an earlier ABI.
void lay_out_tables(dfaas_policy &value);

// Maps a peer address to its index in the peer table; nullopt for unknown peers.
using PeerIndexFn = std::function<std::optional<uint32_t>(Ipv4)>;

// Builds the map value (lock zeroed, version 0) or throws Error naming the problem.
dfaas_policy compile_policy(const FunctionPolicy &policy, const PeerIndexFn &peer_index);

// The inverse, for readers: weights, caps and limits back from a map value.
FunctionPolicy decompile_policy(const dfaas_policy &value,
                                const std::function<Ipv4(uint32_t)> &peer_addr);

}  // namespace dfaas::dp
