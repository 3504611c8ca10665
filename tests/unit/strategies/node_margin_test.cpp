#include <gtest/gtest.h>

#include "dfaas/forecast/native_forecaster.h"
#include "dfaas/strategy/strategies.h"
#include "forecaster_data.h"
#include "support.h"

namespace dfaas::strategy {
namespace {

using testing::ip;
using testing::kNow;
using testing::make_snapshot;
using testing::receive;

const Thresholds kSimpleThresholds{100.0, 5.5e9, 2.1e6};

// cpu = idle(type) + 0.5·(2·high + low + medium) percent; ram and power stay far below their
// thresholds, so cpu alone decides overload.
class LinearForecaster final : public Forecaster {
  public:
    Prediction predict(const GroupLoad &load, NodeType type) const override {
        const double idle = type == NodeType::Heavy ? 20.0 : type == NodeType::Mid ? 40.0 : 60.0;
        return {idle + 0.5 * (2.0 * load.high + load.low + load.medium), 1e9, 1e5};
    }
};

// Fails for the node types in `failing`.
class FailingForecaster final : public Forecaster {
  public:
    explicit FailingForecaster(std::vector<NodeType> failing) : failing_(std::move(failing)) {}
    Prediction predict(const GroupLoad &load, NodeType type) const override {
        if (std::find(failing_.begin(), failing_.end(), type) != failing_.end())
            throw ForecastError("forecaster service down");
        return LinearForecaster().predict(load, type);
    }

  private:
    std::vector<NodeType> failing_;
};

// The own node always predicts cpu 200 (overloaded whatever it moves); others never change.
class StuckForecaster final : public Forecaster {
  public:
    Prediction predict(const GroupLoad &, NodeType type) const override {
        return {type == NodeType::Mid ? 200.0 : 10.0, 1e9, 1e5};
    }
};

// A mid node running `rates` (function -> req/s) with the simple thresholds.
Snapshot own_node(std::map<std::string, double> rates) {
    Snapshot snapshot = make_snapshot("me", StrategyKind::NodeMargin);
    snapshot.node_type = NodeType::Mid;
    snapshot.thresholds = kSimpleThresholds;
    for (const auto &[name, rate] : rates)
        snapshot.functions.push_back(testing::function(name));
    snapshot.user_rates = std::move(rates);
    return snapshot;
}

void add_neighbour(Snapshot &snapshot, const std::string &id, const char *address,
                   std::vector<std::string> functions, std::optional<double> margin,
                   NodeType type = NodeType::Heavy) {
    receive(snapshot, id, ip(address), NmsNodeInfo{type, kSimpleThresholds, std::move(functions)});
    if (margin) receive(snapshot, id, ip(address), NmsMargin{*margin, GroupLoad{}});
}

const NmsMargin *margin_message(const Decision &decision) {
    for (const auto &message : decision.messages)
        if (const auto *margin = std::get_if<NmsMargin>(&message.body)) return margin;
    return nullptr;
}
const NmsMargin *margin_message(Decision &&) = delete;  // would point into a temporary

// ---- Reference vectors N1 and N2 (the shipped regression models, one neighbour) ----

struct ReferenceCase {
    NodeType type;
    Thresholds thresholds;
    double figlet_rate;
};

const Thresholds kHeavyThresholds{235.0, 6.0e9, 3.5e6};

// B (heavy, idle, thresholds 235/6e9/3.5e6) computes its margin from A's node info; A then
// decides with B's node info and margin.
Decision run_reference_case(const Forecaster &forecaster, const ReferenceCase &a_case,
                            double &b_margin) {
    const NodeMarginStrategy strategy(forecaster);
    Snapshot a = make_snapshot("node-a", StrategyKind::NodeMargin);
    a.node_type = a_case.type;
    a.thresholds = a_case.thresholds;
    a.functions = {testing::function("figlet")};
    a.user_rates = {{"figlet", a_case.figlet_rate}};

    Snapshot b = make_snapshot("node-b", StrategyKind::NodeMargin);
    b.node_type = NodeType::Heavy;
    b.thresholds = kHeavyThresholds;
    b.functions = {testing::function("figlet")};
    receive(b, "node-a", ip("10.0.0.1"), NmsNodeInfo{a.node_type, a.thresholds, {"figlet"}});
    const Decision b_decision = strategy.decide(b);
    b_margin = margin_message(b_decision)->margin;

    for (const auto &message : b_decision.messages)
        receive(a, "node-b", ip("10.0.0.2"), message.body);
    return strategy.decide(a);
}

class NodeMarginReference : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto directory = dfaas::testing::forecaster_data_dir();
        if (!directory) GTEST_SKIP() << dfaas::testing::forecaster_data_missing_message();
        forecaster_.emplace(
            forecast::NativeForecaster::load(*directory, forecast::Variant::Regression));
    }
    std::optional<forecast::NativeForecaster> forecaster_;
};

