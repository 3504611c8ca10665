#include "policy_compiler.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "dfaas/dataplane/types.h"

namespace dfaas::dp {

bool fill_slots(const std::vector<WeightedSlot> &targets, dfaas_slot (&table)[DFAAS_SELECT_SLOTS]) {
    uint64_t total = 0;
    for (const auto &t : targets)
        total += t.weight;
    if (total == 0) return false;

    // Largest remainder: floor shares first, then one more slot to the largest fractions
    // (ties go to the earlier target, so the result is deterministic).
    std::vector<uint32_t> counts(targets.size());
    std::vector<std::pair<uint64_t, size_t>> remainders;
    uint32_t assigned = 0;
    for (size_t i = 0; i < targets.size(); ++i) {
        uint64_t scaled = uint64_t{targets[i].weight} * DFAAS_SELECT_SLOTS;
        counts[i] = static_cast<uint32_t>(scaled / total);
        assigned += counts[i];
        if (targets[i].weight) remainders.emplace_back(scaled % total, i);
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto &a, const auto &b) { return a.first > b.first; });
    for (size_t r = 0; assigned < DFAAS_SELECT_SLOTS; ++r, ++assigned)
        counts[remainders[r % remainders.size()].second] += 1;

    size_t pos = 0;
    for (size_t i = 0; i < targets.size(); ++i)
        for (uint32_t n = 0; n < counts[i]; ++n)
            table[pos++] = targets[i].slot;
    return true;
}

namespace {

dfaas_slot make_slot(uint8_t action, uint32_t peer = 0) {
    dfaas_slot s{};
    s.action = action;
    s.peer = static_cast<uint8_t>(peer);
    return s;
}

uint32_t require_peer(const PeerIndexFn &peer_index, Ipv4 addr, const char *what) {
    auto idx = peer_index(addr);
    if (!idx)
        throw Error(std::string(what) + " names peer " + addr.str() +
                    ", which is not in the peer table (add it first)");
    return *idx;
}

}  // namespace

dfaas_policy compile_policy(const FunctionPolicy &policy, const PeerIndexFn &peer_index) {
    if (auto err = policy.validate()) throw Error("invalid policy: " + *err);
    dfaas_policy value;
    std::memset(&value, 0, sizeof(value));
    value.flags = DFAAS_POL_F_INSTALLED;
    value.local_cap = policy.local_cap;
    value.weight_local = static_cast<uint8_t>(policy.local);
    value.weight_reject = static_cast<uint8_t>(policy.reject);
    for (auto &limit : value.limit_in)
        limit = DFAAS_UNLIMITED;

    std::vector<WeightedSlot> targets{{make_slot(DFAAS_ACTION_LOCAL), policy.local}};
    for (const auto &[addr, weight] : policy.peers) {
        uint32_t idx = require_peer(peer_index, addr, "peer weight");
        value.weight_peer[idx] = static_cast<uint8_t>(weight);
        value.peers_named |= 1u << idx;
        targets.push_back({make_slot(DFAAS_ACTION_PEER, idx), weight});
    }
    targets.push_back({make_slot(DFAAS_ACTION_REJECT), policy.reject});
    fill_slots(targets, value.table);  // validate() guarantees a non-zero total

    std::vector<WeightedSlot> overflow;
    for (const auto &[addr, weight] : policy.overflow) {
        uint32_t idx = require_peer(peer_index, addr, "overflow weight");
        value.overflow_peer[idx] = static_cast<uint8_t>(weight);
        value.overflow_named |= 1u << idx;
        overflow.push_back({make_slot(DFAAS_ACTION_PEER, idx), weight});
    }
    // No overflow peer with weight: over the local cap means reject (the reference's 503).
    if (!fill_slots(overflow, value.overflow)) {
        value.overflow_reject = 1;
        std::fill(std::begin(value.overflow), std::end(value.overflow),
                  make_slot(DFAAS_ACTION_REJECT));
    }
    for (const auto &[addr, limit] : policy.limit_in)
        value.limit_in[require_peer(peer_index, addr, "limit_in")] = limit;
    return value;
}

FunctionPolicy decompile_policy(const dfaas_policy &value,
                                const std::function<Ipv4(uint32_t)> &peer_addr) {
    FunctionPolicy p;
    p.local = value.weight_local;
    p.reject = value.weight_reject;
    p.local_cap = value.local_cap;
    for (uint32_t i = 0; i < DFAAS_MAX_PEERS; ++i) {
        Ipv4 addr = peer_addr(i);
        if (addr.is_unspecified()) continue;
        if (value.peers_named & (1u << i)) p.peers[addr] = value.weight_peer[i];
        if (value.overflow_named & (1u << i)) p.overflow[addr] = value.overflow_peer[i];
        if (value.limit_in[i] != DFAAS_UNLIMITED) p.limit_in[addr] = value.limit_in[i];
    }
    return p;
}

}  // namespace dfaas::dp
