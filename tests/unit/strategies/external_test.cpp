#include "dfaas/strategy/external.h"

#include <gtest/gtest.h>

#include "dfaas/strategy/error.h"
#include "dfaas/strategy/json.h"
#include "dfaas/strategy/strategies.h"
#include "support.h"

namespace dfaas::strategy {
namespace {

using testing::ip;
using testing::kNow;
using testing::make_snapshot;

// Node A runs f; members B and C run f too, D runs only g.
Snapshot node_a() {
    Snapshot snapshot = make_snapshot("A", StrategyKind::External);
    snapshot.functions = {testing::function("f")};
    snapshot.peers.record_membership("B", ip("10.0.0.2"), {"f"}, kNow);
    snapshot.peers.record_membership("C", ip("10.0.0.3"), {"f", "g"}, kNow);
    snapshot.peers.record_membership("D", ip("10.0.0.4"), {"g"}, kNow);
    return snapshot;
}

std::string answer_error(const char *text) {
    try {
        external_answer_from_json(Json::parse(text), "A");
    } catch (const Error &error) {
        return error.what();
    }
    return "";
}

TEST(External, ReferenceAnswerMapsToRoundedWeights) {
    Snapshot snapshot = node_a();
    snapshot.external.action = external_answer_from_json(
        Json::parse(
            R"({"node_A": {"local": 0.62, "reject": 0.05, "node_B": 0.2, "node_C": 0.13}})"),
        "A");
    const Decision decision = ExternalStrategy().decide(snapshot);
    ASSERT_TRUE(decision.policies.has_value());
    const FunctionPolicy &policy = decision.policies->at("f");
    EXPECT_EQ(policy.local, 62u);
    EXPECT_EQ(policy.reject, 5u);
    EXPECT_EQ(policy.peers, (std::map<Ipv4, uint32_t>{{ip("10.0.0.2"), 20}, {ip("10.0.0.3"), 13}}));
    EXPECT_TRUE(decision.messages.empty());
    EXPECT_FALSE(decision.degraded.has_value());
}

TEST(External, PeerThatDoesNotRunTheFunctionGetsNoWeight) {
    Snapshot snapshot = node_a();
    snapshot.external.action = ExternalAction{0.5, 0.0, {{"D", 0.5}}};
    EXPECT_TRUE(ExternalStrategy().decide(snapshot).policies->at("f").peers.empty());
}

TEST(External, DeadPeerNamedByTheModelIsSkippedWithAWarning) {
    Snapshot snapshot = node_a();
    snapshot.peers.mark_unreachable("B");
    snapshot.external.action = ExternalAction{0.5, 0.0, {{"B", 0.3}, {"Z", 0.2}}};
    const Decision decision = ExternalStrategy().decide(snapshot);
    EXPECT_TRUE(decision.policies->at("f").peers.empty());
    EXPECT_EQ(decision.warnings.size(), 2u);
}

TEST(External, NoAnswerKeepsThePoliciesAndMarksDegraded) {
    const Decision decision = ExternalStrategy().decide(node_a());
    EXPECT_FALSE(decision.policies.has_value());
    EXPECT_TRUE(decision.degraded.has_value());
}

TEST(External, AnswerWithoutAnyUsableWeightKeepsThePolicies) {
    Snapshot snapshot = node_a();
    snapshot.external.action = ExternalAction{0.0, 0.0, {{"D", 1.0}}};
    const Decision decision = ExternalStrategy().decide(snapshot);
    EXPECT_FALSE(decision.policies.has_value());
    ASSERT_TRUE(decision.degraded.has_value());
    EXPECT_NE(decision.degraded->find("function 'f'"), std::string::npos);
}

TEST(External, MalformedAnswersAreErrors) {
    EXPECT_NE(answer_error("[]").find("expected an object"), std::string::npos);
    EXPECT_NE(answer_error(R"({"node_B": {}})").find("answer.node_A: missing"), std::string::npos);
    EXPECT_NE(answer_error(R"({"node_A": {"local": 1}})").find("reject: missing"),
              std::string::npos);
    EXPECT_NE(answer_error(R"({"node_A": {"local": "1", "reject": 0}})").find("expected a number"),
              std::string::npos);
    EXPECT_NE(answer_error(R"({"node_A": {"local": 1.5, "reject": 0}})").find("0..1"),
              std::string::npos);
    EXPECT_NE(answer_error(R"({"node_A": {"local": 0.5, "reject": 0, "peer_B": 0.5}})")
                  .find("unexpected key"),
              std::string::npos);
    EXPECT_NE(
        answer_error(R"({"node_A": {"local": 0, "reject": 0}})").find("every proportion is 0"),
        std::string::npos);
    EXPECT_NE(answer_error(R"({"node_A": {"local": 0.5, "reject": 0, "node_A": 0.5}})")
                  .find("this node named as a peer"),
              std::string::npos);
}

TEST(External, ObservationHasTheReferenceShape) {
    Snapshot snapshot = node_a();
    snapshot.external.current = {12.3, 0.5, 85.2, 0.42, 2, {}};
    snapshot.external.previous.input_rate = 10;
    snapshot.external.previous.replicas = 1;
    snapshot.external.previous.peers["B"] = {3.0, 0.5, 90.0};
    const Json json = observation_to_json(build_observation(snapshot));
    EXPECT_EQ(json.at("agent_parameters"), Json::parse(R"({"explore": false})"));
    const Json &me = json.at("observation").at("node_A");
    EXPECT_EQ(me.at("input_rate"), 12.3);
    EXPECT_EQ(me.at("previous_input_rate"), 10.0);
    EXPECT_EQ(me.at("reject_rate"), 0.5);
    EXPECT_EQ(me.at("avg_resp_time_loc"), 85.2);
    EXPECT_EQ(me.at("cpu_utilization"), 0.42);
    EXPECT_EQ(me.at("n_replicas"), 2.0);
    EXPECT_EQ(me.at("previous_n_replicas"), 1.0);
    EXPECT_EQ(me.at("previous_fwd_to_node_B"), 3.0);
    EXPECT_EQ(me.at("previous_fwd_to_node_B_rejected"), 0.5);
    EXPECT_EQ(me.at("previous_avg_resp_time_fwd_to_node_B"), 90.0);
    EXPECT_EQ(me.at("previous_fwd_to_node_D"), 0.0);
    EXPECT_EQ(me.size(), 10u + 3u * 3u);  // 10 own fields + 3 per live peer (B, C, D)
}

}  // namespace
}  // namespace dfaas::strategy
