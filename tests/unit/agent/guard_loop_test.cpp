// The feedback guard in the agent (issue 19), every dependency faked (agent_fakes.h): a peer
// whose gateway answers 503 loses its weight after 2 control ticks, the metrics and
// /v1/policies say so, the next strategy step gives it back, and an operator's override is never
// adjusted.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "agent.h"
#include "agent_fakes.h"
#include "metrics.h"
#include "views.h"

namespace dfaas::agent {
namespace {

using namespace std::chrono_literals;
using testing::FakePeerNetwork;
using testing::FakeWorld;
using testing::loop_test_config;
using testing::test_state_file;

const Ipv4 kNode = *Ipv4::parse("10.0.0.1");
const Ipv4 kPeer = *Ipv4::parse("10.0.0.2");

class GuardLoopTest : public ::testing::Test {
  protected:
    void SetUp() override {
        state_file_ = test_state_file("guard_loop_test_state");
        cfg_ = loop_test_config(kNode, state_file_);
        FunctionInfo figlet;
        figlet.name = "figlet";
        figlet.replicas = figlet.available_replicas = 1;
        world_.openfaas->functions = {figlet};
    }
    void TearDown() override {
        agent_.reset();
        std::remove(state_file_.c_str());
    }

    // Started, the peer a member sharing figlet, and Static's policy installed: figlet goes to
    // this node and to the peer. The data plane reports figlet's HTTP counters (zeros: the
    // guard's baseline).
    Agent &start_forwarding() {
        agent_ = std::make_unique<Agent>(cfg_, "node-a", world_.dependencies());
        agent_->start_without_threads_for_test();
        peer_speaks();
        tick();  // the peer gets its slot
        agent_->run_period_step_for_test(0);
        EXPECT_GT(installed().peers.count(kPeer) ? installed().peers.at(kPeer) : 0u, 0u);
        EXPECT_GT(installed().local, 0u);
        dp::FunctionStats stats;
        stats.name = "figlet";
        stats.id = 0;
        stats.http_to_peer[kPeer] = dp::HttpCounters{};
        world_.dataplane->function_stats = {stats};
        tick();  // baseline
        return *agent_;
    }
    // In the tick that follows, the peer answered `n` more requests with `code` and this node
    // answered 10 with 200.
    void answered(dp::HttpCode code, uint64_t n) {
        auto &f = world_.dataplane->function_stats.at(0);
        f.http_to_peer[kPeer].codes[size_t(code)] += n;
        f.http_local.codes[size_t(dp::HttpCode::Ok200)] += 10;
    }
    void tick() { agent_->control_tick_for_test(++ticks_); }
    void peer_speaks() {
        auto now = world_.clock->instant();
        FakePeerNetwork::heartbeat(*world_.peers, "peer-0", kPeer, {{"figlet", 31001}}, "static",
                                   now);
        world_.peers->table.apply("peer-0", kPeer, strategy::StaticInfo{{"figlet"}}, now);
    }
    void next_period() {
        peer_speaks();
        world_.clock->advance(
            std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.strategy.period));
        agent_->run_period_step_for_test(0);
    }
    FunctionPolicy installed() {
        auto &policies = world_.dataplane->policies;
        EXPECT_TRUE(policies.count("figlet"));
        return policies.count("figlet") ? policies.at("figlet") : FunctionPolicy{};
    }
    uint32_t peer_weight() {
        auto p = installed();
        return p.peers.count(kPeer) ? p.peers.at(kPeer) : 0;
    }
    static bool has(const std::string &text, const std::string &needle) {
        return text.find(needle) != std::string::npos;
    }

