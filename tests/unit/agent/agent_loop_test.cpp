// The agent's period step and control tick with every dependency faked (agent_fakes.h): inputs
// failing, the empty function list guard, more functions or peers than the data plane holds,
// peers joining, leaving and going silent. Each test drives the step and the tick itself through
// the agent's test seams, with a clock it advances by hand: no thread, no sleep, no root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "agent.h"
#include "agent_fakes.h"

namespace dfaas::agent {
namespace {

using namespace std::chrono_literals;
using testing::FakePeerNetwork;
using testing::FakeWorld;
using testing::loop_test_config;
using testing::test_state_file;

const Ipv4 kNode = *Ipv4::parse("10.0.0.1");
const Ipv4 kPeer = *Ipv4::parse("10.0.0.2");

FunctionInfo function(const std::string &name) {
    FunctionInfo f;
    f.name = name;
    f.replicas = f.available_replicas = 1;
    return f;
}

std::vector<FunctionInfo> functions(std::initializer_list<const char *> names) {
    std::vector<FunctionInfo> out;
    for (const auto *n : names)
        out.push_back(function(n));
    return out;
}

Ipv4 peer_address(size_t i) {
    return Ipv4{kPeer.value + static_cast<uint32_t>(i)};
}

class AgentLoopTest : public ::testing::Test {
  protected:
    void SetUp() override {
        state_file_ = test_state_file("agent_loop_test_state");
        cfg_ = loop_test_config(kNode, state_file_);
        world_.openfaas->functions = functions({"figlet", "hello"});
    }
    void TearDown() override {
        agent_.reset();
        std::remove(state_file_.c_str());
    }

    Agent &start() {
        agent_ = std::make_unique<Agent>(cfg_, "node-a", world_.dependencies());
        agent_->start_without_threads_for_test();
        return *agent_;
    }
    // One control tick at the current fake time (ticks are numbered as the loop numbers them).
    void tick() { agent_->control_tick_for_test(++ticks_); }
    // The started agent forwards figlet to kPeer, whose 10 forwarded SYNs were answered, and the
    // failure detector has read that as its baseline.
    void forward_to_the_peer() {
        peer_speaks();
        tick();
        agent_->run_period_step_for_test(0);
        ASSERT_EQ(installed("figlet").peers.count(kPeer), 1u);
        auto &counters = world_.dataplane->peer_counters[kPeer];
        counters.syn_forwarded = 10;
        counters.synack_returned = 10;
        tick();
    }
    // A period passes, then step 0 of the new period runs (inputs gathered, strategy run).
    void next_period() {
        world_.clock->advance(
            std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.strategy.period));
        agent_->run_period_step_for_test(0);
    }
    // The peer speaks now: a heartbeat listing figlet and, for the Static strategy, its info.
    void peer_speaks(size_t i = 0, const std::string &strategy = "static") {
        auto now = world_.clock->instant();
        const std::string id = "peer-" + std::to_string(i);
        FakePeerNetwork::heartbeat(*world_.peers, id, peer_address(i), {{"figlet", 31001}},
                                   strategy, now);
        world_.peers->table.apply(id, peer_address(i), strategy::StaticInfo{{"figlet"}}, now);
    }
    FunctionPolicy installed(const std::string &name) {
        auto &policies = world_.dataplane->policies;
        EXPECT_TRUE(policies.count(name)) << name << " has no policy in the data plane";
        return policies.count(name) ? policies.at(name) : FunctionPolicy{};
    }
    bool serves(const std::string &name) {
        for (const auto &[key, svc] : world_.dataplane->services)
            if (svc.local && svc.function == name) return true;
        return false;
    }

