#include "dfaas/entry/routes.h"

#include <cstring>

#include "dfaas/abi.h"
#include "policy_compiler.h"

namespace dfaas::entry {

std::string Route::label() const {
    switch (kind) {
        case RouteKind::Local:
            return "local";
        case RouteKind::Reject:
            return "reject";
        case RouteKind::Peer:
            break;
    }
    return peer.str();
}

namespace {

// The data plane's slot of a table back to a route; `peers` maps the compiler's peer index back
// to the address (the entry numbers the policy's peers itself: the indexes only have to agree
// between compile and read-back).
std::vector<Route> read_table(const dfaas_slot *slots, uint16_t length,
                              const std::vector<Ipv4> &peers) {
    std::vector<Route> table;
    uint32_t cycle = length == 0 ? DFAAS_SELECT_SLOTS : length;
    for (uint32_t i = 0; i < cycle; ++i) {
        Route r;
        if (slots[i].action == DFAAS_ACTION_LOCAL) {
            r.kind = RouteKind::Local;
        } else if (slots[i].action == DFAAS_ACTION_PEER && slots[i].peer < peers.size()) {
            r.kind = RouteKind::Peer;
            r.peer = peers[slots[i].peer];
        } else {
            r.kind = RouteKind::Reject;
        }
        table.push_back(r);
    }
    return table;
}

}  // namespace

RouteTable::Compiled RouteTable::compile(const FunctionPolicy &policy) {
    std::vector<Ipv4> peers;
    for (const auto &[addr, weight] : policy.peers)
        peers.push_back(addr);
    for (const auto &[addr, weight] : policy.overflow)
        if (std::find(peers.begin(), peers.end(), addr) == peers.end()) peers.push_back(addr);
    for (const auto &[addr, limit] : policy.limit_in)
        if (std::find(peers.begin(), peers.end(), addr) == peers.end()) peers.push_back(addr);
    auto index_of = [&peers](Ipv4 addr) -> std::optional<uint32_t> {
        for (uint32_t i = 0; i < peers.size() && i < DFAAS_MAX_PEERS; ++i)
            if (peers[i] == addr) return i;
        return std::nullopt;
    };
    dfaas_policy value = dp::compile_policy(policy, index_of);
    Compiled c;
    c.policy = policy;
    c.table = read_table(value.table, value.table_len, peers);
    if (!value.overflow_reject) c.overflow = read_table(value.overflow, value.overflow_len, peers);
    return c;
}

std::vector<std::string> RouteTable::install(const PolicySet &policies) {
    std::vector<std::string> refused;
    std::map<std::string, Compiled> next;
    for (const auto &[name, policy] : policies) {
        auto old = functions_.find(name);
        if (old != functions_.end() && old->second.policy == policy) {
            next.emplace(name, std::move(old->second));
            continue;
        }
        try {
            next.emplace(name, compile(policy));
        } catch (const std::exception &) {
            refused.push_back(name);
            next.emplace(name, compile(FunctionPolicy::all_local()));
        }
    }
    functions_ = std::move(next);
    return refused;
}

std::optional<Route> RouteTable::pick(const std::string &function, uint64_t now_second) {
    auto it = functions_.find(function);
    if (it == functions_.end()) return std::nullopt;
    Compiled &c = it->second;
    Route route = c.table[c.sequence++ % c.table.size()];
    if (route.kind != RouteKind::Local || c.policy.local_cap == 0) return route;
    if (admission_) {
        if (admission_(function, c.policy.local_cap)) return route;
    } else {
        if (c.second != now_second) {
            c.second = now_second;
            c.local_this_second = 0;
        }
        if (c.local_this_second < c.policy.local_cap) {
            ++c.local_this_second;
            return route;
        }
    }
    // Over the local cap this second: the overflow table, or reject when it has no peer.
    if (c.overflow.empty()) return Route{RouteKind::Reject, {}};
    return c.overflow[c.overflow_sequence++ % c.overflow.size()];
}

}  // namespace dfaas::entry