TEST_F(NodeMarginReference, N1_MidNodeAt200ReqPerSecondForwards43Percent) {
    double b_margin = 0.0;
    const Decision decision =
        run_reference_case(*forecaster_, {NodeType::Mid, {120.0, 5.5e9, 2.1e6}, 200.0}, b_margin);
    EXPECT_NEAR(b_margin, 62.41, 0.01);
    const NmsReport &report = *decision.nms;
    EXPECT_NEAR(report.prediction.cpu, 135.78, 0.01);
    EXPECT_TRUE(report.overloaded);
    EXPECT_NEAR(report.usage_percent, 77.41, 0.01);
    EXPECT_EQ(report.margin, 0.0);
    EXPECT_EQ(report.accepted_steps, 56u);
    EXPECT_NEAR(report.kept.at("figlet"), 113.92, 0.01);
    EXPECT_NEAR(report.forwarded.at("node-b").at("figlet"), 86.08, 0.01);
    const FunctionPolicy &policy = decision.policies->at("figlet");
    EXPECT_EQ(policy.local, 57u);
    EXPECT_EQ(policy.peers, (std::map<Ipv4, uint32_t>{{ip("10.0.0.2"), 43}}));
    EXPECT_EQ(policy.reject, 0u);
}

TEST_F(NodeMarginReference, N2_LightNodeAt250ReqPerSecondForwards22Percent) {
    double b_margin = 0.0;
    const Decision decision =
        run_reference_case(*forecaster_, {NodeType::Light, {104.0, 4.1e9, 0.7e6}, 250.0}, b_margin);
    EXPECT_NEAR(b_margin, 62.41, 0.01);
    const NmsReport &report = *decision.nms;
    EXPECT_NEAR(report.prediction.cpu, 115.58, 0.01);
    EXPECT_NEAR(report.usage_percent, 86.94, 0.01);
    EXPECT_EQ(report.accepted_steps, 25u);
    EXPECT_NEAR(report.kept.at("figlet"), 194.46, 0.01);
    EXPECT_NEAR(report.forwarded.at("node-b").at("figlet"), 55.54, 0.01);
    const FunctionPolicy &policy = decision.policies->at("figlet");
    EXPECT_EQ(policy.local, 78u);
    EXPECT_EQ(policy.peers, (std::map<Ipv4, uint32_t>{{ip("10.0.0.2"), 22}}));
}

TEST_F(NodeMarginReference, IdleMidNodeWithOneNeighbourHasMargin49) {
    Snapshot snapshot = make_snapshot("node-a", StrategyKind::NodeMargin);
    snapshot.functions = {testing::function("figlet")};
    add_neighbour(snapshot, "node-b", "10.0.0.2", {"figlet"}, std::nullopt);
    const Decision decision = NodeMarginStrategy(*forecaster_).decide(snapshot);
    EXPECT_NEAR(decision.nms->usage_percent, 50.89, 0.01);
    EXPECT_NEAR(margin_message(decision)->margin, 49.11, 0.01);
}

// ---- Behaviour with an analytic forecaster ----

TEST(NodeMargin, ThreeNeighboursAreServedRoundRobinInIdOrder) {
    const LinearForecaster forecaster;
    // figlet 150 req/s: cpu 40 + 75 = 115 > 100; the loop stops once 120 req/s or less stay.
    Snapshot snapshot = own_node({{"figlet", 150.0}});
    add_neighbour(snapshot, "node-c", "10.0.0.4", {"figlet"}, 80.0);
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet"}, 80.0);
    add_neighbour(snapshot, "node-b", "10.0.0.3", {"figlet"}, 80.0);
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    const NmsReport &report = *decision.nms;
    EXPECT_EQ(report.accepted_steps, 23u);  // 150·0.99^23 < 120 <= 150·0.99^22
    EXPECT_FALSE(report.still_overloaded);
    const double a = report.forwarded.at("node-a").at("figlet");
    const double b = report.forwarded.at("node-b").at("figlet");
    const double c = report.forwarded.at("node-c").at("figlet");
    EXPECT_GT(a, b);  // node-a is offered first in every round
    EXPECT_GT(b, c);
    EXPECT_NEAR(a + b + c + report.kept.at("figlet"), 150.0, 1e-9);

    // The same peers learnt in another order give the same decision.
    Snapshot reordered = own_node({{"figlet", 150.0}});
    add_neighbour(reordered, "node-b", "10.0.0.3", {"figlet"}, 80.0);
    add_neighbour(reordered, "node-a", "10.0.0.2", {"figlet"}, 80.0);
    add_neighbour(reordered, "node-c", "10.0.0.4", {"figlet"}, 80.0);
    EXPECT_EQ(NodeMarginStrategy(forecaster).decide(reordered), decision);
}

