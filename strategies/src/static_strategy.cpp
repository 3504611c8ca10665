#include <algorithm>
#include <cmath>

#include "dfaas/strategy/strategies.h"
#include "policy_helpers.h"

namespace dfaas::strategy {

namespace {

constexpr uint32_t kStaticLocalWeight = 60;
constexpr double kStaticSharedWeight = 40.0;

bool runs(const StaticInfo &info, const std::string &function) {
    return std::binary_search(info.functions.begin(), info.functions.end(), function);
}

}  // namespace

uint32_t static_peer_weight(size_t runners) {
    if (runners == 0) return 0;
    // Go's math.Round: halves away from zero, like std::lround.
    return static_cast<uint32_t>(std::lround(kStaticSharedWeight / static_cast<double>(runners)));
}

Decision StaticStrategy::step(const Snapshot &snapshot, size_t index, const Decision *) const {
    detail::require_single_step(index, to_string(kind()));
    validate(snapshot);
    const auto names = local_function_names(snapshot);
    const auto live = snapshot.peers.live(snapshot.now);

    Decision decision;
    decision.messages.push_back({std::nullopt, StaticInfo{names}});
    PolicySet policies;
    for (const auto &name : names) {
        // Only peers that run the function share the 40 (the reference used every neighbour
        // sharing any function, sending them functions they could not serve).
        std::vector<const PeerEntry *> runners;
        for (const PeerEntry *peer : live) {
            const StaticInfo *info = snapshot.peers.fresh(*peer, peer->static_info, snapshot.now);
            if (info != nullptr && runs(*info, name)) runners.push_back(peer);
        }
        FunctionPolicy policy;
        if (!runners.empty()) {
            policy.local = kStaticLocalWeight;
            const uint32_t weight = static_peer_weight(runners.size());
            for (const PeerEntry *peer : runners)
                detail::add_peer_weight(policy.peers, peer->address, weight);
        }
        policies[name] = policy;
    }
    decision.policies = std::move(policies);
    return decision;
}

}  // namespace dfaas::strategy
