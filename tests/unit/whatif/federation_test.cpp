// `dfaasctl simulate --steps N` on federation files: nodes exchange their messages period after
// period. A 3-node Recalc federation converges to the limits and weights the contract gives
// (R1, R2, R3, R4 of docs/strategies.md); Node Margin reaches N1; Static its rounding table.
#include <gtest/gtest.h>

#include "support.h"

namespace dfaas::whatif_testing {
namespace {

json run_federation(const std::string &name, std::vector<std::string> extra = {},
                    const EnvChanges &env = {}) {
    std::vector<std::string> args{"-o", "json", "simulate", "--snapshot", fixture(name).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const Result r = run_dfaasctl(args, "", env);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r.code == 0 ? r.out_json() : json::array();
}

const json &node(const json &period, const std::string &id) {
    return period.at("nodes").at(id);
}

json policy(const json &period, const std::string &id, const std::string &function) {
    return node(period, id).at("policies").at(function);
}

json limits_sent(const json &period, const std::string &from, const std::string &to) {
    for (const auto &message : node(period, from).at("messages"))
        if (message.at("to") == to) return message.at("message").at("limits");
    ADD_FAILURE() << from << " sent nothing to " << to;
    return json();
}

const json kNoWeights = json::object();

// The contract's steady state of node1 (funca maxrate 10 at 49.2 req/s, figlet 50, idle),
// node2 (funca 20) and node3 (funca 30).
void expect_converged(const json &period) {
    SCOPED_TRACE("period " + period.at("period").dump());
    // R1/R3: node1 shares figlet's 50 between its two peers; funca is overloaded: LimitIn 0.
    EXPECT_EQ(limits_sent(period, "node1", "node2"), (json{{"figlet", 25.0}, {"funca", 0.0}}));
    EXPECT_EQ(limits_sent(period, "node1", "node3"), (json{{"figlet", 25.0}, {"funca", 0.0}}));
    // R2: node2's 20 and node3's 30 halved: node1's LimitOut 10 and 15.
    EXPECT_EQ(limits_sent(period, "node2", "node1"), (json{{"funca", 10.0}}));
    EXPECT_EQ(limits_sent(period, "node3", "node1"), (json{{"funca", 15.0}}));
    // R4: overflow weights 60/40 from LimitOut 15/10.
    const json funca = policy(period, "node1", "funca");
    EXPECT_EQ(funca.at("overflow"), (json{{"10.0.0.3", 60}, {"10.0.0.2", 40}}));
    EXPECT_EQ(funca.at("local_cap"), 10);
    EXPECT_EQ(funca.at("limit_in"), (json{{"10.0.0.2", 0}, {"10.0.0.3", 0}}));
    EXPECT_EQ(policy(period, "node1", "figlet").at("limit_in"),
              (json{{"10.0.0.2", 25}, {"10.0.0.3", 25}}));
    EXPECT_EQ(policy(period, "node2", "funca").at("limit_in"),
              (json{{"10.0.0.1", 10}, {"10.0.0.3", 10}}));
    EXPECT_EQ(policy(period, "node3", "funca").at("limit_in"),
              (json{{"10.0.0.1", 15}, {"10.0.0.2", 15}}));
    // figlet runs only on node1: node2 and node3 route it there by node1's LimitOut.
    EXPECT_EQ(policy(period, "node2", "figlet").at("peers"), (json{{"10.0.0.1", 100}}));
}

TEST(FederationRecalc, ThreeNodesConvergeToTheContractsLimits) {
    const json periods = run_federation("federation-recalc.json", {"--steps", "4"});
    ASSERT_EQ(periods.size(), 4u);
    // Period 0: nobody has sent limits yet, so every LimitIn is 0 and node1 has no overflow.
    const json &first = periods[0];
    EXPECT_EQ(first.at("start_ms"), 1622548800000);
    EXPECT_EQ(limits_sent(first, "node2", "node1"), (json{{"funca", 0.0}}));
    EXPECT_EQ(policy(first, "node1", "funca").at("overflow"), kNoWeights);
    EXPECT_EQ(node(first, "node1").at("recalc_plan").at("overloaded"), (json{"funca"}));
    // From period 1 on: the contract's values, and they stay.
    for (size_t k = 1; k < periods.size(); ++k) {
        EXPECT_EQ(periods[k].at("period"), k);
        EXPECT_EQ(periods[k].at("start_ms"), 1622548800000 + 60000 * int64_t(k));
        expect_converged(periods[k]);
    }
}

TEST(FederationRecalc, TimelineOfRatesAndANodeGoingDown) {
    // periods: idle, idle, node1's funca at 49.2 req/s, -, node3 down, -, node3 back, -.
    const json periods = run_federation("federation-recalc-timeline.json");
    ASSERT_EQ(periods.size(), 8u);  // the count of "periods" entries
    // Period 1, idle: R1's LimitIn funca 10/2 = 5 and figlet 25; no overflow.
    EXPECT_EQ(limits_sent(periods[1], "node1", "node2"), (json{{"figlet", 25.0}, {"funca", 5.0}}));
    EXPECT_EQ(policy(periods[1], "node1", "funca").at("overflow"), kNoWeights);
    EXPECT_EQ(node(periods[1], "node1").at("user_rates"), json::object());
    // Period 2, overloaded: converged at once (the peers' limits arrive at step 1).
    EXPECT_EQ(node(periods[2], "node1").at("user_rates"), (json{{"funca", 49.2}}));
    expect_converged(periods[2]);
    expect_converged(periods[3]);
    // Period 4: node3 is down. Its last limits (period 3) are still fresh at step 1 but node3
    // is dead (heard 90 s ago > 1.2·P = 72 s) at step 2: node2 takes all the overflow.
    EXPECT_FALSE(node(periods[4], "node3").at("up").get<bool>());
    EXPECT_EQ(node(periods[4], "node3").at("messages"), json::array());
    EXPECT_EQ(policy(periods[4], "node1", "funca").at("overflow"), (json{{"10.0.0.2", 100}}));
    EXPECT_EQ(limits_sent(periods[4], "node1", "node3"), (json{{"figlet", 25.0}, {"funca", 0.0}}));
    // Period 5: node3 is gone from every table: node2 alone shares the margins.
    EXPECT_EQ(policy(periods[5], "node1", "figlet").at("limit_in"), (json{{"10.0.0.2", 50}}));
    EXPECT_EQ(policy(periods[5], "node2", "funca").at("limit_in"), (json{{"10.0.0.1", 20}}));
    // node3's installed policies stay what they were while it is down.
    EXPECT_EQ(node(periods[5], "node3").at("policies"), node(periods[3], "node3").at("policies"));
    // Period 6: node3 is back; the others have no fresh limits from it yet: LimitIn 0 for it.
    EXPECT_TRUE(node(periods[6], "node3").at("up").get<bool>());
    EXPECT_EQ(policy(periods[6], "node1", "figlet").at("limit_in"),
              (json{{"10.0.0.2", 50}, {"10.0.0.3", 0}}));
    // Period 7: converged again.
    expect_converged(periods[7]);
}

TEST(FederationRecalc, SameFileSameOutput) {
    const auto args = std::vector<std::string>{"simulate", "--snapshot",
                                               fixture("federation-recalc-timeline.json").string()};
    const Result first = run_dfaasctl(args);
    const Result second = run_dfaasctl(args);
    ASSERT_EQ(first.code, 0) << first.err;
    EXPECT_EQ(first.out, second.out);
    EXPECT_NE(first.out.find("node3  (down)"), std::string::npos) << first.out;
    EXPECT_NE(first.out.find("period 7, t=+420s"), std::string::npos) << first.out;
}

TEST(FederationRecalc, StepsBeyondThePeriodsKeepTheLastInputs) {
    const json periods = run_federation("federation-recalc-timeline.json", {"--steps", "10"});
    ASSERT_EQ(periods.size(), 10u);
    expect_converged(periods[9]);
}

TEST(FederationNodeMargin, ReachesN1OnceTheMarginsHaveTravelled) {
    const auto directory = models();
    if (!directory) GTEST_SKIP() << dfaas::testing::forecaster_data_missing_message();
    // The models from the environment: the file names none.
    const json periods = run_federation("federation-nms.json", {"--steps", "4"},
                                        {{"DFAAS_FORECASTER_DATA_DIR", directory->string()}});
    ASSERT_EQ(periods.size(), 4u);
    // Period 0: no node info has travelled yet; period 1: node-b knows node-a and announces its
    // margin, which node-a only has from period 2 on.
    EXPECT_EQ(node(periods[0], "node-a").at("nms").at("common_neighbours"), 0);
    EXPECT_EQ(node(periods[1], "node-a").at("nms").at("common_neighbours"), 1);
    EXPECT_NEAR(node(periods[1], "node-b").at("nms").at("margin").get<double>(), 62.41, 0.005);
    for (size_t k = 0; k < 2; ++k) {
        EXPECT_EQ(policy(periods[k], "node-a", "figlet").at("local"), 100);
        EXPECT_EQ(policy(periods[k], "node-a", "figlet").at("peers"), kNoWeights);
    }
    for (size_t k = 2; k < 4; ++k) {
        SCOPED_TRACE("period " + std::to_string(k));
        EXPECT_EQ(policy(periods[k], "node-a", "figlet").at("local"), 57);
        EXPECT_EQ(policy(periods[k], "node-a", "figlet").at("peers"), (json{{"10.0.0.2", 43}}));
        EXPECT_EQ(node(periods[k], "node-a").at("nms").at("accepted_steps"), 56);
        EXPECT_EQ(policy(periods[k], "node-b", "figlet").at("local"), 100);
    }
}

TEST(FederationNodeMargin, NoModelsIsAClearError) {
    const Result r =
        run_dfaasctl({"simulate", "--snapshot", fixture("federation-nms.json").string()}, "",
                     {{"DFAAS_FORECASTER_DATA_DIR", std::nullopt}});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("Node Margin needs the forecaster models"), std::string::npos) << r.err;
}

TEST(FederationStatic, SixtyLocalFortySharedByThePeersThatRunTheFunction) {
    const json periods = run_federation("federation-static.json", {"--steps", "2"});
    ASSERT_EQ(periods.size(), 2u);
    // Period 0: nobody has announced its functions yet.
    EXPECT_EQ(policy(periods[0], "node1", "figlet").at("local"), 100);
    // Period 1: figlet runs on 3 nodes (2 peers each: 20), shasum on node1 and node3 (40).
    EXPECT_EQ(policy(periods[1], "node1", "figlet").at("local"), 60);
    EXPECT_EQ(policy(periods[1], "node1", "figlet").at("peers"),
              (json{{"10.0.0.2", 20}, {"10.0.0.3", 20}}));
    EXPECT_EQ(policy(periods[1], "node1", "shasum").at("peers"), (json{{"10.0.0.3", 40}}));
    EXPECT_EQ(policy(periods[1], "node2", "figlet").at("peers"),
              (json{{"10.0.0.1", 20}, {"10.0.0.3", 20}}));
}

// ---- errors ----

TEST(FederationErrors, NameTheFileThePathAndTheProblem) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {R"({"nodes": []})", "nodes: expected a non-empty array"},
        {R"({"nodes": [{"node_id": "a"}]})", "nodes[0].address: missing"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.300"}]})",
         "nodes[0].address: \"10.0.0.300\" is not a usable IPv4 address"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1"}, {"node_id": "a", "address": "10.0.0.2"}]})",
         "nodes[1].node_id: 'a' is also nodes[0]"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1"}, {"node_id": "b", "address": "10.0.0.1"}]})",
         "nodes[1].address: 10.0.0.1 is used by another node"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1"}, {"node_id": "b", "address": "10.0.0.2", "period_ms": 5000}]})",
         "nodes[1].period_ms: 5000 differs from nodes[0]'s 10000"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1", "now_ms": 1}, {"node_id": "b", "address": "10.0.0.2"}]})",
         "nodes[1].now_ms: 0 differs from nodes[0]'s 1"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1", "functions": [{"name": "f", "port": "x"}]}]})",
         "nodes[0].functions[0].port: expected an integer"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1", "strategy": "static"}]})",
         "nodes[0].strategy: set once for the whole federation"},
        {R"({"defaults": {"node_id": "x"}, "nodes": [{"node_id": "a", "address": "10.0.0.1"}]})",
         "defaults.node_id: not a default"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1"}], "period": []})",
         "period: unknown key"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1", "functions": [{"name": "f"}]}], "periods": [{}, {"user_rates": {"a": {"g": 1}}}]})",
         "periods[1].user_rates['a']['g']: a has no function 'g'"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1", "functions": [{"name": "f"}]}], "periods": [{"user_rates": {"b": {"f": 1}}}]})",
         "periods[0].user_rates['b']: no node 'b'"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1", "functions": [{"name": "f"}]}], "periods": [{"user_rates": {"a": {"f": -2}}}]})",
         "periods[0].user_rates['a']['f']: expected a finite number >= 0, got -2"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1"}], "periods": [{"down": ["z"]}]})",
         "periods[0].down[0]: no node 'z'"},
        {R"({"nodes": [{"node_id": "a", "address": "10.0.0.1"}], "periods": [{"up": []}]})",
         "periods[0].up: unknown key"},
    };
    TempDir dir;
    for (const auto &[content, message] : cases) {
        SCOPED_TRACE(content);
        const auto file = dir.write("federation.json", content);
        const Result r = run_dfaasctl({"simulate", "--snapshot", file.string()});
        EXPECT_EQ(r.code, 2);
        EXPECT_EQ(r.out, "");
        EXPECT_NE(r.err.find(file.string() + ": " + message), std::string::npos) << r.err;
    }
}

}  // namespace
}  // namespace dfaas::whatif_testing
