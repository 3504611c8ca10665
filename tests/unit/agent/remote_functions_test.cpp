// Issue 19, items 4 and 5. A function only peers run gets a port on this node and a peers-only
// policy, and goes (service, policy, function id) when no peer reports it any more; beyond the
// limit, or on a port this node cannot give, it is refused, counted and logged. The heartbeat
// flags such functions (remote_only) so that nobody takes this node for a runner. And the label
// dfaas.timeout_ms, which nothing enforces, is warned about once per function, not at every poll.
// The agent runs with every dependency faked (agent_fakes.h): no thread, no sleep, no root.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "../peers/support.h"
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
const Ipv4 kPeerB = *Ipv4::parse("10.0.0.2");
const Ipv4 kPeerC = *Ipv4::parse("10.0.0.3");

FunctionInfo function(const std::string &name, std::optional<uint16_t> port = std::nullopt) {
    FunctionInfo f;
    f.name = name;
    f.replicas = f.available_replicas = 1;
    f.dfaas.port = port;
    if (port) f.labels["dfaas.port"] = std::to_string(*port);
    return f;
}

// Captures what the agent logs while it lives (the default logger's sinks, restored after).
class LogCapture {
  public:
    LogCapture() : saved_(spdlog::default_logger()) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text_);
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
        spdlog::set_level(spdlog::level::info);
    }
    ~LogCapture() { spdlog::set_default_logger(saved_); }
    size_t count(const std::string &needle) const {
        const std::string all = text_.str();
        size_t n = 0;
        for (size_t at = all.find(needle); at != std::string::npos; at = all.find(needle, at + 1))
            ++n;
        return n;
    }

  private:
    std::ostringstream text_;
    std::shared_ptr<spdlog::logger> saved_;
};

class RemoteFunctionsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        state_file_ = test_state_file("remote_functions_test");
        cfg_ = loop_test_config(kNode, state_file_);
        cfg_.dataplane.function_ports = {31000, 31999};
        world_.openfaas->functions = {function("figlet", 31001), function("hello", 31002)};
    }
    void TearDown() override {
        agent_.reset();
        std::remove(state_file_.c_str());
    }

    Agent &start() {
        auto deps = world_.dependencies();
        // Keeps the agent's heartbeat source: what this node tells its peers.
        auto open = std::move(deps.open_peer_link);
        deps.open_peer_link = [this, open](const Config &cfg, const std::string &id,
                                           strategy::Millis ttl,
                                           PeerNetwork::LocalHeartbeat local) {
            heartbeat_ = local;
            return open(cfg, id, ttl, local);
        };
        agent_ = std::make_unique<Agent>(cfg_, "node-a", std::move(deps));
        agent_->start_without_threads_for_test();
        return *agent_;
    }
    void tick() { agent_->control_tick_for_test(++ticks_); }
    void next_period() {
        world_.clock->advance(1s);
        agent_->run_period_step_for_test(0);
    }
    void speaks(const std::string &id, Ipv4 address, std::vector<peers::FunctionPort> functions) {
        FakePeerNetwork::heartbeat(*world_.peers, id, address, functions, "static",
                                   world_.clock->instant());
    }
    std::optional<FunctionPolicy> policy_of(const std::string &name) const {
        auto it = world_.dataplane->policies.find(name);
        if (it == world_.dataplane->policies.end()) return std::nullopt;
        return it->second;
    }
    std::optional<std::string> local_service_at(uint16_t port) const {
        auto it = world_.dataplane->services.find({kNode, port});
        if (it == world_.dataplane->services.end() || !it->second.local) return std::nullopt;
        return it->second.function;
    }
    std::optional<peers::FunctionPort> announced(const std::string &name) const {
        for (const auto &f : heartbeat_().functions)
            if (f.name == name) return f;
        return std::nullopt;
    }

    Config cfg_;
    FakeWorld world_;
    std::string state_file_;
    std::unique_ptr<Agent> agent_;
    PeerNetwork::LocalHeartbeat heartbeat_;
    uint64_t ticks_ = 0;
};