    Config cfg_;
    FakeWorld world_;
    std::string state_file_;
    std::unique_ptr<Agent> agent_;
    uint64_t ticks_ = 0;
};

TEST_F(GuardLoopTest, APeerAnswering503LosesItsWeightAfterTwoTicksUntilAStepAfterTheHold) {
    cfg_.strategy.guard.hold = 1500ms;  // 3 control ticks of 500 ms
    auto &agent = start_forwarding();
    const FunctionPolicy strategy_policy = installed();
    const uint64_t events_before = agent.events().since(0).last_seq;

    answered(dp::HttpCode::Unavailable503, 20);
    tick();
    EXPECT_EQ(installed(), strategy_policy) << "one failing tick changes nothing";
    answered(dp::HttpCode::Unavailable503, 20);
    tick();
    EXPECT_EQ(peer_weight(), 0u) << "two failing ticks: the peer is out of figlet's policy";
    EXPECT_GT(installed().local, 0u);
    EXPECT_FALSE(installed().validate());

    auto view = agent.view();
    ASSERT_EQ(view.guarded_routes.size(), 1u);
    EXPECT_EQ(view.guarded_routes.begin()->first, (RouteKey{"figlet", kPeer}));
    EXPECT_EQ(view.guarded_routes.begin()->second.cause, "503s");
    const std::string metrics = render_metrics(view);
    EXPECT_TRUE(
        has(metrics, "dfaas_guard_adjustments_total{function=\"figlet\",route=\"10.0.0.2\"} 1"))
        << metrics;
    EXPECT_TRUE(has(metrics, "dfaas_guard_active{function=\"figlet\",route=\"10.0.0.2\"} 1"));
    auto policies = policies_json(view, "");
    ASSERT_EQ(policies["figlet"]["guarded"].size(), 1u) << policies.dump();
    EXPECT_EQ(policies["figlet"]["guarded"][0]["route"], "10.0.0.2");
    EXPECT_EQ(policies["figlet"]["guarded"][0]["cause"], "503s");
    // The event log recorded the change like any other policy change.
    auto events = agent.events().since(events_before).events;
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "policy");
    EXPECT_EQ(events[0].function, "figlet");

    // A failure-detector round or an admission change reinstalls the strategy's policies: the
    // guard's adjustment stays.
    tick();
    EXPECT_EQ(peer_weight(), 0u);

    // A strategy step within the hold (the guard is 1 tick old) keeps the adjustment: Static
    // decides the same weights from the same inputs every period.
    next_period();
    EXPECT_EQ(peer_weight(), 0u) << "held";
    tick();
    tick();

    // 3 ticks old: the strategy's next step decides again and the peer gets its weight back.
    next_period();
    EXPECT_EQ(installed(), strategy_policy);
    view = agent.view();
    EXPECT_TRUE(view.guarded_routes.empty());
    EXPECT_TRUE(
        has(render_metrics(view), "dfaas_guard_active{function=\"figlet\",route=\"10.0.0.2\"} 0"));
    EXPECT_TRUE(policies_json(view, "")["figlet"]["guarded"].empty());

    // Still failing: guarded again 2 ticks later.
    answered(dp::HttpCode::Unavailable503, 20);
    tick();
    EXPECT_GT(peer_weight(), 0u);
    answered(dp::HttpCode::Unavailable503, 20);
    tick();
    EXPECT_EQ(peer_weight(), 0u);
    EXPECT_TRUE(has(render_metrics(agent.view()),
                    "dfaas_guard_adjustments_total{function=\"figlet\",route=\"10.0.0.2\"} 2"));
}

TEST_F(GuardLoopTest, AHealthyPeerKeepsItsWeight) {
    start_forwarding();
    const FunctionPolicy strategy_policy = installed();
    for (int i = 0; i < 4; ++i) {
        answered(dp::HttpCode::Ok200, 20);
        tick();
    }
    EXPECT_EQ(installed(), strategy_policy);
}

TEST_F(GuardLoopTest, DisabledTheGuardLeavesTheFailingPeerItsWeight) {
    cfg_.strategy.guard.enabled = false;
    start_forwarding();
    const FunctionPolicy strategy_policy = installed();
    for (int i = 0; i < 4; ++i) {
        answered(dp::HttpCode::Unavailable503, 20);
        tick();
    }
    EXPECT_EQ(installed(), strategy_policy);
}

TEST_F(GuardLoopTest, AnOperatorOverrideIsNeverAdjusted) {
    auto &agent = start_forwarding();
    FunctionPolicy forced;
    forced.local = 10;
    forced.peers[kPeer] = 90;
    agent.set_override("figlet", forced, std::nullopt);
    for (int i = 0; i < 3; ++i) {
        answered(dp::HttpCode::Unavailable503, 20);
        tick();
    }
    EXPECT_EQ(installed(), forced) << "the override is the operator's word";
    // The guard still says the route fails (the policies view lists it).
    EXPECT_EQ(agent.view().guarded_routes.size(), 1u);
    // Cleared: the strategy's policy comes back adjusted.
    ASSERT_TRUE(agent.clear_override("figlet"));
    EXPECT_EQ(peer_weight(), 0u);
}

}  // namespace
}  // namespace dfaas::agent
