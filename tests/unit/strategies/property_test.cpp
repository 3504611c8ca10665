// Invariants over random snapshots (seeded, so every run checks the same cases):
// weights in 0..100 and valid policies, Static and Node Margin never reject, a peer that does not
// run a function never gets weight for it, dead peers never get weight.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "dfaas/strategy/strategies.h"
#include "support.h"

namespace dfaas::strategy {
namespace {

using testing::kNow;

const std::vector<std::string> kFunctionPool{"figlet", "curl",       "nmap",   "env",
                                             "shasum", "eat-memory", "custom", "hello"};

// cpu grows with the load (heavier for HIGH), so overload and offloading both happen.
class LinearForecaster final : public Forecaster {
  public:
    Prediction predict(const GroupLoad &load, NodeType type) const override {
        const double idle = 30.0 + 15.0 * static_cast<int>(type);
        return {idle + 0.8 * load.high + 0.3 * load.low + 0.5 * load.medium, 2e9, 3e5};
    }
};

class RandomSnapshots {
  public:
    explicit RandomSnapshots(uint32_t seed) : random_(seed) {}

    Snapshot next(StrategyKind kind) {
        Snapshot snapshot = testing::make_snapshot("me", kind, Millis{10000});
        snapshot.node_type = static_cast<NodeType>(integer(0, 2));
        snapshot.thresholds = {static_cast<double>(integer(80, 250)), 5.5e9, 2.1e6};
        for (const auto &name : subset())
            snapshot.functions.push_back(local_function(name));
        for (const auto &function : snapshot.functions)
            if (chance(0.9)) snapshot.user_rates[function.name] = rate();
        add_peers(snapshot);
        if (kind == StrategyKind::External) snapshot.external.action = action(snapshot);
        return snapshot;
    }

  private:
    int integer(int low, int high) {
        return std::uniform_int_distribution<int>(low, high)(random_);
    }
    bool chance(double p) { return std::bernoulli_distribution(p)(random_); }

    std::vector<std::string> subset() {
        std::vector<std::string> names;
        for (const auto &name : kFunctionPool)
            if (chance(0.5)) names.push_back(name);
        return names;
    }

    double rate() {
        switch (integer(0, 3)) {
            case 0:
                return 0.0;
            case 1:
                return static_cast<double>(integer(1, 100));  // often exactly a maxrate
            default:
                return std::uniform_real_distribution<double>(0.0, 300.0)(random_);
        }
    }

    LocalFunction local_function(const std::string &name) {
        LocalFunction function = testing::function(name);
        if (chance(0.8)) function.labels["dfaas.maxrate"] = std::to_string(integer(0, 100));
        if (chance(0.2)) function.labels["dfaas.group"] = chance(0.5) ? "HIGH_USAGE" : "bogus";
        return function;
    }

    void add_peers(Snapshot &snapshot) {
        const int count = integer(0, 6);
        for (int i = 0; i < count; ++i) {
            const std::string id = "peer" + std::to_string(integer(0, 99));
            const Ipv4 address{0x0a000000u + static_cast<uint32_t>(i) + 2};
            // Some peers spoke long ago (dead by TTL), some are alive by membership only with
            // stale strategy data, some are marked unreachable.
            const Instant at = chance(0.25) ? kNow - std::chrono::hours(1) : kNow;
            const auto functions = subset();
            auto &peers = snapshot.peers;
            if (chance(0.2)) peers.record_membership(id, address, functions, kNow);
            std::map<std::string, double> limits;
            for (const auto &name : functions)
                limits[name] = integer(0, 30);
            peers.apply(id, address, RecalcLimits{limits}, at);
            peers.apply(id, address, StaticInfo{functions}, at);
            peers.apply(
                id, address,
                NmsNodeInfo{static_cast<NodeType>(integer(0, 2)), {200, 6e9, 3e6}, functions}, at);
            peers.apply(id, address, NmsMargin{static_cast<double>(integer(0, 60)), {}}, at);
            peers.record_membership(id, address, functions, at);
            if (chance(0.15)) peers.mark_unreachable(id);
        }
    }