TEST_F(RemoteFunctionsTest, AFunctionOnlyAPeerRunsGetsAPortAndAPeersOnlyPolicy) {
    auto &agent = start();
    const size_t functions_before = world_.dataplane->functions.size();
    const size_t services_before = world_.dataplane->services.size();
    speaks("node-b", kPeerB, {{"figlet", 31001}, {"shasum", 31050}});
    tick();

    EXPECT_EQ(local_service_at(31050), "shasum");
    auto policy = policy_of("shasum");
    ASSERT_TRUE(policy.has_value());
    EXPECT_EQ(policy->local, 0u);
    EXPECT_EQ(policy->reject, 0u);
    EXPECT_EQ(policy->peers, (std::map<Ipv4, uint32_t>{{kPeerB, 100}}));
    EXPECT_EQ(world_.dataplane->functions.size(), functions_before + 1);
    EXPECT_EQ(world_.dataplane->services.size(), services_before + 2)
        << "shasum's port, and b's figlet port for what b forwards here";

    auto view = agent.view();
    ASSERT_EQ(view.remote_functions.count("shasum"), 1u);
    EXPECT_EQ(view.remote_functions.at("shasum").port, 31050);
    EXPECT_EQ(view.remote_functions.at("shasum").runners, std::vector<std::string>{"node-b"});
    EXPECT_EQ(view.functions.count("shasum"), 0u) << "not a function this node runs";
    // The API lists it as remote-only.
    bool listed = false;
    for (const auto &f : functions_json(view))
        if (f["name"] == "shasum") {
            listed = true;
            EXPECT_TRUE(f["remote_only"].get<bool>());
            EXPECT_EQ(f["port"], 31050);
            EXPECT_EQ(f["runners"], nlohmann::json::array({"node-b"}));
        } else {
            EXPECT_FALSE(f["remote_only"].get<bool>()) << f["name"];
        }
    EXPECT_TRUE(listed);
    // The heartbeat gives b the port (b serves what this node forwards on it), flagged so that
    // nobody routes shasum here.
    EXPECT_EQ(announced("shasum"), (peers::FunctionPort{"shasum", 31050, true}));
    EXPECT_EQ(announced("figlet"), (peers::FunctionPort{"figlet", 31001, false}));

    // A second runner shares it; the strategy's step leaves it alone (Static has no word on
    // functions this node does not run).
    speaks("node-c", kPeerC, {{"shasum", 31050}});
    tick();
    next_period();
    EXPECT_EQ(policy_of("shasum")->peers, (std::map<Ipv4, uint32_t>{{kPeerB, 50}, {kPeerC, 50}}));
    EXPECT_EQ(agent.view().remote_functions.at("shasum").runners,
              (std::vector<std::string>{"node-b", "node-c"}));

    // Neither reports it any more: service, policy and function id go; nothing is left over.
    speaks("node-b", kPeerB, {{"figlet", 31001}});
    speaks("node-c", kPeerC, {});
    tick();
    EXPECT_FALSE(local_service_at(31050).has_value());
    EXPECT_FALSE(policy_of("shasum").has_value());
    EXPECT_EQ(world_.dataplane->functions.size(), functions_before);
    EXPECT_EQ(world_.dataplane->policies.size(), functions_before);
    EXPECT_EQ(world_.dataplane->services.size(), services_before + 1) << "b's figlet port";
    EXPECT_TRUE(agent.view().remote_functions.empty());
    EXPECT_FALSE(announced("shasum").has_value());
}