    Config cfg_;
    FakeWorld world_;
    std::string state_file_;
    std::unique_ptr<Agent> agent_;
    uint64_t ticks_ = 0;
};

TEST_F(AgentLoopTest, AMissingDependencyIsRefusedAtConstruction) {
    auto deps = world_.dependencies();
    deps.metrics.reset();
    try {
        Agent agent(cfg_, "node-a", std::move(deps));
        FAIL() << "an agent without a metrics source was built";
    } catch (const std::invalid_argument &e) {
        EXPECT_NE(std::string(e.what()).find("metrics (Prometheus)"), std::string::npos);
    }
}

// ---- the period step ----------------------------------------------------------------------

TEST_F(AgentLoopTest, OpenFaasDownKeepsLastGoodPoliciesAndReportsNotReady) {
    auto &agent = start();
    peer_speaks();
    tick();  // the peer gets its slot
    agent.run_period_step_for_test(0);
    const FunctionPolicy forwarding = installed("figlet");
    ASSERT_EQ(forwarding.peers.count(kPeer), 1u) << "Static gives the peer sharing figlet weight";
    ASSERT_TRUE(agent.readiness().ready);

    world_.openfaas->down = true;
    peer_speaks();
    next_period();
    EXPECT_EQ(installed("figlet"), forwarding);
    EXPECT_TRUE(serves("figlet"));
    EXPECT_TRUE(serves("hello"));
    EXPECT_EQ(agent.view().functions.size(), 2u);
    auto readiness = agent.readiness();
    EXPECT_FALSE(readiness.ready);
    ASSERT_EQ(readiness.reasons.size(), 1u);
    EXPECT_NE(readiness.reasons[0].find("openfaas"), std::string::npos) << readiness.reasons[0];
    EXPECT_NE(readiness.reasons[0].find("connection refused"), std::string::npos);
    EXPECT_FALSE(agent.view().inputs.at("openfaas").ok);

    world_.openfaas->down = false;
    peer_speaks();
    next_period();
    EXPECT_TRUE(agent.readiness().ready);
}

TEST_F(AgentLoopTest, PrometheusDownReportsNotReadyAndTheStrategyStillRuns) {
    auto &agent = start();
    agent.run_period_step_for_test(0);
    ASSERT_TRUE(agent.readiness().ready);
    ASSERT_EQ(agent.view().node_metrics.cpu_percent, 42.0);

    world_.prometheus->down = true;
    peer_speaks();
    tick();
    next_period();
    auto view = agent.view();
    EXPECT_FALSE(view.ready);
    ASSERT_EQ(view.not_ready_reasons.size(), 1u);
    EXPECT_NE(view.not_ready_reasons[0].find("prometheus"), std::string::npos);
    EXPECT_FALSE(view.node_metrics.cpu_percent.has_value());
    // The step ran on what it had: the new peer got figlet's weight all the same.
    EXPECT_EQ(view.last_recalc.iterations, 2u);
    EXPECT_EQ(installed("figlet").peers.count(kPeer), 1u);
    EXPECT_EQ(view.step_failures, 0u);
}

TEST_F(AgentLoopTest, EmptyFunctionListIsHeldForTwoPeriodsThenApplied) {
    auto &agent = start();
    agent.run_period_step_for_test(0);
    ASSERT_TRUE(serves("figlet"));

    world_.openfaas->functions.clear();  // a gateway that restarts answers [] for a while
    next_period();
    EXPECT_TRUE(serves("figlet"));
    EXPECT_EQ(agent.view().empty_function_lists_held, 1u);
    next_period();
    EXPECT_TRUE(serves("figlet"));
    EXPECT_TRUE(serves("hello"));
    EXPECT_EQ(agent.view().functions.size(), 2u);
    EXPECT_EQ(agent.view().empty_function_lists_held, 2u);

    next_period();  // the third consecutive empty answer: two periods have passed
    EXPECT_FALSE(serves("figlet"));
    EXPECT_FALSE(serves("hello"));
    EXPECT_TRUE(agent.view().functions.empty());
    EXPECT_TRUE(world_.dataplane->functions.empty());
    EXPECT_EQ(agent.view().empty_function_lists_held, 2u);
}

TEST_F(AgentLoopTest, EmptyListThatEndsBeforeTwoPeriodsChangesNothing) {
    auto &agent = start();
    agent.run_period_step_for_test(0);
    world_.openfaas->functions.clear();
    next_period();
    next_period();
    world_.openfaas->functions = functions({"figlet", "hello"});
    next_period();
    world_.openfaas->functions.clear();
    next_period();  // a new empty spell: held again, counted from its own start
    EXPECT_TRUE(serves("figlet"));
    EXPECT_EQ(agent.view().empty_function_lists_held, 3u);
}

TEST_F(AgentLoopTest, FunctionsBeyondTheDataplaneTableAreSkippedAndTheRestServed) {
    std::vector<FunctionInfo> many;
    for (size_t i = 0; i < DFAAS_MAX_FUNCTIONS + 3; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "fn%03zu", i);
        many.push_back(function(name));
    }
    world_.openfaas->functions = many;
    auto &agent = start();
    agent.run_period_step_for_test(0);

