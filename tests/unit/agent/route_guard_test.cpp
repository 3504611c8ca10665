// The feedback guard on its own (route_guard.h): what a tick's growth of a route's counters says
// (errors, timeouts from the histogram, slot reuse), when a route is guarded (threshold, minimum
// responses, consecutive ticks, a good tick resets), and how a guarded route's share moves.
#include "route_guard.h"

#include <gtest/gtest.h>

#include "dfaas/config/config.h"

namespace dfaas::agent {
namespace {

using dp::HttpCode;
using dp::HttpCounters;

const Ipv4 kPeerA = *Ipv4::parse("10.0.0.2");
const Ipv4 kPeerB = *Ipv4::parse("10.0.0.3");

// The bucket whose range starts at `seconds` or later (the first one whose lower bound reaches).
size_t bucket_from(double seconds) {
    for (size_t i = 1; i < dp::kHttpBuckets; ++i)
        if (dp::http_bucket_upper_seconds(i - 1) >= seconds) return i;
    return dp::kHttpBuckets - 1;
}

// Cumulative counters, added to as a route answers.
struct RouteCounters {
    HttpCounters c;
    RouteCounters &answer(HttpCode code, uint64_t n, size_t bucket = 5) {
        c.codes[size_t(code)] += n;
        c.buckets[bucket] += n;
        return *this;
    }
};

class RouteGuardTest : public ::testing::Test {
  protected:
    RouteGuard guard_{GuardSettings{true, 0.5, 5, 2, 3}};
    RouteCounters peer_a_, local_;
    std::optional<uint32_t> timeout_ms_;