TEST(NodeMargin, NeverRejectsAndNeverCaps) {
    const LinearForecaster forecaster;
    Snapshot snapshot = own_node({{"figlet", 500.0}, {"nmap", 100.0}});
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet"}, 1.0);
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    for (const auto &[name, policy] : *decision.policies) {
        EXPECT_EQ(policy.reject, 0u) << name;
        EXPECT_EQ(policy.local_cap, 0u) << name;
        EXPECT_FALSE(policy.validate().has_value()) << name;
    }
}

TEST(NodeMargin, PublishesNodeInfoAndMarginSharedByCommonNeighbours) {
    const LinearForecaster forecaster;
    Snapshot snapshot = own_node({{"figlet", 20.0}});  // cpu 50: usage (50+18.18+4.76)/3
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet"}, std::nullopt);
    add_neighbour(snapshot, "node-b", "10.0.0.3", {"figlet", "curl"}, std::nullopt);
    add_neighbour(snapshot, "node-c", "10.0.0.4", {"curl"}, std::nullopt);  // nothing in common
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    ASSERT_EQ(decision.messages.size(), 2u);
    const auto &info = std::get<NmsNodeInfo>(decision.messages[0].body);
    EXPECT_EQ(info, (NmsNodeInfo{NodeType::Mid, kSimpleThresholds, {"figlet"}}));
    const double usage = (50.0 + 1e9 * 100 / 5.5e9 + 1e5 * 100 / 2.1e6) / 3.0;
    const NmsMargin *margin = margin_message(decision);
    EXPECT_NEAR(margin->margin, (100.0 - usage) / 2.0, 1e-9);
    EXPECT_EQ(margin->load, (GroupLoad{0.0, 20.0, 0.0}));
    EXPECT_EQ(decision.nms->common_neighbours, 2u);
}

TEST(NodeMargin, OverloadedNodePublishesZeroMarginAndZeroLoad) {
    const LinearForecaster forecaster;
    Snapshot snapshot = own_node({{"figlet", 150.0}});
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet"}, std::nullopt);
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    const NmsMargin *margin = margin_message(decision);
    ASSERT_NE(margin, nullptr);
    EXPECT_EQ(*margin, NmsMargin{});
}

TEST(NodeMargin, NoPeersNoMarginMessageAllLocal) {
    const LinearForecaster forecaster;
    const Decision decision = NodeMarginStrategy(forecaster).decide(own_node({{"figlet", 150.0}}));
    EXPECT_EQ(decision.messages.size(), 1u);  // node info only
    EXPECT_EQ(margin_message(decision), nullptr);
    EXPECT_TRUE(decision.nms->still_overloaded);
    EXPECT_EQ(decision.policies->at("figlet"), FunctionPolicy::all_local());
}

TEST(NodeMargin, DeadNeighboursTakeNothing) {
    const LinearForecaster forecaster;
    Snapshot snapshot = own_node({{"figlet", 150.0}});
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet"}, 80.0);
    snapshot.now = kNow + peer_ttl(StrategyKind::NodeMargin, snapshot.period) + Millis{1};
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    EXPECT_EQ(decision.policies->at("figlet"), FunctionPolicy::all_local());
    EXPECT_EQ(decision.nms->common_neighbours, 0u);
}

TEST(NodeMargin, ZeroRatesStayLocal) {
    const LinearForecaster forecaster;
    Snapshot snapshot = own_node({{"figlet", 0.0}});
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet"}, 80.0);
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    EXPECT_EQ(decision.policies->at("figlet"), FunctionPolicy::all_local());
}

TEST(NodeMargin, NeighbourWithoutMarginIsNotATarget) {
    const LinearForecaster forecaster;
    Snapshot snapshot = own_node({{"figlet", 150.0}});
    add_neighbour(snapshot, "zero", "10.0.0.2", {"figlet"}, 0.0);
    add_neighbour(snapshot, "silent", "10.0.0.3", {"figlet"}, std::nullopt);
    EXPECT_EQ(NodeMarginStrategy(forecaster).decide(snapshot).policies->at("figlet"),
              FunctionPolicy::all_local());
}