    auto view = agent.view();
    EXPECT_EQ(view.functions.size(), size_t{DFAAS_MAX_FUNCTIONS});
    EXPECT_EQ(world_.dataplane->functions.size(), size_t{DFAAS_MAX_FUNCTIONS});
    ASSERT_EQ(view.skipped_functions.size(), 3u);
    // Ids go in name order: the last three names find the table full.
    for (const char *name : {"fn256", "fn257", "fn258"}) {
        EXPECT_EQ(view.skipped_functions.at(name), "dataplane_capacity");
        EXPECT_FALSE(serves(name));
    }
    EXPECT_TRUE(serves("fn000"));
    EXPECT_TRUE(serves("fn255"));
    EXPECT_EQ(view.step_failures, 0u);
    EXPECT_TRUE(view.ready) << (view.not_ready_reasons.empty() ? "" : view.not_ready_reasons[0]);
}

TEST_F(AgentLoopTest, AFunctionTheDataplaneRefusesIsSkippedAndTheOthersServed) {
    world_.dataplane->refuse_functions = {"figlet"};
    auto &agent = start();
    agent.run_period_step_for_test(0);
    auto view = agent.view();
    ASSERT_EQ(view.skipped_functions.size(), 1u);
    EXPECT_EQ(view.skipped_functions.at("figlet"), "dataplane_error");
    EXPECT_FALSE(view.functions.count("figlet"));
    EXPECT_TRUE(serves("hello"));
    EXPECT_EQ(view.step_failures, 0u);
}

// ---- the control tick: peers ----------------------------------------------------------------

TEST_F(AgentLoopTest, PeerThatAppearsGetsASlotAndWeightOnceItAdmitsThisNode) {
    auto &agent = start();
    agent.run_period_step_for_test(0);
    EXPECT_TRUE(world_.dataplane->peers.empty());

    // A Recalc peer refuses what this node forwards until it has sent its limits for it.
    peer_speaks(0, "recalc");
    tick();
    ASSERT_EQ(world_.dataplane->peers.count(kPeer), 1u) << "a member gets a data-plane slot";
    EXPECT_EQ(world_.dataplane->services.count({kPeer, 31001}), 1u) << "its figlet port";
    EXPECT_TRUE(agent.take_recalc_request_for_test()) << "a peer joined: recalculate now";
    agent.run_period_step_for_test(0);
    EXPECT_EQ(installed("figlet").peers.count(kPeer), 0u) << "it admits nothing from us yet";

    world_.peers->table.apply("peer-0", kPeer, strategy::RecalcLimits{{{"figlet", 5.0}}},
                              world_.clock->instant());
    tick();
    EXPECT_EQ(installed("figlet").peers.count(kPeer), 1u) << "its limits admit figlet now";
    EXPECT_EQ(installed("hello").peers.count(kPeer), 0u) << "it does not serve hello";
}

TEST_F(AgentLoopTest, PeerThatVanishesLosesItsSlotAfterTheTtl) {
    auto &agent = start();
    peer_speaks();
    tick();
    agent.run_period_step_for_test(0);
    ASSERT_EQ(installed("figlet").peers.count(kPeer), 1u);
    const auto ttl = world_.peers->ttl;
    ASSERT_GT(ttl.count(), 0);

    // Silent, but within its TTL: it keeps its slot and its weight.
    world_.clock->advance(ttl);
    tick();
    EXPECT_EQ(world_.dataplane->peers.count(kPeer), 1u);
    EXPECT_EQ(installed("figlet").peers.count(kPeer), 1u);

    world_.clock->advance(cfg_.peers.control_tick);
    tick();
    EXPECT_EQ(world_.dataplane->peers.count(kPeer), 0u) << "slot released after the TTL";
    EXPECT_EQ(world_.dataplane->services.count({kPeer, 31001}), 0u);
    EXPECT_EQ(installed("figlet").peers.count(kPeer), 0u);
    EXPECT_EQ(agent.view().installed.at("figlet").peers.count(kPeer), 0u);
    EXPECT_EQ(agent.view().peer_sync_failures, 0u);
}

