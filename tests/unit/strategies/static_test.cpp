#include <gtest/gtest.h>

#include "dfaas/strategy/strategies.h"
#include "support.h"

namespace dfaas::strategy {
namespace {

using testing::ip;
using testing::kNow;
using testing::make_snapshot;
using testing::receive;

// This node runs figlet; `runners` peers run figlet too.
FunctionPolicy figlet_policy_with(size_t runners) {
    Snapshot snapshot = make_snapshot("me", StrategyKind::StaticWeights);
    snapshot.functions = {testing::function("figlet")};
    for (size_t i = 0; i < runners; ++i) {
        const std::string address = "10.0.0." + std::to_string(i + 2);
        receive(snapshot, "peer" + std::to_string(i), ip(address.c_str()), StaticInfo{{"figlet"}});
    }
    return StaticStrategy().decide(snapshot).policies->at("figlet");
}

struct RoundingCase {
    size_t runners;
    uint32_t local;
    uint32_t each_peer;
};

class StaticRounding : public ::testing::TestWithParam<RoundingCase> {};

TEST_P(StaticRounding, MatchesTheReferenceTable) {
    const auto &expected = GetParam();
    const FunctionPolicy policy = figlet_policy_with(expected.runners);
    EXPECT_EQ(policy.local, expected.local);
    EXPECT_EQ(policy.reject, 0u);
    ASSERT_EQ(policy.peers.size(), expected.runners);
    for (const auto &[address, weight] : policy.peers)
        EXPECT_EQ(weight, expected.each_peer);
    EXPECT_EQ(static_peer_weight(expected.runners), expected.each_peer);
}

INSTANTIATE_TEST_SUITE_P(ReferenceTable, StaticRounding,
                         ::testing::Values(RoundingCase{0, 100, 0}, RoundingCase{1, 60, 40},
                                           RoundingCase{2, 60, 20}, RoundingCase{3, 60, 13},
                                           RoundingCase{4, 60, 10}, RoundingCase{5, 60, 8},
                                           RoundingCase{6, 60, 7}, RoundingCase{7, 60, 6}),
                         [](const auto &param_info) {
                             return "Neighbours" + std::to_string(param_info.param.runners);
                         });

TEST(Static, OnlyPeersRunningTheFunctionShareIt) {
    Snapshot snapshot = make_snapshot("me", StrategyKind::StaticWeights);
    snapshot.functions = {testing::function("figlet"), testing::function("curl")};
    receive(snapshot, "a", ip("10.0.0.2"), StaticInfo{{"figlet"}});
    receive(snapshot, "b", ip("10.0.0.3"), StaticInfo{{"figlet", "curl"}});
    const auto policies = *StaticStrategy().decide(snapshot).policies;
    EXPECT_EQ(policies.at("figlet").peers,
              (std::map<Ipv4, uint32_t>{{ip("10.0.0.2"), 20}, {ip("10.0.0.3"), 20}}));
    EXPECT_EQ(policies.at("curl").peers, (std::map<Ipv4, uint32_t>{{ip("10.0.0.3"), 40}}));
}

TEST(Static, PublishesTheFunctionListEveryPeriod) {
    Snapshot snapshot = make_snapshot("me", StrategyKind::StaticWeights);
    snapshot.functions = {testing::function("shasum"), testing::function("figlet")};
    const Decision decision = StaticStrategy().decide(snapshot);
    ASSERT_EQ(decision.messages.size(), 1u);
    EXPECT_FALSE(decision.messages[0].to.has_value());
    EXPECT_EQ(std::get<StaticInfo>(decision.messages[0].body).functions,
              (std::vector<std::string>{"figlet", "shasum"}));
}

TEST(Static, FunctionsOnlyPeersRunGetNoPolicy) {
    Snapshot snapshot = make_snapshot("me", StrategyKind::StaticWeights);
    snapshot.functions = {testing::function("figlet")};
    receive(snapshot, "a", ip("10.0.0.2"), StaticInfo{{"figlet", "nmap"}});
    EXPECT_EQ(StaticStrategy().decide(snapshot).policies->count("nmap"), 0u);
}

TEST(Static, PeersLiveTwoPeriods) {
    Snapshot snapshot = make_snapshot("me", StrategyKind::StaticWeights);
    snapshot.functions = {testing::function("figlet")};
    receive(snapshot, "a", ip("10.0.0.2"), StaticInfo{{"figlet"}});
    snapshot.now = kNow + std::chrono::minutes(2);
    EXPECT_EQ(StaticStrategy().decide(snapshot).policies->at("figlet").local, 60u);
    snapshot.now += Millis{1};
    EXPECT_EQ(StaticStrategy().decide(snapshot).policies->at("figlet").local, 100u);
}

TEST(Static, UnreachablePeerGetsNoWeight) {
    Snapshot snapshot = make_snapshot("me", StrategyKind::StaticWeights);
    snapshot.functions = {testing::function("figlet")};
    receive(snapshot, "a", ip("10.0.0.2"), StaticInfo{{"figlet"}});
    receive(snapshot, "b", ip("10.0.0.3"), StaticInfo{{"figlet"}});
    snapshot.peers.mark_unreachable("a");
    EXPECT_EQ(StaticStrategy().decide(snapshot).policies->at("figlet").peers,
              (std::map<Ipv4, uint32_t>{{ip("10.0.0.3"), 40}}));
}

TEST(AllLocal, EveryFunctionLocalAndNoMessages) {
    Snapshot snapshot = make_snapshot("me", StrategyKind::AllLocal);
    snapshot.functions = {testing::function("figlet"), testing::function("curl")};
    receive(snapshot, "a", ip("10.0.0.2"), StaticInfo{{"figlet"}});
    const Decision decision = AllLocalStrategy().decide(snapshot);
    EXPECT_TRUE(decision.messages.empty());
    EXPECT_EQ(decision.policies, (PolicySet{{"curl", FunctionPolicy::all_local()},
                                            {"figlet", FunctionPolicy::all_local()}}));
}

}  // namespace
}  // namespace dfaas::strategy
