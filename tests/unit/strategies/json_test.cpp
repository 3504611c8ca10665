#include "dfaas/strategy/json.h"

#include <gtest/gtest.h>

#include "dfaas/strategy/error.h"
#include "dfaas/strategy/strategies.h"
#include "support.h"

namespace dfaas::strategy {
namespace {

using testing::ip;
using testing::kNow;

// A snapshot that uses every field.
Snapshot rich_snapshot() {
    Snapshot snapshot = testing::make_snapshot("node1", StrategyKind::NodeMargin);
    snapshot.node_type = NodeType::Light;
    snapshot.thresholds = {104, 4.1e9, 7e5};
    snapshot.functions = {testing::with_max_rate("figlet", 50),
                          testing::function("curl", {{"dfaas.group", "MEDIUM_USAGE"}}, 31002)};
    snapshot.user_rates = {{"figlet", 12.5}, {"curl", 0}};
    snapshot.groups = {{"figlet", Group::Low}, {"curl", Group::Medium}};
    snapshot.peers.record_membership("node2", ip("10.0.0.2"), {"figlet"}, kNow - Millis{5});
    snapshot.peers.apply("node2", ip("10.0.0.2"), RecalcLimits{{{"figlet", 25}}}, kNow);
    snapshot.peers.apply("node2", ip("10.0.0.2"),
                         NmsNodeInfo{NodeType::Heavy, {235, 6e9, 3.5e6}, {"figlet"}}, kNow);
    snapshot.peers.apply("node2", ip("10.0.0.2"), NmsMargin{62.41, {1, 2, 3}}, kNow);
    snapshot.peers.apply("node3", ip("10.0.0.3"), StaticInfo{{"curl"}}, kNow - Millis{7});
    snapshot.peers.mark_unreachable("node3");
    snapshot.external.current = {1, 0.2, 3, 0.5, 2, {{"node2", {4, 5, 6}}}};
    snapshot.external.previous.input_rate = 7;
    snapshot.external.action = ExternalAction{0.6, 0.1, {{"node2", 0.3}}};
    snapshot.recalc.standby_overflow = true;
    return snapshot;
}

std::string snapshot_error(const char *text) {
    try {
        snapshot_from_json(Json::parse(text));
    } catch (const Error &error) {
        return error.what();
    }
    return "";
}

TEST(StrategyJson, SnapshotRoundTrips) {
    const Snapshot snapshot = rich_snapshot();
    const Json json = snapshot;
    EXPECT_EQ(json.get<Snapshot>(), snapshot);
    EXPECT_EQ(snapshot_from_json(Json::parse(json.dump())), snapshot);
}

TEST(StrategyJson, MinimalSnapshotTakesDefaults) {
    const Snapshot snapshot = snapshot_from_json(Json::parse(R"({"node_id": "a"})"));
    EXPECT_EQ(snapshot.node_type, NodeType::Mid);
    EXPECT_EQ(snapshot.thresholds, Thresholds{});
    EXPECT_EQ(snapshot.period, Millis{10000});
    EXPECT_EQ(snapshot.groups, reference_group_table());
    EXPECT_EQ(snapshot.peers.self_id(), "a");
    EXPECT_EQ(snapshot.peers.ttl(), Millis{20000});
    EXPECT_FALSE(snapshot.recalc.standby_overflow);  // the reference's Recalc unless asked
}

TEST(StrategyJson, HandWrittenSnapshotDrivesAStrategy) {
    const Snapshot snapshot = snapshot_from_json(Json::parse(R"({
        "node_id": "me", "node_type": 2,
        "functions": [{"name": "figlet"}],
        "peers": {"entries": [{"id": "p", "address": "10.0.0.2",
                               "static_info": {"functions": ["figlet"]}}]}})"));
    EXPECT_EQ(snapshot.node_type, NodeType::Light);
    const Decision decision = StaticStrategy().decide(snapshot);
    EXPECT_EQ(decision.policies->at("figlet").peers.at(ip("10.0.0.2")), 40u);
}

TEST(StrategyJson, SnapshotErrorsNameThePath) {
    EXPECT_NE(snapshot_error("{}").find("snapshot.node_id: missing"), std::string::npos);
    EXPECT_NE(snapshot_error(R"({"node_id": "a", "functions": [{"name": "f"}, {"name": "g",
        "port": 70000}]})")
                  .find("snapshot.functions[1].port: expected an integer in 0..65535"),
              std::string::npos);
    EXPECT_NE(snapshot_error(R"({"node_id": "a", "user_rates": {"f": -1}})")
                  .find("snapshot.user_rates['f']: expected a number >= 0"),
              std::string::npos);
    EXPECT_NE(snapshot_error(R"({"node_id": "a", "node_type": "huge"})").find("snapshot.node_type"),
              std::string::npos);
    EXPECT_NE(snapshot_error(R"({"node_id": "a", "thresholds": {"cpu": 0, "ram": 1, "power": 1}})")
                  .find("cpu threshold"),
              std::string::npos);
    EXPECT_NE(snapshot_error(R"({"node_id": "a", "peers": {"entries": [{"id": "p",
        "address": "10.0.0.300"}]}})")
                  .find("snapshot.peers.entries[0].address"),
              std::string::npos);
    EXPECT_NE(
        snapshot_error(R"({"node_id": "a", "peers": {"self_id": "b"}})").find("belongs to 'b'"),
        std::string::npos);
    EXPECT_NE(snapshot_error(R"({"node_id": "a", "groups": {"HIGH_USAGE": ["x"],
        "LOW_USAGE": ["x"]}})")
                  .find("in two groups"),
              std::string::npos);
    EXPECT_NE(snapshot_error(R"({"node_id": "a", "peers": {"entries": [{"id": "p",
        "address": "10.0.0.2", "nms_margin": {"margin": -2, "load": {}}}]}})")
                  .find("snapshot.peers.entries[0].nms_margin.margin"),
              std::string::npos);
}

