// Recalc: the reference traces R1-R9 (2021 agent logs, v1.0 user rate = count·2/60) and edges.
#include <gtest/gtest.h>

#include "dfaas/strategy/error.h"
#include "dfaas/strategy/strategies.h"
#include "support.h"

namespace dfaas::strategy {
namespace {

using testing::at_ms;
using testing::ip;
using testing::kNow;
using testing::make_snapshot;
using testing::receive;
using testing::with_max_rate;

const Ipv4 kNode1 = ip("10.0.0.1");
const Ipv4 kNode2 = ip("10.0.0.2");
const Ipv4 kNode3 = ip("10.0.0.3");

// v1.0 measured the user rate as the counter since the last reload (half a period) · 2 / 60.
double v1_rate(int count) {
    return count * 2.0 / 60.0;
}

const RecalcLimits *limits_to(const Decision &decision, const std::string &peer) {
    for (const auto &message : decision.messages)
        if (message.to == peer) return std::get_if<RecalcLimits>(&message.body);
    return nullptr;
}
const RecalcLimits *limits_to(Decision &&, const std::string &) = delete;  // dangling pointer

// Node 1 of the traces: funca maxrate 10, figlet 50; node2 and node3 have sent it limits.
Snapshot node1(std::map<std::string, double> limit_out_node2 = {{"funca", 0}},
               std::map<std::string, double> limit_out_node3 = {{"funca", 0}}) {
    Snapshot snapshot = make_snapshot("node1", StrategyKind::Recalc);
    snapshot.functions = {with_max_rate("funca", 10), with_max_rate("figlet", 50)};
    receive(snapshot, "node2", kNode2, RecalcLimits{std::move(limit_out_node2)});
    receive(snapshot, "node3", kNode3, RecalcLimits{std::move(limit_out_node3)});
    return snapshot;
}

// A neighbour of node1 running only funca with `max_rate`, knowing node1 and one other peer.
Snapshot neighbour(const std::string &id, uint32_t max_rate, const std::string &other,
                   Ipv4 other_address) {
    Snapshot snapshot = make_snapshot(id, StrategyKind::Recalc);
    snapshot.functions = {with_max_rate("funca", max_rate)};
    receive(snapshot, "node1", kNode1, RecalcLimits{{{"funca", 0}, {"figlet", 0}}});
    receive(snapshot, other, other_address, RecalcLimits{{{"funca", 0}}});
    return snapshot;
}

TEST(RecalcTrace, R1_IdleNodeSharesItsMarginEquallyAmongTwoPeers) {
    const Decision step1 = recalc_step1(node1());
    for (const char *peer : {"node2", "node3"}) {
        const RecalcLimits *limits = limits_to(step1, peer);
        ASSERT_NE(limits, nullptr) << peer;
        EXPECT_EQ(limits->limits, (std::map<std::string, double>{{"figlet", 25}, {"funca", 5}}));
    }
    EXPECT_TRUE(step1.recalc_plan->overloaded.empty());
    EXPECT_FALSE(step1.policies.has_value());  // step 1 installs nothing
}

TEST(RecalcTrace, R2_PeersLimitsBecomeLimitOut) {
    Snapshot first = node1();
    const Decision from_node2 = recalc_step1(neighbour("node2", 20, "node3", kNode3));
    const Decision from_node3 = recalc_step1(neighbour("node3", 30, "node2", kNode2));
    receive(first, "node2", kNode2, *limits_to(from_node2, "node1"));
    receive(first, "node3", kNode3, *limits_to(from_node3, "node1"));
    const auto &limit_out_2 = first.peers.find("node2")->recalc_limit_out->value;
    const auto &limit_out_3 = first.peers.find("node3")->recalc_limit_out->value;
    EXPECT_EQ(limit_out_2.at("funca"), 10);
    EXPECT_EQ(limit_out_3.at("funca"), 15);
}

TEST(RecalcTrace, R3_RateAboveMaxRateOverloadsAndClosesLimitIn) {
    Snapshot snapshot = node1();
    snapshot.user_rates["funca"] = v1_rate(1476);  // 49.20 req/s
    EXPECT_NEAR(snapshot.user_rates["funca"], 49.2, 1e-9);
    const Decision step1 = recalc_step1(snapshot);
    EXPECT_EQ(step1.recalc_plan->overloaded, (std::set<std::string>{"funca"}));
    EXPECT_EQ(limits_to(step1, "node2")->limits.at("funca"), 0);
    EXPECT_EQ(limits_to(step1, "node3")->limits.at("funca"), 0);
    EXPECT_EQ(limits_to(step1, "node2")->limits.at("figlet"), 25);
}

// Step 2 for node1 with funca overloaded and the given LimitOut values.
FunctionPolicy overloaded_funca(double limit_out_node3, double limit_out_node2) {
    Snapshot snapshot = node1({{"funca", limit_out_node2}}, {{"funca", limit_out_node3}});
    snapshot.user_rates["funca"] = v1_rate(1476);
    const Decision step1 = recalc_step1(snapshot);
    const Decision step2 = recalc_step2(snapshot, *step1.recalc_plan);
    return step2.policies->at("funca");
}

TEST(RecalcTrace, R4_OverflowWeightsFollowLimitOut) {
    const FunctionPolicy policy = overloaded_funca(15, 10);
    EXPECT_EQ(policy.overflow, (std::map<Ipv4, uint32_t>{{kNode3, 60}, {kNode2, 40}}));
    EXPECT_EQ(policy.local, 100u);
    EXPECT_EQ(policy.local_cap, 10u);  // local until maxrate, then overflow
    EXPECT_EQ(policy.limit_in, (std::map<Ipv4, uint32_t>{{kNode2, 0}, {kNode3, 0}}));
}

TEST(RecalcTrace, R5_MarginIsMaxRateMinusTruncatedRate) {
    Snapshot snapshot = neighbour("node2", 20, "node3", kNode3);
    snapshot.user_rates["funca"] = v1_rate(126);  // 4.20 req/s -> margin 16 -> 8 each
    const Decision decision = recalc_step1(snapshot);
    EXPECT_EQ(limits_to(decision, "node1")->limits.at("funca"), 8);
}

TEST(RecalcTrace, R6_LimitInUsesUnsignedIntegerDivision) {
    Snapshot snapshot = neighbour("node2", 20, "node3", kNode3);
    snapshot.user_rates["funca"] = v1_rate(286);  // 9.53 req/s -> margin 11 -> 5 each
    const Decision decision = recalc_step1(snapshot);
    EXPECT_EQ(limits_to(decision, "node1")->limits.at("funca"), 5);
}

TEST(RecalcTrace, R7_WeightsTruncate) {
    EXPECT_EQ(overloaded_funca(15, 8).overflow,
              (std::map<Ipv4, uint32_t>{{kNode3, 65}, {kNode2, 34}}));
}

TEST(RecalcTrace, R8_WeightsFromLimitOut15And5) {
    EXPECT_EQ(overloaded_funca(15, 5).overflow,
              (std::map<Ipv4, uint32_t>{{kNode3, 75}, {kNode2, 25}}));
}

TEST(RecalcTrace, R9_PeerWithoutCapacityGetsNoWeight) {
    EXPECT_EQ(overloaded_funca(15, 0).overflow, (std::map<Ipv4, uint32_t>{{kNode3, 100}}));
}

TEST(Recalc, NotOverloadedFunctionHasCapAndLimitInButNoOverflow) {
    Snapshot snapshot = node1({{"funca", 7}}, {{"funca", 9}});
    snapshot.user_rates["funca"] = 4.0;
    const Decision decision = RecalcStrategy().decide(snapshot);
    const FunctionPolicy &policy = decision.policies->at("funca");
    EXPECT_EQ(policy.local_cap, 10u);
    EXPECT_TRUE(policy.overflow.empty());  // as the reference: weights only when overloaded
    EXPECT_EQ(policy.limit_in, (std::map<Ipv4, uint32_t>{{kNode2, 3}, {kNode3, 3}}));
}

TEST(Recalc, StandbyOverflowInstallsWeightsBeforeOverload) {
    Snapshot snapshot = node1({{"funca", 7}}, {{"funca", 9}});
    snapshot.user_rates["funca"] = 4.0;
    snapshot.recalc.standby_overflow = true;
    const Decision decision = RecalcStrategy().decide(snapshot);
    EXPECT_EQ(decision.recalc_plan->overloaded.count("funca"), 0u);
    const FunctionPolicy &policy = decision.policies->at("funca");
    EXPECT_EQ(policy.local, 100u);
    EXPECT_EQ(policy.local_cap, 10u);  // everything stays local up to the maxrate
    // Over it, the excess goes by LimitOut (7 and 9 of 16) instead of being rejected.
    EXPECT_EQ(policy.overflow, (std::map<Ipv4, uint32_t>{{kNode2, 43}, {kNode3, 56}}));
    // What the node offers its peers and tells them does not change.
    snapshot.recalc.standby_overflow = false;
    const Decision reference = RecalcStrategy().decide(snapshot);
    EXPECT_EQ(policy.limit_in, reference.policies->at("funca").limit_in);
    EXPECT_EQ(decision.messages.size(), reference.messages.size());
    EXPECT_TRUE(reference.policies->at("funca").overflow.empty());
}

TEST(Recalc, StandbyOverflowWithoutPeersStillRejectsOverTheCap) {
    Snapshot snapshot = make_snapshot("node1", StrategyKind::Recalc);
    snapshot.functions = {with_max_rate("funca", 10)};
    snapshot.recalc.standby_overflow = true;
    EXPECT_TRUE(RecalcStrategy().decide(snapshot).policies->at("funca").overflow.empty());
}

TEST(Recalc, RateExactlyAtMaxRateIsOverloaded) {
    Snapshot snapshot = node1({{"funca", 5}}, {{"funca", 5}});
    snapshot.user_rates["funca"] = 10.0;
    const Decision decision = RecalcStrategy().decide(snapshot);
    EXPECT_EQ(decision.recalc_plan->overloaded.count("funca"), 1u);
    EXPECT_EQ(decision.policies->at("funca").overflow,
              (std::map<Ipv4, uint32_t>{{kNode2, 50}, {kNode3, 50}}));
    snapshot.user_rates["funca"] = 9.999;
    EXPECT_EQ(RecalcStrategy().decide(snapshot).recalc_plan->overloaded.count("funca"), 0u);
}

TEST(Recalc, ZeroRatesOfferTheWholeMaxRate) {
    Snapshot snapshot = node1();
    snapshot.user_rates = {{"funca", 0.0}, {"figlet", 0.0}};
    const Decision step1 = recalc_step1(snapshot);
    EXPECT_EQ(step1.recalc_plan->limit_in.at("node2").at("figlet"), 25u);
    EXPECT_EQ(step1.recalc_plan->limit_in.at("node2").at("funca"), 5u);
}

TEST(Recalc, NoPeersMeansNoMessagesAndLocalWithCap) {
    Snapshot snapshot = make_snapshot("node1", StrategyKind::Recalc);
    snapshot.functions = {with_max_rate("funca", 10)};
    snapshot.user_rates["funca"] = 50.0;
    const Decision decision = RecalcStrategy().decide(snapshot);
    EXPECT_TRUE(decision.messages.empty());
    const FunctionPolicy &policy = decision.policies->at("funca");
    EXPECT_EQ(policy.local, 100u);
    EXPECT_EQ(policy.local_cap, 10u);
    EXPECT_TRUE(policy.overflow.empty());  // over the cap the data plane rejects
    EXPECT_TRUE(policy.limit_in.empty());
}

TEST(Recalc, DeadPeersGetNothing) {
    Snapshot snapshot = node1({{"funca", 5}}, {{"funca", 5}});
    snapshot.user_rates["funca"] = 20.0;
    snapshot.now = kNow + peer_ttl(StrategyKind::Recalc, snapshot.period) + Millis{1};
    const Decision decision = RecalcStrategy().decide(snapshot);
    EXPECT_TRUE(decision.messages.empty());
    EXPECT_TRUE(decision.policies->at("funca").overflow.empty());
    EXPECT_TRUE(decision.policies->at("funca").limit_in.empty());
}

TEST(Recalc, TtlIsOnePointTwoPeriods) {
    Snapshot snapshot = node1({{"funca", 5}}, {{"funca", 5}});
    snapshot.user_rates["funca"] = 20.0;
    snapshot.now = kNow + std::chrono::seconds(72);  // exactly TAlive + TTL: still alive
    EXPECT_EQ(RecalcStrategy().decide(snapshot).policies->at("funca").overflow.size(), 2u);
}

TEST(Recalc, MemberWithoutLimitsYetGetsZerosForEveryFunction) {
    Snapshot snapshot = node1();
    snapshot.peers.record_membership("node4", ip("10.0.0.4"), {"funca"}, kNow);
    const Decision decision = RecalcStrategy().decide(snapshot);
    EXPECT_EQ(limits_to(decision, "node4")->limits,
              (std::map<std::string, double>{{"figlet", 0}, {"funca", 0}}));
    // node2 and node3 share the margin; node4 is not counted and may not forward anything.
    EXPECT_EQ(limits_to(decision, "node2")->limits.at("figlet"), 25);
    EXPECT_EQ(decision.policies->at("figlet").limit_in.at(ip("10.0.0.4")), 0u);
}

TEST(Recalc, FunctionWithoutMaxRateIsLeftOutWithAWarning) {
    Snapshot snapshot = node1();
    snapshot.functions.push_back(testing::function("nolabels"));
    snapshot.functions.push_back(testing::function("bad", {{"dfaas.maxrate", "ten"}}));
    const Decision decision = RecalcStrategy().decide(snapshot);
    EXPECT_EQ(decision.policies->at("nolabels"), FunctionPolicy::all_local());
    EXPECT_EQ(decision.policies->at("bad"), FunctionPolicy::all_local());
    EXPECT_EQ(limits_to(decision, "node2")->limits.count("nolabels"), 0u);
    ASSERT_EQ(decision.warnings.size(), 2u);
    EXPECT_NE(decision.warnings[0].find("'bad'"), std::string::npos);
    EXPECT_NE(decision.warnings[1].find("'nolabels'"), std::string::npos);
}

TEST(Recalc, FunctionsOnlyPeersRunAreRoutedByNodeWeight) {
    Snapshot snapshot = node1({{"funca", 0}, {"shasum", 6}}, {{"funca", 0}, {"shasum", 2}});
    const Decision decision = RecalcStrategy().decide(snapshot);
    const FunctionPolicy &policy = decision.policies->at("shasum");
    EXPECT_EQ(policy.local, 0u);
    EXPECT_EQ(policy.reject, 0u);
    EXPECT_EQ(policy.peers, (std::map<Ipv4, uint32_t>{{kNode2, 75}, {kNode3, 25}}));
}

TEST(Recalc, FunctionOnlyPeersRunWithoutCapacityIsRejected) {
    Snapshot snapshot = node1({{"shasum", 0}}, {{"funca", 3}});
    const FunctionPolicy policy = RecalcStrategy().decide(snapshot).policies->at("shasum");
    EXPECT_EQ(policy.local, 0u);
    EXPECT_EQ(policy.reject, 100u);
    EXPECT_TRUE(policy.peers.empty());
}

TEST(Recalc, MaxRateZeroMeansNoLocalCapacity) {
    Snapshot snapshot = node1({{"funca", 4}}, {{"funca", 4}});
    snapshot.functions = {with_max_rate("funca", 0)};
    const FunctionPolicy policy = RecalcStrategy().decide(snapshot).policies->at("funca");
    EXPECT_EQ(policy.local, 0u);
    EXPECT_EQ(policy.local_cap, 0u);
    EXPECT_EQ(policy.peers, (std::map<Ipv4, uint32_t>{{kNode2, 50}, {kNode3, 50}}));
}

TEST(Recalc, StepTwoUsesLimitsReceivedBetweenTheSteps) {
    Snapshot snapshot = node1({{"funca", 0}}, {{"funca", 0}});
    snapshot.user_rates["funca"] = 30.0;
    const Decision step1 = recalc_step1(snapshot);
    snapshot.now = kNow + std::chrono::seconds(30);
    receive(snapshot, "node2", kNode2, RecalcLimits{{{"funca", 10}}}, snapshot.now);
    receive(snapshot, "node3", kNode3, RecalcLimits{{{"funca", 15}}}, snapshot.now);
    const RecalcStrategy recalc;
    const Decision step2 = recalc.step(snapshot, 1, &step1);
    EXPECT_EQ(step2.policies->at("funca").overflow,
              (std::map<Ipv4, uint32_t>{{kNode2, 40}, {kNode3, 60}}));
}

TEST(Recalc, StepTwoWithoutThePlanIsAnError) {
    const RecalcStrategy recalc;
    EXPECT_THROW(recalc.step(node1(), 1, nullptr), Error);
    const Decision no_plan;
    EXPECT_THROW(recalc.step(node1(), 1, &no_plan), Error);
    EXPECT_THROW(recalc.step(node1(), 2, nullptr), Error);
}

TEST(Recalc, PeersAreVisitedInIdOrder) {
    Snapshot snapshot = make_snapshot("node1", StrategyKind::Recalc);
    snapshot.functions = {with_max_rate("funca", 10)};
    for (const char *peer : {"node9", "node4", "node7"})
        receive(snapshot, peer, ip("10.0.1.1"), RecalcLimits{{{"funca", 1}}});
    const Decision decision = recalc_step1(snapshot);
    ASSERT_EQ(decision.messages.size(), 3u);
    EXPECT_EQ(decision.messages[0].to, "node4");
    EXPECT_EQ(decision.messages[1].to, "node7");
    EXPECT_EQ(decision.messages[2].to, "node9");
}

TEST(RecalcPhases, StepsRunAtPeriodAndHalfPeriodBoundaries) {
    const Millis minute = std::chrono::minutes(1);
    const Instant ten_past = kNow + std::chrono::seconds(10);  // hh:00:10
    EXPECT_EQ(next_phase_time(ten_past, minute, Millis{0}), kNow + minute);
    EXPECT_EQ(next_phase_time(ten_past, minute, minute / 2), kNow + std::chrono::seconds(30));
    // Exactly on a boundary, the next one is a full period later (as the reference's sleep).
    EXPECT_EQ(next_phase_time(kNow, minute, Millis{0}), kNow + minute);
    EXPECT_EQ(next_phase_time(at_ms(-1), Millis{1000}, Millis{0}), at_ms(0));
    EXPECT_EQ(next_phase_time(at_ms(-1500), Millis{1000}, Millis{0}), at_ms(-1000));

    const RecalcStrategy recalc;
    const ScheduledStep next = next_step(recalc, ten_past, minute);
    EXPECT_EQ(next.index, 1u);
    EXPECT_EQ(next.at, kNow + std::chrono::seconds(30));
    const ScheduledStep after = next_step(recalc, kNow + std::chrono::seconds(45), minute);
    EXPECT_EQ(after.index, 0u);
    EXPECT_EQ(after.at, kNow + minute);
}

}  // namespace
}  // namespace dfaas::strategy