TEST(NodeMargin, NeighbourRefusesLoadBeyondItsMargin) {
    const LinearForecaster forecaster;
    // Each 1 % step of 150 req/s adds 0.75·0.5/3 = 0.25 usage points to the neighbour: a margin
    // of 0.2 takes nothing, a margin of 1 takes the first steps only.
    Snapshot snapshot = own_node({{"figlet", 150.0}});
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet"}, 0.2);
    EXPECT_EQ(NodeMarginStrategy(forecaster).decide(snapshot).nms->accepted_steps, 0u);
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet"}, 1.0);
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    EXPECT_EQ(decision.nms->accepted_steps, 4u);
    EXPECT_TRUE(decision.nms->still_overloaded);
}

TEST(NodeMargin, FunctionsInNoGroupAreNeverMoved) {
    const LinearForecaster forecaster;
    Snapshot snapshot = own_node({{"figlet", 150.0}, {"custom", 500.0}});
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"custom", "figlet"}, 80.0);
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    EXPECT_EQ(decision.policies->at("custom"), FunctionPolicy::all_local());
    EXPECT_GT(decision.policies->at("figlet").peers.at(ip("10.0.0.2")), 0u);
    EXPECT_EQ(decision.nms->load, (GroupLoad{0.0, 150.0, 0.0}));
}

TEST(NodeMargin, GroupLabelWinsOverTheGroupTable) {
    const LinearForecaster forecaster;
    Snapshot snapshot = own_node({{"figlet", 10.0}, {"mine", 5.0}, {"odd", 1.0}});
    snapshot.functions[1].labels["dfaas.group"] = "HIGH_USAGE";
    // Any case, as the OpenFaaS client and the group file accept it (the strategy once warned on
    // a label the client had accepted).
    snapshot.functions[0].labels["dfaas.group"] = "medium_usage";
    snapshot.functions[2].labels["dfaas.group"] = "HUGE";
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    EXPECT_EQ(decision.nms->load, (GroupLoad{5.0, 0.0, 10.0}));
    ASSERT_EQ(decision.warnings.size(), 1u);
    EXPECT_NE(decision.warnings[0].find("'odd'"), std::string::npos);
}

TEST(NodeMargin, ForecasterFailureFallsBackToAllLocal) {
    const FailingForecaster forecaster({NodeType::Mid});
    Snapshot snapshot = own_node({{"figlet", 150.0}});
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet"}, 80.0);
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    ASSERT_TRUE(decision.degraded.has_value());
    EXPECT_NE(decision.degraded->find("forecaster service down"), std::string::npos);
    EXPECT_EQ(decision.policies->at("figlet"), FunctionPolicy::all_local());
    ASSERT_NE(margin_message(decision), nullptr);
    EXPECT_EQ(*margin_message(decision), NmsMargin{});  // take nothing from me meanwhile
}

TEST(NodeMargin, ForecasterFailureDuringOffloadFallsBackToAllLocal) {
    const FailingForecaster forecaster({NodeType::Heavy});  // only the neighbour's forecasts fail
    Snapshot snapshot = own_node({{"figlet", 150.0}});
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet"}, 80.0);
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    EXPECT_TRUE(decision.degraded.has_value());
    EXPECT_EQ(decision.policies->at("figlet"), FunctionPolicy::all_local());
}

TEST(NodeMargin, LoopStopsAtTheIterationBound) {
    const StuckForecaster forecaster;
    Snapshot snapshot = own_node({{"figlet", 150.0}});
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet"}, 80.0);
    const Decision decision = NodeMarginStrategy(forecaster).decide(snapshot);
    EXPECT_TRUE(decision.nms->step_limit_reached);
    EXPECT_EQ(decision.nms->accepted_steps, kNmsMaxIterations);
    ASSERT_EQ(decision.warnings.size(), 1u);
    EXPECT_EQ(decision.policies->at("figlet").local, 0u);
    EXPECT_EQ(decision.policies->at("figlet").peers.at(ip("10.0.0.2")), 100u);
}

TEST(NodeMargin, FunctionsOnlyPeersRunGetNoPolicy) {
    const LinearForecaster forecaster;
    Snapshot snapshot = own_node({{"figlet", 150.0}});
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"figlet", "nmap"}, 80.0);
    EXPECT_EQ(NodeMarginStrategy(forecaster).decide(snapshot).policies->count("nmap"), 0u);
}

TEST(NodeMargin, OnlyCommonFunctionsAreForwarded) {
    const LinearForecaster forecaster;
    Snapshot snapshot = own_node({{"figlet", 150.0}, {"shasum", 50.0}});
    add_neighbour(snapshot, "node-a", "10.0.0.2", {"shasum"}, 5.0);
    const auto policies = *NodeMarginStrategy(forecaster).decide(snapshot).policies;
    EXPECT_EQ(policies.at("figlet"), FunctionPolicy::all_local());
    EXPECT_GT(policies.at("shasum").peers.at(ip("10.0.0.2")), 0u);
}

}  // namespace
}  // namespace dfaas::strategy
