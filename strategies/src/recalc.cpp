#include <algorithm>

#include "dfaas/strategy/strategies.h"
#include "policy_helpers.h"

namespace dfaas::strategy {

namespace {

// A live peer that takes part in Recalc: it sent limits within the TTL.
struct RecalcPeer {
    const PeerEntry *entry;
    const std::map<std::string, double> *limit_out;  // f -> LimitOut, keys = functions it runs
};

std::vector<RecalcPeer> recalc_peers(const Snapshot &snapshot) {
    std::vector<RecalcPeer> result;
    for (const PeerEntry *peer : snapshot.peers.live(snapshot.now))
        if (const auto *limits = snapshot.peers.fresh(*peer, peer->recalc_limit_out, snapshot.now))
            result.push_back({peer, limits});
    return result;
}

uint32_t planned_limit_in(const RecalcPlan &plan, const std::string &peer,
                          const std::string &function) {
    auto by_peer = plan.limit_in.find(peer);
    if (by_peer == plan.limit_in.end()) return 0;
    auto limit = by_peer->second.find(function);
    return limit == by_peer->second.end() ? 0 : limit->second;
}

// NodeWeight = uint(LimitOut * 100 / total) over the peers that run f; total <= 0 counts as 1.
std::map<Ipv4, uint32_t> node_weights(const std::string &function,
                                      const std::vector<RecalcPeer> &peers) {
    double total = 0.0;
    for (const auto &peer : peers)
        if (auto limit = peer.limit_out->find(function); limit != peer.limit_out->end())
            total += limit->second;
    if (total <= 0.0) total = 1.0;
    std::map<Ipv4, uint32_t> weights;
    for (const auto &peer : peers) {
        auto limit = peer.limit_out->find(function);
        if (limit == peer.limit_out->end()) continue;
        const auto weight = static_cast<uint32_t>(limit->second * 100.0 / total);
        detail::add_peer_weight(weights, peer.entry->address, weight);
    }
    return weights;
}

// Step 1 for one function with a maxrate: overload and the LimitIn of every Recalc peer.
void plan_function(const std::string &name, uint32_t max_rate, double rate,
                   const std::vector<RecalcPeer> &peers, RecalcPlan &plan) {
    plan.max_rate[name] = max_rate;
    if (rate >= static_cast<double>(max_rate)) {
        plan.overloaded.insert(name);
        for (const auto &peer : peers)
            plan.limit_in[peer.entry->id][name] = 0;
        return;
    }
    // The margin is shared by every peer that may forward the function here, which includes
    // peers that do not run it (they route it by NodeWeight). The reference's "entries having f"
    // echoed function names back and forth and amounted to the same set in steady state.
    if (peers.empty()) return;
    const uint32_t margin = max_rate - static_cast<uint32_t>(rate);  // truncating, as uint()
    const uint32_t share = margin / static_cast<uint32_t>(peers.size());
    for (const auto &peer : peers)
        plan.limit_in[peer.entry->id][name] = share;
}

FunctionPolicy managed_policy(const std::string &name, uint32_t max_rate, const RecalcPlan &plan,
                              const std::vector<RecalcPeer> &peers,
                              const std::vector<const PeerEntry *> &live, bool standby_overflow) {
    std::map<Ipv4, uint32_t> weights;
    // As the reference, weights exist only for functions overloaded at step 1, unless they stand
    // by under the local cap (the cap keeps the traffic local until the maxrate is reached).
    if (standby_overflow || plan.overloaded.count(name) != 0) weights = node_weights(name, peers);
    FunctionPolicy policy;
    if (max_rate == 0) {
        policy = detail::peers_only_policy(std::move(weights));  // no local capacity at all
    } else {
        policy.local = kMaxWeight;
        policy.local_cap = max_rate;
        policy.overflow = std::move(weights);
    }
    for (const PeerEntry *peer : live)
        policy.limit_in[peer->address] = planned_limit_in(plan, peer->id, name);
    return policy;
}

}  // namespace

Decision recalc_step1(const Snapshot &snapshot) {
    validate(snapshot);
    Decision decision;
    RecalcPlan plan;
    const auto peers = recalc_peers(snapshot);
    std::vector<const LocalFunction *> functions;
    for (const auto &function : snapshot.functions)
        functions.push_back(&function);
    std::sort(functions.begin(), functions.end(),
              [](const auto *a, const auto *b) { return a->name < b->name; });
    for (const LocalFunction *function : functions) {
        // A function without a usable maxrate is left out with a warning (the reference failed
        // the whole step).
        const auto max_rate = max_rate_of(*function, decision.warnings);
        if (!max_rate) {
            plan.unmanaged.push_back(function->name);
            continue;
        }
        plan_function(function->name, *max_rate, user_rate(snapshot, function->name), peers, plan);
    }
    // Every live peer hears the limits of all my Recalc functions; one that has not sent me its
    // limits yet gets 0 for each (as the reference).
    for (const PeerEntry *peer : snapshot.peers.live(snapshot.now)) {
        RecalcLimits limits;
        for (const auto &[name, max_rate] : plan.max_rate)
            limits.limits[name] = planned_limit_in(plan, peer->id, name);
        decision.messages.push_back({peer->id, std::move(limits)});
    }
    decision.recalc_plan = std::move(plan);
    return decision;
}

Decision recalc_step2(const Snapshot &snapshot, const RecalcPlan &plan) {
    validate(snapshot);
    const auto peers = recalc_peers(snapshot);
    const auto live = snapshot.peers.live(snapshot.now);
    PolicySet policies;
    for (const auto &[name, max_rate] : plan.max_rate)
        policies[name] =
            managed_policy(name, max_rate, plan, peers, live, snapshot.recalc.standby_overflow);
    for (const auto &name : plan.unmanaged)
        policies[name] = FunctionPolicy::all_local();
    // Functions only peers run are routed by NodeWeight (the reference answered 503).
    for (const auto &peer : peers)
        for (const auto &[name, limit] : *peer.limit_out)
            if (policies.count(name) == 0)
                policies[name] = detail::peers_only_policy(node_weights(name, peers));
    Decision decision;
    decision.policies = std::move(policies);
    decision.recalc_plan = plan;
    return decision;
}

std::vector<Millis> RecalcStrategy::step_offsets(Millis period) const {
    return {Millis{0}, period / 2};
}

Decision RecalcStrategy::step(const Snapshot &snapshot, size_t index,
                              const Decision *previous) const {
    if (index == 0) return recalc_step1(snapshot);
    if (index != 1)
        throw Error("strategy recalc has two steps per period, asked for step " +
                    std::to_string(index));
    if (previous == nullptr || !previous->recalc_plan)
        throw Error("recalc step 2 needs the decision of step 1 (its plan)");
    return recalc_step2(snapshot, *previous->recalc_plan);
}

}  // namespace dfaas::strategy