TEST(StrategyJson, DecisionRoundTrips) {
    class Linear final : public Forecaster {
      public:
        Prediction predict(const GroupLoad &load, NodeType) const override {
            return {40 + load.low, 1e9, 1e5};
        }
    };
    const Linear forecaster;
    Snapshot snapshot = rich_snapshot();
    snapshot.user_rates["figlet"] = 150;
    snapshot.groups = reference_group_table();
    for (auto kind : {StrategyKind::Recalc, StrategyKind::NodeMargin, StrategyKind::StaticWeights,
                      StrategyKind::External}) {
        const Decision decision = make_strategy(kind, &forecaster)->decide(snapshot);
        const Json json = decision;
        EXPECT_EQ(decision_from_json(Json::parse(json.dump())), decision) << to_string(kind);
    }
}

TEST(StrategyJson, EveryMessageTypeRoundTrips) {
    const std::vector<PeerMessage> messages{
        RecalcLimits{{{"figlet", 25}, {"funca", 0}}},
        NmsNodeInfo{NodeType::Heavy, {235, 6e9, 3.5e6}, {"figlet", "shasum"}},
        NmsMargin{24.55, {1, 2, 3}}, StaticInfo{{"figlet"}}};
    for (const auto &message : messages) {
        const Json json = message_to_json(message);
        EXPECT_EQ(json.at("type"), message_type(message));
        EXPECT_EQ(message_from_json(json), message) << json.dump();
        const OutgoingMessage outgoing{"node2", message};
        EXPECT_EQ(Json(outgoing).get<OutgoingMessage>(), outgoing);
    }
    EXPECT_EQ(message_to_json(NmsMargin{24.55, {1, 2, 3}}),
              Json::parse(R"({"type": "nms_margin", "margin": 24.55,
                  "load": {"HIGH_USAGE": 1, "LOW_USAGE": 2, "MEDIUM_USAGE": 3}})"));
}

TEST(StrategyJson, BadMessagesAreErrors) {
    EXPECT_THROW(message_from_json(Json::parse(R"({"type": "hello"})")), Error);
    EXPECT_THROW(message_from_json(Json::parse(R"({"limits": {}})")), Error);
    EXPECT_THROW(
        message_from_json(Json::parse(R"({"type": "recalc_limits", "limits": {"f": -1}})")), Error);
    EXPECT_THROW(message_from_json(Json::parse(R"({"type": "nms_margin", "margin": 1,
        "load": {"HUGE": 1}})")),
                 Error);
    EXPECT_THROW(message_from_json(Json::parse(R"({"type": "static_info", "functions": [""]})")),
                 Error);
}

TEST(StrategyJson, PeerTableRoundTripsAndNeedsItsIdentity) {
    const PeerTable table = rich_snapshot().peers;
    EXPECT_EQ(Json(table).get<PeerTable>(), table);
    EXPECT_THROW(peer_table_from_json(Json::parse(R"({"entries": []})")), Error);
}

TEST(StrategyJson, PoliciesRoundTripAndAreValidated) {
    FunctionPolicy policy;
    policy.local = 60;
    policy.peers = {{ip("10.0.0.2"), 40}};
    policy.local_cap = 10;
    policy.overflow = {{ip("10.0.0.3"), 100}};
    policy.limit_in = {{ip("10.0.0.3"), 5}};
    const PolicySet policies{{"figlet", policy}, {"curl", FunctionPolicy::all_local()}};
    EXPECT_EQ(policy_set_from_json(policy_set_to_json(policies)), policies);
    EXPECT_THROW(policy_from_json(Json::parse(R"({"local": 101})")), Error);
    EXPECT_THROW(policy_from_json(Json::parse(R"({"local": 0})")), Error);  // all weights zero
    EXPECT_THROW(policy_from_json(Json::parse(R"({"peers": {"10.0.0.2": 200}})")), Error);
    EXPECT_THROW(policy_from_json(Json::parse(R"({"peers": {"host": 20}})")), Error);
}

TEST(StrategyJson, GroupFileInTheReferenceFormat) {
    const GroupTable groups = group_table_from_json(Json::parse(
        R"({"HIGH_USAGE": ["eat-memory", "nmap"], "LOW_USAGE": ["env", "figlet", "shasum"],
            "MEDIUM_USAGE": ["curl"]})"));
    EXPECT_EQ(groups, reference_group_table());
    EXPECT_EQ(group_table_from_json(group_table_to_json(groups)), groups);
}

}  // namespace
}  // namespace dfaas::strategy
