#include "policy_compiler.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "dfaas/dataplane/types.h"

namespace dfaas::dp {

namespace {

// How many slots of one cycle each target gets.
std::vector<uint32_t> cycle_counts(const std::vector<WeightedSlot> &targets, uint64_t total) {
    uint64_t divisor = 0;
    for (const auto &t : targets)
        divisor = std::gcd(divisor, uint64_t{t.weight});
    std::vector<uint32_t> counts(targets.size());
    if (total / divisor <= DFAAS_SELECT_SLOTS) {
        for (size_t i = 0; i < targets.size(); ++i)
            counts[i] = static_cast<uint32_t>(targets[i].weight / divisor);
        return counts;
    }
    // Largest remainder: floor shares first, then one more slot to the largest fractions
    // (ties go to the earlier target, so the result is deterministic).
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
    return counts;
}

}  // namespace

uint32_t fill_slots(const std::vector<WeightedSlot> &targets,
                    dfaas_slot (&table)[DFAAS_SELECT_SLOTS]) {
    uint64_t total = 0;
    for (const auto &t : targets)
        total += t.weight;
    if (total == 0) return 0;
    std::vector<uint32_t> counts = cycle_counts(targets, total);
    uint32_t cycle = std::accumulate(counts.begin(), counts.end(), 0u);

    std::vector<int64_t> current(targets.size(), 0);
    for (uint32_t pos = 0; pos < cycle; ++pos) {
        size_t best = 0;
        for (size_t i = 0; i < targets.size(); ++i) {
            current[i] += counts[i];
            if (current[i] > current[best]) best = i;
        }
        current[best] -= cycle;
        table[pos] = targets[best].slot;
    }
    for (uint32_t pos = cycle; pos < DFAAS_SELECT_SLOTS; ++pos)
        table[pos] = table[pos % cycle];
    return cycle;
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

void lay_out_tables(dfaas_policy &value) {
    // Local first, then peers by index, then reject: the order ties are broken in.
    std::vector<WeightedSlot> targets{{make_slot(DFAAS_ACTION_LOCAL), value.weight_local}};
    std::vector<WeightedSlot> overflow;
    for (uint32_t idx = 0; idx < DFAAS_MAX_PEERS; ++idx) {
        if (value.peers_named & (1u << idx))
            targets.push_back({make_slot(DFAAS_ACTION_PEER, idx), value.weight_peer[idx]});
        if (value.overflow_named & (1u << idx))
            overflow.push_back({make_slot(DFAAS_ACTION_PEER, idx), value.overflow_peer[idx]});
    }
    targets.push_back({make_slot(DFAAS_ACTION_REJECT), value.weight_reject});
    // validate() guarantees a non-zero total for a compiled policy; a migrated value with none
    // (never installed) keeps an all-reject table.
    value.table_len = static_cast<uint16_t>(fill_slots(targets, value.table));
    if (value.table_len == 0) {
        std::fill(std::begin(value.table), std::end(value.table), make_slot(DFAAS_ACTION_REJECT));
        value.table_len = 1;
    }
    // No overflow peer with weight: over the local cap means reject (the reference's 503).
    value.overflow_len = static_cast<uint16_t>(fill_slots(overflow, value.overflow));
    value.overflow_reject = value.overflow_len == 0;
    if (value.overflow_len == 0) {
        std::fill(std::begin(value.overflow), std::end(value.overflow),
                  make_slot(DFAAS_ACTION_REJECT));
        value.overflow_len = 1;
    }
}

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

    for (const auto &[addr, weight] : policy.peers) {
        uint32_t idx = require_peer(peer_index, addr, "peer weight");
        value.weight_peer[idx] = static_cast<uint8_t>(weight);
        value.peers_named |= 1u << idx;
    }
    for (const auto &[addr, weight] : policy.overflow) {
        uint32_t idx = require_peer(peer_index, addr, "overflow weight");
        value.overflow_peer[idx] = static_cast<uint8_t>(weight);
        value.overflow_named |= 1u << idx;
    }
    lay_out_tables(value);
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