TEST_F(AgentLoopTest, MorePeersThanSlotsAreCountedOverCapacity) {
    auto &agent = start();
    constexpr size_t kMembers = DFAAS_MAX_PEERS + 8;
    for (size_t i = 0; i < kMembers; ++i)
        peer_speaks(i);
    tick();
    auto view = agent.view();
    EXPECT_EQ(world_.dataplane->peers.size(), size_t{DFAAS_MAX_PEERS});
    EXPECT_EQ(view.peers_over_capacity, 8u);
    EXPECT_EQ(view.peer_sync_failures, 0u);
    EXPECT_EQ(view.tick_failures, 0u);
}

TEST_F(AgentLoopTest, PeersTheDataplaneRefusesAreCountedAndTheOthersKept) {
    // A membership that hands out more slots than the data plane has (it should not): the data
    // plane refuses the extra peers, the tick goes on, and they are retried every tick.
    auto &agent = start();
    world_.peers->slots = DFAAS_MAX_PEERS + 4;
    for (size_t i = 0; i < DFAAS_MAX_PEERS + 4; ++i)
        peer_speaks(i);
    tick();
    EXPECT_EQ(world_.dataplane->peers.size(), size_t{DFAAS_MAX_PEERS});
    EXPECT_EQ(agent.view().peer_sync_failures, 4u);
    tick();
    EXPECT_EQ(agent.view().peer_sync_failures, 8u);
    EXPECT_EQ(agent.view().tick_failures, 0u);
    agent.run_period_step_for_test(0);
    EXPECT_EQ(agent.view().step_failures, 0u);
    EXPECT_EQ(installed("figlet").peers.size(), size_t{DFAAS_MAX_PEERS});
}

TEST_F(AgentLoopTest, PeersThePinnedDataplaneHoldsAreKeptAcrossARestart) {
    // What the previous agent left in the pins: a peer and the service of its figlet port.
    world_.dataplane->functions[1] = "figlet";
    world_.dataplane->peers[kPeer] = 0;
    world_.dataplane->services[{kPeer, 31001}] = dp::Service{kPeer, 31001, "figlet", false};
    const Endpoint seed{kPeer, 30111};  // a configured seed gives the peer's own port
    cfg_.peers.seeds = {seed};
    start();
    ASSERT_EQ(world_.peers->seeded.size(), 1u);
    EXPECT_EQ(world_.peers->seeded[0].first, seed);
    ASSERT_EQ(world_.peers->seeded[0].second.size(), 1u);
    EXPECT_EQ(world_.peers->seeded[0].second[0].name, "figlet");
    EXPECT_EQ(world_.peers->seeded[0].second[0].port, 31001);
    EXPECT_TRUE(world_.peers->started);
}

// ---- the control tick: failure detection ----------------------------------------------------

TEST_F(AgentLoopTest, PeerWhoseForwardedSynsGoUnansweredIsUnreachableWithinTwoTicksAndRecovers) {
    auto &agent = start();
    ASSERT_NO_FATAL_FAILURE(forward_to_the_peer());
    auto &counters = world_.dataplane->peer_counters[kPeer];

    // The peer stops answering: one forwarded SYN per tick, nothing comes back. The detector
    // declares it once a SYN has been owed for a control tick (or 3 are owed), within the TTL it
    // would take the membership (the peer keeps heartbeating: only the data plane sees it).
    world_.clock->advance(cfg_.peers.control_tick);
    peer_speaks();
    counters.syn_forwarded += 1;
    tick();
    EXPECT_TRUE(agent.view().unreachable.empty()) << "one SYN, one tick: too early to judge";
    world_.clock->advance(cfg_.peers.control_tick);
    counters.syn_forwarded += 1;
    tick();
    auto view = agent.view();
    ASSERT_EQ(view.unreachable.count(kPeer), 1u);
    EXPECT_EQ(world_.peers->marked_unreachable, std::vector<Ipv4>{kPeer});
    EXPECT_EQ(installed("figlet").peers.count(kPeer), 0u) << "its weight leaves at once";
    EXPECT_EQ(world_.dataplane->peers.count(kPeer), 1u) << "still a member: the slot stays";

    // It speaks again: back in the policies the same tick, and the strategy is asked to run.
    agent.take_recalc_request_for_test();
    world_.clock->advance(cfg_.peers.control_tick);
    peer_speaks();
    counters.synack_returned += 2;
    tick();
    EXPECT_TRUE(agent.view().unreachable.empty());
    EXPECT_EQ(installed("figlet").peers.count(kPeer), 1u);
    EXPECT_TRUE(agent.take_recalc_request_for_test());
}