    std::vector<GuardChange> tick() {
        return guard_.update({RouteReading{{"figlet", kPeerA}, peer_a_.c, timeout_ms_},
                              RouteReading{{"figlet", std::nullopt}, local_.c, timeout_ms_}});
    }
    bool guarded(const Route &route) const {
        return guard_.guarded().count(RouteKey{"figlet", route}) > 0;
    }
};

TEST_F(RouteGuardTest, TwoFailingTicksGuardTheRouteAndNotTheOthers) {
    tick();  // baseline
    peer_a_.answer(HttpCode::Unavailable503, 10);
    local_.answer(HttpCode::Ok200, 10);
    EXPECT_TRUE(tick().empty()) << "one failing tick is not enough";
    EXPECT_FALSE(guarded(kPeerA));
    peer_a_.answer(HttpCode::Unavailable503, 10);
    local_.answer(HttpCode::Ok200, 10);
    auto changes = tick();
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_TRUE(changes[0].guarded);
    EXPECT_EQ(changes[0].key, (RouteKey{"figlet", kPeerA}));
    EXPECT_EQ(changes[0].detail.cause, "503s");
    EXPECT_DOUBLE_EQ(changes[0].detail.error_ratio, 1.0);
    EXPECT_TRUE(guarded(kPeerA));
    EXPECT_FALSE(guarded(std::nullopt));
    EXPECT_EQ(guard_.guarded_routes("figlet"), std::set<Route>{kPeerA});
    EXPECT_EQ(guard_.adjustments().at(RouteKey{"figlet", kPeerA}), 1u);
}

TEST_F(RouteGuardTest, TheFirstReadingIsABaselineNotATick) {
    // A restart finds counters full of old 503s: they say nothing about now.
    peer_a_.answer(HttpCode::Unavailable503, 1000);
    tick();
    tick();
    EXPECT_FALSE(guarded(kPeerA));
}

TEST_F(RouteGuardTest, TheRatioMustBeAboveTheThreshold) {
    tick();
    for (int i = 0; i < 3; ++i) {
        peer_a_.answer(HttpCode::Unavailable503, 5).answer(HttpCode::Ok200, 5);  // exactly 0.5
        tick();
    }
    EXPECT_FALSE(guarded(kPeerA)) << "0.5 is not above 0.5";
    for (int i = 0; i < 2; ++i) {
        peer_a_.answer(HttpCode::Unavailable503, 6).answer(HttpCode::Ok200, 4);  // 0.6
        tick();
    }
    EXPECT_TRUE(guarded(kPeerA));
}

TEST_F(RouteGuardTest, ATickNeedsTheMinimumOfFinalResponses) {
    tick();
    for (int i = 0; i < 4; ++i) {
        peer_a_.answer(HttpCode::Unavailable503, 4);  // all failed, but 4 < 5
        peer_a_.answer(HttpCode::Other1xx, 3);        // interim answers are not final ones
        tick();
    }
    EXPECT_FALSE(guarded(kPeerA));
    peer_a_.answer(HttpCode::Unavailable503, 5);
    tick();
    peer_a_.answer(HttpCode::Unavailable503, 5);
    tick();
    EXPECT_TRUE(guarded(kPeerA));
}

TEST_F(RouteGuardTest, AGoodOrQuietTickEndsTheStreak) {
    tick();
    peer_a_.answer(HttpCode::Unavailable503, 10);
    tick();
    peer_a_.answer(HttpCode::Ok200, 10);  // good
    tick();
    peer_a_.answer(HttpCode::Unavailable503, 10);
    tick();
    EXPECT_FALSE(guarded(kPeerA)) << "failing, good, failing: never 2 in a row";
    tick();  // quiet: no response at all
    peer_a_.answer(HttpCode::Unavailable503, 10);
    tick();
    EXPECT_FALSE(guarded(kPeerA)) << "a tick without responses ends the streak too";
    peer_a_.answer(HttpCode::Unavailable503, 10);
    tick();
    EXPECT_TRUE(guarded(kPeerA));
}

TEST_F(RouteGuardTest, ClientErrorsAreNotTheRoutesFailures) {
    tick();
    for (int i = 0; i < 3; ++i) {
        peer_a_.answer(HttpCode::NotFound404, 10).answer(HttpCode::Other4xx, 10);
        tick();
    }
    EXPECT_FALSE(guarded(kPeerA));
}

TEST_F(RouteGuardTest, TooManyRequestsAndEvery5xxCount) {
    for (auto code : {HttpCode::TooMany429, HttpCode::Error500, HttpCode::BadGateway502,
                      HttpCode::Timeout504, HttpCode::Other5xx}) {
        RouteGuard guard{GuardSettings{true, 0.5, 5, 1}};
        HttpCounters c;
        guard.update({RouteReading{{"f", kPeerA}, c, std::nullopt}});
        c.codes[size_t(code)] = 10;
        auto changes = guard.update({RouteReading{{"f", kPeerA}, c, std::nullopt}});
        ASSERT_EQ(changes.size(), 1u) << dp::http_code_label(size_t(code));
        EXPECT_FALSE(changes[0].detail.cause.empty());
    }
}

TEST_F(RouteGuardTest, ResponsesSlowerThanTheTimeoutCountAsFailed) {
    timeout_ms_ = 1000;
    const size_t slow = bucket_from(1.0);
    tick();
    for (int i = 0; i < 2; ++i) {
        peer_a_.answer(HttpCode::Ok200, 8, slow).answer(HttpCode::Ok200, 2, 5);
        tick();
    }
    ASSERT_TRUE(guarded(kPeerA));
    EXPECT_EQ(guard_.guarded().at(RouteKey{"figlet", kPeerA}).cause, "timeouts");
    EXPECT_DOUBLE_EQ(guard_.guarded().at(RouteKey{"figlet", kPeerA}).error_ratio, 0.8);
}

TEST(RouteGuardTimeouts, OnlyBucketsStartingAtTheTimeoutCount) {
    // The bucket holding 1 s (it starts below 1 s) may hold responses in time: not counted.
    const size_t first_slow = bucket_from(1.0);
    ASSERT_LT(dp::http_bucket_upper_seconds(first_slow - 2), 1.0);
    HttpCounters growth;
    growth.codes[size_t(HttpCode::Ok200)] = 30;
    growth.buckets[first_slow - 1] = 10;  // straddles 1 s
    growth.buckets[first_slow] = 7;
    growth.buckets[dp::kHttpBuckets - 1] = 3;  // +Inf
    growth.buckets[2] = 10;
    EXPECT_EQ(judge_tick(growth, 1000).failed, 10u);
    EXPECT_EQ(judge_tick(growth, std::nullopt).failed, 0u) << "no timeout_ms, no timeouts";
    EXPECT_EQ(judge_tick(growth, std::nullopt).final_responses, 30u);
}

TEST(RouteGuardTimeouts, ASlowErrorIsNeverCountedAboveTheResponses) {
    HttpCounters growth;
    growth.codes[size_t(HttpCode::Timeout504)] = 10;
    growth.buckets[dp::kHttpBuckets - 1] = 10;  // the same 10, slow and 504
    auto v = judge_tick(growth, 1000);
    EXPECT_EQ(v.failed, 10u);
    EXPECT_DOUBLE_EQ(*v.error_ratio(), 1.0);
}

TEST_F(RouteGuardTest, ACounterGoingDownIsASlotReusedCountedFromZero) {
    peer_a_.answer(HttpCode::Ok200, 1000);
    tick();
    // The slot now holds a new peer (or function): its counters restarted, 10 503s so far.
    peer_a_ = RouteCounters{};
    peer_a_.answer(HttpCode::Unavailable503, 10);
    tick();
    peer_a_.answer(HttpCode::Unavailable503, 10);
    tick();
    EXPECT_TRUE(guarded(kPeerA)) << "both ticks failed: 10/10 from zero, then 10/10";

    HttpCounters before, now;
    before.codes[size_t(HttpCode::Ok200)] = 50;
    now.codes[size_t(HttpCode::Ok200)] = 20;
    now.codes[size_t(HttpCode::Unavailable503)] = 4;
    auto growth = counter_growth(before, now);
    EXPECT_EQ(growth.codes[size_t(HttpCode::Ok200)], 20u);
    EXPECT_EQ(growth.codes[size_t(HttpCode::Unavailable503)], 4u);
}

TEST_F(RouteGuardTest, AStrategyStepLiftsOnlyGuardsOlderThanTheHold) {
    tick();
    for (int i = 0; i < 2; ++i) {
        peer_a_.answer(HttpCode::Unavailable503, 10);
        tick();
    }
    ASSERT_TRUE(guarded(kPeerA));
    EXPECT_TRUE(guard_.strategy_step().empty()) << "guarded 0 ticks ago, hold 3: stays";
    EXPECT_TRUE(guarded(kPeerA));
    for (int i = 0; i < 2; ++i)
        tick();  // no traffic reaches a guarded route: its counters stand still
    EXPECT_TRUE(guard_.strategy_step().empty()) << "2 ticks old: still held";
    tick();
    auto lifted = guard_.strategy_step();
    ASSERT_EQ(lifted.size(), 1u) << "3 ticks old: the step lifts it";
    EXPECT_FALSE(lifted[0].guarded);
    EXPECT_EQ(lifted[0].detail.age_ticks, 3u);
    EXPECT_FALSE(guarded(kPeerA));
    peer_a_.answer(HttpCode::Unavailable503, 10);
    tick();
    EXPECT_FALSE(guarded(kPeerA)) << "one tick after the step: not yet";
    peer_a_.answer(HttpCode::Unavailable503, 10);
    tick();
    EXPECT_TRUE(guarded(kPeerA)) << "still failing 2 ticks later: guarded again";
    EXPECT_EQ(guard_.adjustments().at(RouteKey{"figlet", kPeerA}), 2u);
}

TEST_F(RouteGuardTest, AStrategyStepEndsTheStreaksOfRoutesNotGuarded) {
    tick();
    peer_a_.answer(HttpCode::Unavailable503, 10);
    tick();
    guard_.strategy_step();
    peer_a_.answer(HttpCode::Unavailable503, 10);
    tick();
    EXPECT_FALSE(guarded(kPeerA)) << "the failing tick before the step does not count";
    peer_a_.answer(HttpCode::Unavailable503, 10);
    tick();
    EXPECT_TRUE(guarded(kPeerA));
}

TEST(GuardHoldTicks, RoundsUpToWholeTicks) {
    using namespace std::chrono_literals;
    EXPECT_EQ(guard_hold_ticks(10s, 500ms), 20u);
    EXPECT_EQ(guard_hold_ticks(10001ms, 500ms), 21u);
    EXPECT_EQ(guard_hold_ticks(1ms, 500ms), 1u);
    EXPECT_EQ(guard_hold_ticks(1ms, 0ms), 1u);
}

TEST_F(RouteGuardTest, ARouteGoneIsLiftedAndForgotten) {
    tick();
    for (int i = 0; i < 2; ++i) {
        peer_a_.answer(HttpCode::Unavailable503, 10);
        tick();
    }
    ASSERT_TRUE(guarded(kPeerA));
    auto changes = guard_.update({RouteReading{{"figlet", std::nullopt}, local_.c, std::nullopt}});
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_FALSE(changes[0].guarded);
    EXPECT_TRUE(guard_.guarded().empty());
    EXPECT_TRUE(guard_.adjustments().empty()) << "its metric series goes with it";
}

TEST_F(RouteGuardTest, DisabledGuardsNothing) {
    RouteGuard off{GuardSettings{false, 0.5, 5, 2}};
    HttpCounters c;
    for (int i = 0; i < 5; ++i) {
        c.codes[size_t(HttpCode::Unavailable503)] += 100;
        off.update({RouteReading{{"f", kPeerA}, c, std::nullopt}});
    }
    EXPECT_TRUE(off.guarded().empty());
}

TEST_F(RouteGuardTest, TicksSettingOfOneGuardsOnTheFirstFailingTick) {
    RouteGuard quick{GuardSettings{true, 0.5, 5, 1}};
    HttpCounters c;
    quick.update({RouteReading{{"f", kPeerA}, c, std::nullopt}});
    c.codes[size_t(HttpCode::Unavailable503)] = 5;
    EXPECT_EQ(quick.update({RouteReading{{"f", kPeerA}, c, std::nullopt}}).size(), 1u);
}

// ---- guard_policy -----------------------------------------------------------------------------

FunctionPolicy policy(uint32_t local, std::map<Ipv4, uint32_t> peers, uint32_t reject = 0) {
    FunctionPolicy p;
    p.local = local;
    p.peers = std::move(peers);
    p.reject = reject;
    return p;
}

TEST(GuardPolicy, AGuardedPeersShareGoesToTheOtherRoutesInProportion) {
    auto out = guard_policy(policy(20, {{kPeerA, 40}, {kPeerB, 60}}, 10), {kPeerA}, true);
    EXPECT_TRUE(out.adjusted);
    EXPECT_FALSE(out.kept_because);
    // local 20 + 40*20/80 = 30; peer B 60 + 40*60/80 = 90; reject untouched.
    EXPECT_EQ(out.policy.local, 30u);
    EXPECT_EQ(out.policy.peers, (std::map<Ipv4, uint32_t>{{kPeerB, 90}}));
    EXPECT_EQ(out.policy.reject, 10u);
    EXPECT_FALSE(out.policy.validate());
}

TEST(GuardPolicy, WeightsAreRescaledToStayWithinTheMaximum) {
    auto out = guard_policy(policy(100, {{kPeerA, 100}}, 20), {kPeerA}, true);
    // local would be 200 with reject 20: scaled to 100 and 10, the same proportions.
    EXPECT_EQ(out.policy.local, 100u);
    EXPECT_EQ(out.policy.reject, 10u);
    EXPECT_TRUE(out.policy.peers.empty());
    EXPECT_FALSE(out.policy.validate());
}

TEST(GuardPolicy, LocalWithoutWeightTakesTheShareOnlyWhenItIsTheOnlyRouteLeft) {
    auto only = guard_policy(policy(0, {{kPeerA, 100}}), {kPeerA}, true);
    EXPECT_EQ(only.policy.local, 100u);
    EXPECT_TRUE(only.policy.peers.empty());

    auto other_peer = guard_policy(policy(0, {{kPeerA, 50}, {kPeerB, 50}}), {kPeerA}, true);
    EXPECT_EQ(other_peer.policy.local, 0u) << "a peer with weight is left: local gets nothing";
    EXPECT_EQ(other_peer.policy.peers, (std::map<Ipv4, uint32_t>{{kPeerB, 100}}));
}

TEST(GuardPolicy, ANodeThatCannotServeTheFunctionNeverTakesAShare) {
    auto out = guard_policy(policy(0, {{kPeerA, 100}}), {kPeerA}, false);
    EXPECT_FALSE(out.adjusted);
    ASSERT_TRUE(out.kept_because);
    EXPECT_EQ(out.policy, policy(0, {{kPeerA, 100}})) << "no other route: the policy stays";
}

TEST(GuardPolicy, AGuardedLocalRouteGoesToThePeers) {
    auto out = guard_policy(policy(60, {{kPeerA, 20}, {kPeerB, 20}}), {std::nullopt}, true);
    EXPECT_EQ(out.policy.local, 0u);
    EXPECT_EQ(out.policy.peers, (std::map<Ipv4, uint32_t>{{kPeerA, 50}, {kPeerB, 50}}));
}

TEST(GuardPolicy, EveryRouteGuardedLeavesThePolicyAsItIs) {
    auto p = policy(50, {{kPeerA, 50}});
    auto out = guard_policy(p, {std::nullopt, kPeerA}, true);
    EXPECT_FALSE(out.adjusted);
    EXPECT_TRUE(out.kept_because);
    EXPECT_EQ(out.policy, p);
}

TEST(GuardPolicy, OverflowOfAGuardedPeerGoesToTheOtherOverflowPeers) {
    auto p = policy(100, {});
    p.local_cap = 10;
    p.overflow = {{kPeerA, 30}, {kPeerB, 70}};
    auto out = guard_policy(p, {kPeerA}, true);
    EXPECT_EQ(out.policy.overflow, (std::map<Ipv4, uint32_t>{{kPeerB, 70}}));
    EXPECT_EQ(out.policy.local, 100u);
    EXPECT_EQ(out.policy.local_cap, 10u);

    p.overflow = {{kPeerA, 30}};
    EXPECT_EQ(guard_policy(p, {kPeerA}, true).policy.overflow, p.overflow)
        << "the only overflow peer stays (nothing else beyond the cap but rejecting)";
}

TEST(GuardPolicy, NothingGuardedOrNoWeightToMoveChangesNothing) {
    auto p = policy(50, {{kPeerA, 50}, {kPeerB, 0}});
    EXPECT_FALSE(guard_policy(p, {}, true).adjusted);
    auto out = guard_policy(p, {kPeerB}, true);
    EXPECT_FALSE(out.adjusted);
    EXPECT_FALSE(out.kept_because);
}

// ---- the configuration's defaults are the guard's ---------------------------------------------

TEST(GuardSettingsDefaults, TheConfigurationsDefaultsAreTheGuards) {
    Config cfg;
    GuardSettings defaults;
    EXPECT_EQ(cfg.strategy.guard.enabled, defaults.enabled);
    EXPECT_DOUBLE_EQ(cfg.strategy.guard.error_ratio, defaults.error_ratio);
    EXPECT_EQ(cfg.strategy.guard.min_responses, defaults.min_responses);
    EXPECT_EQ(cfg.strategy.guard.ticks, defaults.ticks);
    EXPECT_TRUE(defaults.enabled);
    EXPECT_DOUBLE_EQ(defaults.error_ratio, 0.5);
    EXPECT_EQ(defaults.min_responses, 5u);
    EXPECT_EQ(defaults.ticks, 2u);
}

}  // namespace
}  // namespace dfaas::agent