    ExternalAction action(const Snapshot &snapshot) {
        ExternalAction result{chance(0.9) ? 0.5 : 0.0, chance(0.5) ? 0.1 : 0.0, {}};
        for (const auto &[id, entry] : snapshot.peers.entries())
            if (chance(0.7)) result.peers[id] = 0.2;
        return result;
    }

    std::mt19937 random_;
};

// The functions a peer runs according to the messages the strategy of `kind` reads.
std::vector<std::string> functions_known(const PeerTable &table, const PeerEntry &peer,
                                         StrategyKind kind, Instant now) {
    switch (kind) {
        case StrategyKind::Recalc: {
            std::vector<std::string> names;
            if (const auto *limits = table.fresh(peer, peer.recalc_limit_out, now))
                for (const auto &[name, limit] : *limits)
                    names.push_back(name);
            return names;
        }
        case StrategyKind::StaticWeights:
            if (const auto *info = table.fresh(peer, peer.static_info, now)) return info->functions;
            return {};
        case StrategyKind::NodeMargin:
            if (const auto *info = table.fresh(peer, peer.nms_info, now)) return info->functions;
            return {};
        default:
            return peer.member_functions;
    }
}

void check_invariants(const Snapshot &snapshot, StrategyKind kind, const Decision &decision) {
    if (!decision.policies) return;  // keeps the installed policies: nothing to check
    const auto live = snapshot.peers.live(snapshot.now);
    for (const auto &[name, policy] : *decision.policies) {
        SCOPED_TRACE(std::string(to_string(kind)) + " function " + name);
        EXPECT_FALSE(policy.validate().has_value()) << *policy.validate();
        for (uint32_t weight : {policy.local, policy.reject})
            EXPECT_LE(weight, kMaxWeight);
        if (kind == StrategyKind::StaticWeights || kind == StrategyKind::NodeMargin) {
            EXPECT_EQ(policy.reject, 0u);
            EXPECT_EQ(policy.local_cap, 0u);
        }
        std::vector<const std::map<Ipv4, uint32_t> *> weighted{&policy.peers, &policy.overflow};
        for (const auto *weights : weighted) {
            for (const auto &[address, weight] : *weights) {
                EXPECT_GT(weight, 0u);
                EXPECT_LE(weight, kMaxWeight);
                auto peer = std::find_if(live.begin(), live.end(), [&](const PeerEntry *entry) {
                    return entry->address == address;
                });
                ASSERT_NE(peer, live.end())
                    << "weight for a dead or unknown peer " << address.str();
                const auto known = functions_known(snapshot.peers, **peer, kind, snapshot.now);
                EXPECT_TRUE(std::find(known.begin(), known.end(), name) != known.end())
                    << "weight for " << (*peer)->id << " which does not run " << name;
            }
        }
    }
}

TEST(StrategyProperties, RandomSnapshotsKeepTheInvariants) {
    const LinearForecaster forecaster;
    RandomSnapshots generator(20240601);
    size_t policies_checked = 0;
    size_t peer_weights_seen = 0;
    for (int round = 0; round < 300; ++round) {
        for (auto kind : {StrategyKind::AllLocal, StrategyKind::StaticWeights, StrategyKind::Recalc,
                          StrategyKind::NodeMargin, StrategyKind::External}) {
            const Snapshot snapshot = generator.next(kind);
            const Decision decision = make_strategy(kind, &forecaster)->decide(snapshot);
            check_invariants(snapshot, kind, decision);
            EXPECT_EQ(make_strategy(kind, &forecaster)->decide(snapshot), decision);  // pure
            if (!decision.policies) continue;
            policies_checked += decision.policies->size();
            for (const auto &[name, policy] : *decision.policies)
                peer_weights_seen += policy.peers.size() + policy.overflow.size();
        }
    }
    // The generator must exercise the interesting cases, or the invariants prove nothing.
    EXPECT_GT(policies_checked, 1000u);
    EXPECT_GT(peer_weights_seen, 500u);
}

}  // namespace
}  // namespace dfaas::strategy