TEST_F(AgentLoopTest, ManyUnansweredSynsInOneTickAreEnough) {
    auto &agent = start();
    peer_speaks();
    tick();
    auto &counters = world_.dataplane->peer_counters[kPeer];
    tick();  // baseline at zero
    counters.syn_forwarded = 3;
    tick();
    EXPECT_EQ(agent.view().unreachable.count(kPeer), 1u);
}

TEST_F(AgentLoopTest, PeerIsDeclaredBetweenControlTicksByTheFailureCheck) {
    auto &agent = start();
    ASSERT_NO_FATAL_FAILURE(forward_to_the_peer());
    auto &counters = world_.dataplane->peer_counters[kPeer];
    // It dies mid-interval: 2 of the 5 SYNs forwarded since the tick were answered.
    world_.clock->advance(cfg_.peers.control_tick / 4);
    counters.syn_forwarded += 5;
    counters.synack_returned += 2;
    agent.failure_check_for_test();
    EXPECT_TRUE(agent.view().unreachable.empty()) << "it answered in this interval";
    world_.clock->advance(cfg_.peers.control_tick / 4);
    agent.failure_check_for_test();
    EXPECT_EQ(agent.view().unreachable.count(kPeer), 1u) << "3 SYNs owed, a quarter tick later";
    EXPECT_EQ(installed("figlet").peers.count(kPeer), 0u) << "its weight leaves at once";
}

// T4's miss (docs/experiments.md): a peer whose agent and gateway died while its maps stayed
// steers every forwarded SYN to a gateway that is gone, so each is answered at once by a RST.
// Answered is not taken: the peer leaves the policies a quarter tick after its third refusal.
TEST_F(AgentLoopTest, PeerThatAnswersEveryForwardedSynWithARstLeavesThePolicies) {
    auto &agent = start();
    ASSERT_NO_FATAL_FAILURE(forward_to_the_peer());
    auto &counters = world_.dataplane->peer_counters[kPeer];
    world_.clock->advance(cfg_.peers.control_tick / 4);
    counters.syn_forwarded += 2;
    counters.rst_returned += 2;
    agent.failure_check_for_test();
    EXPECT_TRUE(agent.view().unreachable.empty()) << "two refusals: not yet";
    world_.clock->advance(cfg_.peers.control_tick / 4);
    counters.syn_forwarded += 1;
    counters.rst_returned += 1;
    agent.failure_check_for_test();
    EXPECT_EQ(agent.view().unreachable.count(kPeer), 1u) << "three refusals, no SYN-ACK";
    EXPECT_EQ(world_.peers->marked_unreachable, std::vector<Ipv4>{kPeer});
    EXPECT_EQ(installed("figlet").peers.count(kPeer), 0u) << "its weight leaves at once";
}

TEST_F(AgentLoopTest, PeerThatRefusesSomeAndAcceptsOthersKeepsItsWeight) {
    auto &agent = start();
    ASSERT_NO_FATAL_FAILURE(forward_to_the_peer());
    auto &counters = world_.dataplane->peer_counters[kPeer];
    // At its limit_in: most forwarded SYNs refused, one in five accepted, for two whole ticks.
    for (int reading = 0; reading < 8; ++reading) {
        world_.clock->advance(cfg_.peers.control_tick / 4);
        counters.syn_forwarded += 5;
        counters.rst_returned += 4;
        counters.synack_returned += 1;
        agent.failure_check_for_test();
    }
    EXPECT_TRUE(agent.view().unreachable.empty());
    EXPECT_EQ(installed("figlet").peers.count(kPeer), 1u);
}

TEST_F(AgentLoopTest, DataplaneCountersUnreadableMakeTheNodeNotReadyWithoutEndingTheTick) {
    auto &agent = start();
    agent.run_period_step_for_test(0);
    tick();
    ASSERT_TRUE(agent.readiness().ready);
    world_.dataplane->fail_stats = true;
    tick();
    auto readiness = agent.readiness();
    EXPECT_FALSE(readiness.ready);
    ASSERT_EQ(readiness.reasons.size(), 1u);
    EXPECT_NE(readiness.reasons[0].find("injected failure"), std::string::npos);
    world_.dataplane->fail_stats = false;
    tick();
    EXPECT_TRUE(agent.readiness().ready);
}

}  // namespace
}  // namespace dfaas::agent
