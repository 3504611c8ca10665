// `dfaasctl simulate` on one snapshot: the reference vectors of docs/strategies.md (Recalc
// R1-R9, Node Margin N1/N2) reproduced through the snapshot files of tests/fixtures/whatif, the
// agent's snapshot JSON replayed exactly, and the errors.
#include <gtest/gtest.h>

#include <iterator>

#include "dfaas/forecast/native_forecaster.h"
#include "dfaas/strategy/json.h"
#include "dfaas/strategy/strategy.h"
#include "support.h"

namespace dfaas::whatif_testing {
namespace {

namespace st = dfaas::strategy;

// `dfaasctl -o json simulate --snapshot <fixture>`; fails the test unless it exits 0.
json simulate(const std::string &name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"-o", "json", "simulate", "--snapshot", fixture(name).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const Result r = run_dfaasctl(args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r.code == 0 ? r.out_json() : json();
}

// The limits the decision sends to `peer`.
json limits_to(const json &decision, const std::string &peer) {
    for (const auto &message : decision.at("messages"))
        if (message.at("to") == peer && message.at("message").at("type") == "recalc_limits")
            return message.at("message").at("limits");
    ADD_FAILURE() << "no recalc_limits to " << peer << " in " << decision.at("messages").dump();
    return json();
}

const json kIdleNode1Limits = {{"figlet", 25.0}, {"funca", 5.0}};
const json kOverloadedNode1Limits = {{"figlet", 25.0}, {"funca", 0.0}};

TEST(SimulateRecalc, R1_IdleNodeSharesItsMarginEquallyAmongTwoPeers) {
    const json d = simulate("r1.json");
    EXPECT_EQ(d.at("node_id"), "node1");
    EXPECT_EQ(d.at("strategy"), "recalc");
    EXPECT_EQ(limits_to(d, "node2"), kIdleNode1Limits);
    EXPECT_EQ(limits_to(d, "node3"), kIdleNode1Limits);
    EXPECT_EQ(d.at("recalc_plan").at("overloaded"), json::array());
    EXPECT_EQ(d.at("policies").at("figlet").at("limit_in"),
              (json{{"10.0.0.2", 25}, {"10.0.0.3", 25}}));
}

TEST(SimulateRecalc, R2_PeersSendTheirMarginAsNode1sLimitOut) {
    EXPECT_EQ(limits_to(simulate("r2-node2.json"), "node1"), (json{{"funca", 10.0}}));
    EXPECT_EQ(limits_to(simulate("r2-node3.json"), "node1"), (json{{"funca", 15.0}}));
}

TEST(SimulateRecalc, R3_RateAboveMaxRateOverloadsAndClosesLimitIn) {
    const json d = simulate("r3.json");
    EXPECT_EQ(d.at("recalc_plan").at("overloaded"), (json{"funca"}));
    EXPECT_EQ(limits_to(d, "node2"), kOverloadedNode1Limits);
    EXPECT_EQ(limits_to(d, "node3"), kOverloadedNode1Limits);
}

json funca_policy(const std::string &name) {
    return simulate(name).at("policies").at("funca");
}

TEST(SimulateRecalc, R4_OverflowWeightsFollowLimitOut) {
    const json policy = funca_policy("r4.json");
    EXPECT_EQ(policy.at("overflow"), (json{{"10.0.0.3", 60}, {"10.0.0.2", 40}}));
    EXPECT_EQ(policy.at("local"), 100);
    EXPECT_EQ(policy.at("local_cap"), 10);
    EXPECT_EQ(policy.at("limit_in"), (json{{"10.0.0.2", 0}, {"10.0.0.3", 0}}));
}

TEST(SimulateRecalc, R5_MarginIsMaxRateMinusTruncatedRate) {
    EXPECT_EQ(limits_to(simulate("r5.json"), "node1"), (json{{"funca", 8.0}}));
}

TEST(SimulateRecalc, R6_LimitInUsesIntegerDivision) {
    EXPECT_EQ(limits_to(simulate("r6.json"), "node1"), (json{{"funca", 5.0}}));
}

TEST(SimulateRecalc, R7_WeightsTruncate) {
    EXPECT_EQ(funca_policy("r7.json").at("overflow"), (json{{"10.0.0.3", 65}, {"10.0.0.2", 34}}));
}

TEST(SimulateRecalc, R8_WeightsFromLimitOut15And5) {
    EXPECT_EQ(funca_policy("r8.json").at("overflow"), (json{{"10.0.0.3", 75}, {"10.0.0.2", 25}}));
}

TEST(SimulateRecalc, R9_PeerWithoutCapacityGetsNoWeight) {
    EXPECT_EQ(funca_policy("r9.json").at("overflow"), (json{{"10.0.0.3", 100}}));
}

TEST(SimulateRecalc, TableForPeopleNamesPeers) {
    const Result r = run_dfaasctl({"simulate", "--snapshot", fixture("r4.json").string()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("node node1, strategy recalc, at 2021-06-01T12:00:00Z"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("node2=40 node3=60"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("overloaded: funca"), std::string::npos) << r.out;
}

TEST(SimulateRecalc, StrategyOptionWinsOverTheFile) {
    const json d = simulate("r4.json", {"--strategy", "alllocalstrategy"});
    EXPECT_EQ(d.at("strategy"), "alllocal");
    EXPECT_EQ(d.at("messages"), json::array());
    EXPECT_EQ(d.at("policies").at("funca").at("overflow"), json::object());
    EXPECT_EQ(d.at("policies").at("funca").at("local"), 100);
}

// ---- Node Margin ----

class SimulateNodeMargin : public ::testing::Test {
  protected:
    void SetUp() override {
        directory_ = models();
        if (!directory_) GTEST_SKIP() << dfaas::testing::forecaster_data_missing_message();
    }
    json run(const std::string &name) { return simulate(name, {"--models", directory_->string()}); }
    std::optional<std::filesystem::path> directory_;
};

double margin_sent(const json &decision) {
    for (const auto &message : decision.at("messages"))
        if (message.at("message").at("type") == "nms_margin")
            return message.at("message").at("margin").get<double>();
    ADD_FAILURE() << "no nms_margin message";
    return -1;
}

TEST_F(SimulateNodeMargin, IdleHeavyNeighbourOffersMargin62_41) {
    const json b = run("n-node-b.json");
    const double margin = margin_sent(b);
    EXPECT_NEAR(margin, 62.41, 0.005);
    // n1.json and n2.json carry exactly the margin this node sends.
    const json n1 = json::parse(read_all(fixture("n1.json")));
    EXPECT_EQ(n1.at("peers").at("entries")[0].at("nms_margin").at("margin").get<double>(), margin);
}

TEST_F(SimulateNodeMargin, N1_MidNodeAt200ReqPerSecondForwards43Percent) {
    const json d = run("n1.json");
    EXPECT_EQ(d.at("policies").at("figlet").at("local"), 57);
    EXPECT_EQ(d.at("policies").at("figlet").at("peers"), (json{{"10.0.0.2", 43}}));
    const json &nms = d.at("nms");
    EXPECT_NEAR(nms.at("prediction").at("cpu").get<double>(), 135.78, 1e-9);
    EXPECT_EQ(nms.at("accepted_steps"), 56);
    EXPECT_NEAR(nms.at("kept").at("figlet").get<double>(), 113.92, 0.005);
    EXPECT_NEAR(nms.at("forwarded").at("node-b").at("figlet").get<double>(), 86.08, 0.005);
}

TEST_F(SimulateNodeMargin, N2_LightNodeAt250ReqPerSecondForwards22Percent) {
    const json d = run("n2.json");
    EXPECT_EQ(d.at("policies").at("figlet").at("local"), 78);
    EXPECT_EQ(d.at("policies").at("figlet").at("peers"), (json{{"10.0.0.2", 22}}));
    const json &nms = d.at("nms");
    EXPECT_NEAR(nms.at("prediction").at("cpu").get<double>(), 115.58, 1e-9);
    EXPECT_EQ(nms.at("accepted_steps"), 25);
    EXPECT_NEAR(nms.at("kept").at("figlet").get<double>(), 194.46, 0.005);
    EXPECT_NEAR(nms.at("forwarded").at("node-b").at("figlet").get<double>(), 55.54, 0.005);
}

TEST_F(SimulateNodeMargin, ModelsFromTheFileRelativeToIt) {
    TempDir dir;
    std::filesystem::create_directory_symlink(*directory_, dir.path() / "models");
    json snapshot = json::parse(read_all(fixture("n1.json")));
    snapshot["forecaster"] = {{"models_dir", "models"}, {"variant", "regression"}};
    const auto file = dir.write("n1.json", snapshot.dump());
    const Result r = run_dfaasctl({"-o", "json", "simulate", "--snapshot", file.string()}, "",
                                  {{"DFAAS_FORECASTER_DATA_DIR", std::nullopt}});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out_json().at("policies").at("figlet").at("local"), 57);
    // --variant wins over the file: the upper quantile predicts more usage.
    const Result q = run_dfaasctl(
        {"-o", "json", "simulate", "--snapshot", file.string(), "--variant", "quantile095"}, "",
        {{"DFAAS_FORECASTER_DATA_DIR", std::nullopt}});
    ASSERT_EQ(q.code, 0) << q.err;
    EXPECT_GT(q.out_json().at("nms").at("prediction").at("cpu").get<double>(), 135.78);
}

TEST(SimulateNodeMarginErrors, NoModelsIsAClearError) {
    const Result r = run_dfaasctl({"simulate", "--snapshot", fixture("n1.json").string()}, "",
                                  {{"DFAAS_FORECASTER_DATA_DIR", std::nullopt}});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("Node Margin needs the forecaster models"), std::string::npos) << r.err;
    const Result missing = run_dfaasctl(
        {"simulate", "--snapshot", fixture("n1.json").string(), "--models", "/nonexistent/m"});
    EXPECT_EQ(missing.code, 3);
    EXPECT_NE(missing.err.find("/nonexistent/m"), std::string::npos) << missing.err;
}

// ---- the agent's snapshot JSON replays exactly ----

// A snapshot with every kind of peer report, as the agent would fill it.
st::Snapshot agent_like_snapshot() {
    st::Snapshot s;
    s.node_id = "node1";
    s.node_type = NodeType::Mid;
    s.period = std::chrono::seconds(10);
    s.now = st::Instant{std::chrono::milliseconds(1622548800000)};
    s.functions = {{"figlet", 31001, {{"dfaas.maxrate", "50"}}},
                   {"funca", 31002, {{"dfaas.maxrate", "10"}, {"dfaas.group", "HIGH_USAGE"}}},
                   {"nolimit", 31003, {}}};
    s.user_rates = {{"figlet", 12.5}, {"funca", 31.25}};
    s.peers = st::PeerTable("node1", st::peer_ttl(StrategyKind::Recalc, s.period));
    const auto at = s.now - std::chrono::seconds(3);
    const Ipv4 two = *Ipv4::parse("10.0.0.2"), three = *Ipv4::parse("10.0.0.3");
    s.peers.record_membership("node2", two, {"funca", "shasum"}, at);
    s.peers.record_membership("node3", three, {"figlet", "funca"}, at);
    s.peers.apply("node2", two, st::RecalcLimits{{{"funca", 7}, {"shasum", 4}}}, at);
    s.peers.apply("node3", three, st::RecalcLimits{{{"funca", 3}, {"figlet", 9}}}, at);
    s.peers.apply("node2", two, st::StaticInfo{{"funca", "shasum"}}, at);
    s.peers.apply("node3", three, st::StaticInfo{{"figlet", "funca"}}, at);
    s.peers.apply("node2", two, st::NmsNodeInfo{NodeType::Heavy, {235, 6e9, 3.5e6}, {"funca"}}, at);
    s.peers.apply("node2", two, st::NmsMargin{40.5, {1, 2, 3}}, at);
    return s;
}

TEST(SimulateSnapshotJson, AgentSnapshotReplaysToTheInProcessDecision) {
    const st::Snapshot snapshot = agent_like_snapshot();
    TempDir dir;
    const auto file = dir.write("snapshot.json", st::snapshot_to_json(snapshot).dump(2));
    for (const char *name : {"recalc", "static", "alllocal"}) {
        SCOPED_TRACE(name);
        const Result r = run_dfaasctl(
            {"-o", "json", "simulate", "--snapshot", file.string(), "--strategy", name});
        ASSERT_EQ(r.code, 0) << r.err;
        json out = r.out_json();
        EXPECT_EQ(out.at("node_id"), "node1");
        EXPECT_EQ(out.at("now_ms"), 1622548800000);
        out.erase("node_id");
        out.erase("strategy");
        out.erase("now_ms");
        const auto strategy = st::make_strategy(st::select_strategy_kind(name));
        EXPECT_EQ(out, st::decision_to_json(strategy->decide(snapshot)));
    }
}

TEST(SimulateSnapshotJson, AgentSnapshotReplaysNodeMarginToo) {
    const auto directory = models();
    if (!directory) GTEST_SKIP() << dfaas::testing::forecaster_data_missing_message();
    st::Snapshot snapshot = agent_like_snapshot();
    snapshot.peers = st::PeerTable("node1", st::peer_ttl(StrategyKind::NodeMargin, snapshot.period),
                                   {snapshot.peers.entries().begin()->second,
                                    std::next(snapshot.peers.entries().begin())->second});
    snapshot.user_rates["funca"] = 80;  // HIGH_USAGE: overloads a mid node
    TempDir dir;
    const auto file = dir.write("snapshot.json", st::snapshot_to_json(snapshot).dump());
    const Result r = run_dfaasctl({"-o", "json", "simulate", "--snapshot", file.string(),
                                   "--strategy", "nms", "--models", directory->string()});
    ASSERT_EQ(r.code, 0) << r.err;
    json out = r.out_json();
    for (const char *key : {"node_id", "strategy", "now_ms"})
        out.erase(key);
    const auto forecaster =
        forecast::NativeForecaster::load(*directory, forecast::Variant::Regression);
    const auto strategy = st::make_strategy(StrategyKind::NodeMargin, &forecaster);
    const st::Decision expected = strategy->decide(snapshot);
    ASSERT_TRUE(expected.nms.has_value());
    EXPECT_TRUE(expected.nms->overloaded);
    EXPECT_EQ(out, st::decision_to_json(expected));
}

TEST(SimulateSnapshotJson, MissingTtlTakesTheStrategysTtl) {
    // Peers heard 100 s ago with P = 60 s: dead under Recalc's 1.2·P = 72 s, alive under an
    // explicit ttl_ms of 120 s (the library's reader alone would default to 2·P = 120 s).
    json snapshot = json::parse(read_all(fixture("r4.json")));
    for (auto &entry : snapshot["peers"]["entries"])
        entry["last_seen_ms"] = snapshot["now_ms"].get<int64_t>() - 100000;
    TempDir dir;
    const auto recalc = dir.write("recalc.json", snapshot.dump());
    const Result r = run_dfaasctl({"-o", "json", "simulate", "--snapshot", recalc.string()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out_json().at("messages"), json::array());  // both peers dead after 72 s
    snapshot["peers"]["ttl_ms"] = 120000;                   // an explicit TTL is kept
    const auto explicit_ttl = dir.write("ttl.json", snapshot.dump());
    const Result t = run_dfaasctl({"-o", "json", "simulate", "--snapshot", explicit_ttl.string()});
    ASSERT_EQ(t.code, 0) << t.err;
    EXPECT_EQ(t.out_json().at("messages").size(), 2u);
}

// ---- errors ----

struct ErrorCase {
    std::string content;
    std::vector<std::string> extra;
    int code;
    std::string message;
    bool names_file = true;  // false: the problem is a command-line option
};

TEST(SimulateErrors, NameTheFileThePathAndTheProblem) {
    const std::vector<ErrorCase> cases{
        {R"({"node_id": "a",)", {}, 2, "not valid JSON: parse error at line 1, column 17"},
        {R"([1])", {}, 2, "expected a JSON object"},
        {R"({"functions": []})", {}, 2, "snapshot.node_id: missing"},
        {R"({"node_id": "a", "functions": [{"name": "f", "port": 70000}]})",
         {},
         2,
         "snapshot.functions[0].port: expected an integer in 0..65535, got 70000"},
        {R"({"node_id": "a", "user_rates": {"f": -1}})", {}, 2, "snapshot.user_rates['f']"},
        {R"({"node_id": "a", "strategy": "roundrobin"})", {}, 2, "strategy: unknown strategy"},
        {R"({"node_id": "a", "strategy": 3})", {}, 2, "strategy: expected a strategy name"},
        {R"({"node_id": "a", "forecaster": {"model_dir": "m"}})",
         {},
         2,
         "forecaster.model_dir: unknown key"},
        {R"({"node_id": "a", "forecaster": {"variant": "q50"}})", {}, 2, "forecaster.variant:"},
        {R"({"node_id": "a"})",
         {"--strategy", "roundrobin"},
         2,
         "--strategy: unknown strategy",
         false},
        {R"({"node_id": "a"})", {"--steps", "3"}, 2, "--steps runs a federation file"},
    };
    TempDir dir;
    for (const auto &c : cases) {
        SCOPED_TRACE(c.content);
        const auto file = dir.write("case.json", c.content);
        std::vector<std::string> args{"simulate", "--snapshot", file.string()};
        args.insert(args.end(), c.extra.begin(), c.extra.end());
        const Result r = run_dfaasctl(args);
        EXPECT_EQ(r.code, c.code);
        EXPECT_EQ(r.out, "");
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        if (c.names_file) {
            EXPECT_NE(r.err.find(file.string() + ": "), std::string::npos) << r.err;
        }
    }
}

TEST(SimulateErrors, MissingFileIsNotFound) {
    const Result r = run_dfaasctl({"simulate", "--snapshot", "/nonexistent/snapshot.json"});
    EXPECT_EQ(r.code, 3);
    EXPECT_NE(r.err.find("/nonexistent/snapshot.json: no such file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dfaas::whatif_testing