TEST_F(RemoteFunctionsTest, ItGoesWhenItsOnlyRunnerExpires) {
    auto &agent = start();
    const size_t functions_before = world_.dataplane->functions.size();
    const size_t services_before = world_.dataplane->services.size();
    speaks("node-b", kPeerB, {{"shasum", 31050}});
    tick();
    ASSERT_EQ(local_service_at(31050), "shasum");
    // b falls silent: once its TTL has passed it is no member, and shasum is gone with it.
    world_.clock->advance(
        std::chrono::duration_cast<std::chrono::milliseconds>(world_.peers->ttl + 100ms));
    tick();
    EXPECT_FALSE(local_service_at(31050).has_value());
    EXPECT_FALSE(policy_of("shasum").has_value());
    EXPECT_EQ(world_.dataplane->functions.size(), functions_before);
    EXPECT_EQ(world_.dataplane->services.size(), services_before);
    EXPECT_EQ(world_.dataplane->peers.size(), 0u);
    EXPECT_TRUE(agent.view().remote_functions.empty());
}

TEST_F(RemoteFunctionsTest, BeyondTheLimitOneMoreIsRefusedAndCounted) {
    world_.openfaas->functions = {};  // the whole function table for functions peers run
    auto &agent = start();
    std::vector<peers::FunctionPort> reported;
    for (size_t i = 0; i <= kMaxRemoteOnlyFunctions; ++i)  // the limit + 1
        reported.push_back({"fn-" + std::to_string(1000 + i), static_cast<uint16_t>(31000 + i)});
    speaks("node-b", kPeerB, reported);
    tick();
    auto view = agent.view();
    EXPECT_EQ(view.remote_functions.size(), kMaxRemoteOnlyFunctions);
    EXPECT_EQ(world_.dataplane->functions.size(), kMaxRemoteOnlyFunctions);
    const std::string last = reported.back().name;  // names in order: the last one is refused
    EXPECT_EQ(view.remote_functions_refused, (std::map<std::string, std::string>{{last, "limit"}}));
    EXPECT_FALSE(local_service_at(reported.back().port).has_value());
    const std::string metrics = render_metrics(view);
    EXPECT_NE(metrics.find("dfaas_remote_functions_refused{reason=\"limit\"} 1"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("dfaas_remote_functions " + std::to_string(kMaxRemoteOnlyFunctions)),
              std::string::npos);
}

TEST_F(RemoteFunctionsTest, TheFunctionTableFullWithLocalOnesRefusesTheRest) {
    auto &agent = start();  // figlet and hello hold two of the data plane's function ids
    std::vector<peers::FunctionPort> reported;
    for (size_t i = 0; i < DFAAS_MAX_FUNCTIONS - 1; ++i)
        reported.push_back({"fn-" + std::to_string(1000 + i), static_cast<uint16_t>(31100 + i)});
    speaks("node-b", kPeerB, reported);
    tick();
    auto view = agent.view();
    EXPECT_EQ(view.remote_functions.size(), DFAAS_MAX_FUNCTIONS - 2);
    EXPECT_EQ(world_.dataplane->functions.size(), size_t(DFAAS_MAX_FUNCTIONS));
    EXPECT_EQ(view.remote_functions_refused,
              (std::map<std::string, std::string>{{reported.back().name, "dataplane_capacity"}}));
    EXPECT_EQ(local_service_at(31001), "figlet") << "local functions keep theirs";
}

TEST_F(RemoteFunctionsTest, APortThisNodeCannotGiveIsRefusedAndCounted) {
    auto &agent = start();
    LogCapture log;
    // 31001 is figlet's here; 22 is no function port (a peer never opens ssh's port here).
    speaks("node-b", kPeerB, {{"clash", 31001}, {"sshd", 22}, {"shasum", 31050}});
    tick();
    tick();
    auto view = agent.view();
    EXPECT_EQ(view.remote_functions_refused,
              (std::map<std::string, std::string>{{"clash", "port_conflict"},
                                                  {"sshd", "port_outside_range"}}));
    EXPECT_EQ(local_service_at(31001), "figlet") << "the local function keeps its port";
    EXPECT_FALSE(world_.dataplane->services.count({kNode, 22}));
    EXPECT_FALSE(policy_of("clash").has_value());
    EXPECT_FALSE(policy_of("sshd").has_value());
    EXPECT_EQ(local_service_at(31050), "shasum") << "the others are not held back";
    const std::string metrics = render_metrics(view);
    EXPECT_NE(metrics.find("dfaas_remote_functions_refused{reason=\"port_conflict\"} 1"),
              std::string::npos);
    EXPECT_NE(metrics.find("dfaas_remote_functions_refused{reason=\"port_outside_range\"} 1"),
              std::string::npos);
    // Logged once per change, not at every tick.
    EXPECT_EQ(log.count("port_conflict"), 1u);
    EXPECT_EQ(log.count("port_outside_range"), 1u);
}

TEST_F(RemoteFunctionsTest, OnceThisNodeRunsItItIsLocalOnTheSamePort) {
    auto &agent = start();
    speaks("node-b", kPeerB, {{"shasum", 31050}});
    tick();
    ASSERT_EQ(local_service_at(31050), "shasum");
    world_.openfaas->functions.push_back(function("shasum"));
    speaks("node-b", kPeerB, {{"shasum", 31050}});
    next_period();
    tick();
    auto view = agent.view();
    EXPECT_TRUE(view.remote_functions.empty());
    ASSERT_EQ(view.functions.count("shasum"), 1u);
    EXPECT_EQ(view.functions.at("shasum").port, 31050) << "it keeps the port its users know";
    EXPECT_EQ(local_service_at(31050), "shasum");
    EXPECT_GT(policy_of("shasum")->local, 0u) << "this node serves it now";
    EXPECT_EQ(announced("shasum"), (peers::FunctionPort{"shasum", 31050, false}));
}

TEST_F(RemoteFunctionsTest, WithoutAnyRunnerWithRoomItIsRejected) {
    // A Recalc runner that sent this node no limits admits nothing from it: the function's
    // connections are rejected here rather than sent to a gateway that does not run it.
    auto &agent = start();
    FakePeerNetwork::heartbeat(*world_.peers, "node-b", kPeerB, {{"shasum", 31050}}, "recalc",
                               world_.clock->instant());
    tick();
    ASSERT_EQ(agent.view().remote_functions.count("shasum"), 1u);
    auto policy = policy_of("shasum");
    ASSERT_TRUE(policy.has_value());
    EXPECT_EQ(policy->local, 0u);
    EXPECT_TRUE(policy->peers.empty());
    EXPECT_EQ(policy->reject, kMaxWeight);
}

// ---- the heartbeat's remote_only flag on the wire ---------------------------------------------

TEST(RemoteOnlyFlag, RoundTripsAndANonBooleanIsRefused) {
    using peers::testing::envelope_from;
    using peers::testing::heartbeat;
    auto envelope = envelope_from("node-a", "10.0.0.1:30090",
                                  heartbeat({{"figlet", 31001}, {"shasum", 31050, true}}));
    const std::string wire = peers::encode_envelope(envelope);
    EXPECT_NE(wire.find("\"remote_only\":true"), std::string::npos) << wire;
    EXPECT_EQ(wire.find("\"remote_only\":false"), std::string::npos) << "absent when false";
    auto decoded = peers::decode_envelope(wire);
    ASSERT_TRUE(decoded.ok()) << decoded.rejection.detail;
    EXPECT_EQ(std::get<peers::Heartbeat>(decoded.envelope->body).functions,
              (std::vector<peers::FunctionPort>{{"figlet", 31001}, {"shasum", 31050, true}}));

    std::string bad = wire;
    bad.replace(bad.find("true"), 4, "\"yes\"");
    auto refused = peers::decode_envelope(bad);
    EXPECT_FALSE(refused.ok());
    EXPECT_NE(refused.rejection.detail.find("remote_only: expected true or false"),
              std::string::npos)
        << refused.rejection.detail;
}

TEST(RemoteOnlyFlag, AMemberIsNoRunnerOfWhatItOnlyForwards) {
    peers::MembershipSettings settings;
    settings.self_id = "me";
    settings.self = peers::testing::endpoint("10.0.0.9:30090");
    peers::Membership membership(settings);
    auto envelope = peers::testing::envelope_from(
        "node-a", "10.0.0.1:30090",
        peers::testing::heartbeat({{"figlet", 31001}, {"shasum", 31050, true}}));
    auto now = peers::testing::kNow;
    ASSERT_TRUE(membership.receive(envelope, now, envelope.sender_ip).accepted);
    ASSERT_NE(membership.table().find("node-a"), nullptr);
    EXPECT_EQ(membership.table().find("node-a")->member_functions,
              std::vector<std::string>{"figlet"});
    // Its port still reaches the agent (a runner needs it to serve what node-a forwards).
    EXPECT_EQ(membership.find("node-a")->heartbeat.functions.size(), 2u);
}

// ---- the feedback guard on a remote-only function
// ------------------------------------------------

TEST_F(RemoteFunctionsTest, AGuardedRunnerWithNoOtherRouteKeepsItsWeightAndIsLoggedOnce) {
    // This node cannot serve shasum: when its one runner fails, nothing can take its share.
    start();
    speaks("node-b", kPeerB, {{"shasum", 31050}});
    tick();
    ASSERT_EQ(policy_of("shasum")->peers, (std::map<Ipv4, uint32_t>{{kPeerB, 100}}));
    dp::FunctionStats stats;
    stats.name = "shasum";
    stats.http_to_peer[kPeerB] = dp::HttpCounters{};
    world_.dataplane->function_stats = {stats};
    LogCapture log;
    speaks("node-b", kPeerB, {{"shasum", 31050}});
    tick();  // the guard's baseline
    for (int i = 0; i < 4; ++i) {
        world_.dataplane->function_stats[0]
            .http_to_peer[kPeerB]
            .codes[size_t(dp::HttpCode::Unavailable503)] += 20;
        speaks("node-b", kPeerB, {{"shasum", 31050}});
        tick();
    }
    EXPECT_EQ(agent_->view().guarded_routes.count(RouteKey{"shasum", kPeerB}), 1u);
    EXPECT_EQ(policy_of("shasum")->peers, (std::map<Ipv4, uint32_t>{{kPeerB, 100}}));
    EXPECT_EQ(policy_of("shasum")->local, 0u) << "never to a route this node cannot serve";
    EXPECT_EQ(log.count("feedback guard: shasum keeps its policy: no other route"), 1u);
}

// ---- dfaas.timeout_ms -------------------------------------------------------------------------

TEST_F(RemoteFunctionsTest, TimeoutLabelIsNotedOncePerFunctionNotAtEveryPoll) {
    // The feedback guard gives the label its effect (route_guard_test.cpp): no warning that it
    // has none, and no "labels ignored" gauge; one info line per function.
    auto labelled = function("slow");
    labelled.labels["dfaas.timeout_ms"] = "6000";
    labelled.dfaas.timeout_ms = 6000;
    world_.openfaas->functions.push_back(labelled);
    LogCapture log;
    auto &agent = start();  // the first poll
    next_period();          // the second
    next_period();          // and a third
    EXPECT_EQ(log.count("dfaas.timeout_ms=6000 on slow: the feedback guard counts slower"), 1u);
    EXPECT_EQ(log.count("has no effect"), 0u);
    EXPECT_EQ(log.count("dfaas.timeout_ms=6000 on figlet"), 0u);
    auto view = agent.view();
    EXPECT_EQ(render_metrics(view).find("dfaas_function_labels_ignored"), std::string::npos);
    EXPECT_EQ(view.functions.count("slow"), 1u) << "the function is served all the same";
}

}  // namespace
}  // namespace dfaas::agent
