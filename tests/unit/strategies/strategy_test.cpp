// Strategy selection, factory and the multi-step decide().
#include "dfaas/strategy/strategy.h"

#include <gtest/gtest.h>

#include "dfaas/strategy/error.h"
#include "dfaas/strategy/strategies.h"
#include "support.h"

namespace dfaas::strategy {
namespace {

TEST(StrategyNames, CanonicalShortAndReferenceNamesParse) {
    EXPECT_EQ(select_strategy_kind("recalc"), StrategyKind::Recalc);
    EXPECT_EQ(select_strategy_kind("nodemargin"), StrategyKind::NodeMargin);
    EXPECT_EQ(select_strategy_kind("nms"), StrategyKind::NodeMargin);
    EXPECT_EQ(select_strategy_kind("static"), StrategyKind::StaticWeights);
    EXPECT_EQ(select_strategy_kind("alllocal"), StrategyKind::AllLocal);
    EXPECT_EQ(select_strategy_kind("external"), StrategyKind::External);
    EXPECT_EQ(select_strategy_kind("recalcstrategy"), StrategyKind::Recalc);
    EXPECT_EQ(select_strategy_kind("nodemarginstrategy"), StrategyKind::NodeMargin);
    EXPECT_EQ(select_strategy_kind("staticstrategy"), StrategyKind::StaticWeights);
    EXPECT_EQ(select_strategy_kind("alllocalstrategy"), StrategyKind::AllLocal);
    EXPECT_EQ(select_strategy_kind("rlagentstrategy"), StrategyKind::External);
    EXPECT_EQ(select_strategy_kind("NodeMarginStrategy"), StrategyKind::NodeMargin);
}

TEST(StrategyNames, UnknownNameListsTheValidOnes) {
    try {
        select_strategy_kind("fastest");
        FAIL() << "no error";
    } catch (const Error &error) {
        const std::string message = error.what();
        EXPECT_NE(message.find("'fastest'"), std::string::npos);
        for (auto name : valid_strategy_names())
            EXPECT_NE(message.find(std::string(name)), std::string::npos) << name;
    }
    EXPECT_THROW(select_strategy_kind(""), Error);  // the reference fell back to Recalc
}

TEST(StrategyNames, CanonicalNamesRoundTrip) {
    for (auto kind : {StrategyKind::AllLocal, StrategyKind::StaticWeights, StrategyKind::Recalc,
                      StrategyKind::NodeMargin, StrategyKind::External})
        EXPECT_EQ(select_strategy_kind(to_string(kind)), kind);
}

class ConstantForecaster final : public Forecaster {
  public:
    Prediction predict(const GroupLoad &, NodeType) const override { return {1, 1, 1}; }
};

TEST(MakeStrategy, BuildsEveryKindAndNodeMarginNeedsAForecaster) {
    const ConstantForecaster forecaster;
    for (auto kind : {StrategyKind::AllLocal, StrategyKind::StaticWeights, StrategyKind::Recalc,
                      StrategyKind::NodeMargin, StrategyKind::External})
        EXPECT_EQ(make_strategy(kind, &forecaster)->kind(), kind);
    EXPECT_THROW(make_strategy(StrategyKind::NodeMargin), Error);
}

TEST(MakeStrategy, SingleStepStrategiesRefuseOtherSteps) {
    const auto snapshot = testing::make_snapshot("me", StrategyKind::StaticWeights);
    for (auto kind : {StrategyKind::AllLocal, StrategyKind::StaticWeights, StrategyKind::External})
        EXPECT_THROW(make_strategy(kind)->step(snapshot, 1, nullptr), Error);
}

TEST(Decide, RecalcRunsBothStepsAndKeepsStepOneMessages) {
    auto snapshot = testing::make_snapshot("me", StrategyKind::Recalc);
    snapshot.functions = {testing::with_max_rate("f", 10)};
    snapshot.user_rates = {{"f", 12}};
    snapshot.peers.apply("p", testing::ip("10.0.0.2"), RecalcLimits{{{"f", 4}}}, testing::kNow);
    const Decision decision = RecalcStrategy().decide(snapshot);
    ASSERT_EQ(decision.messages.size(), 1u);
    EXPECT_EQ(decision.messages[0].to, "p");
    ASSERT_TRUE(decision.policies.has_value());
    EXPECT_EQ(decision.policies->at("f").overflow.at(testing::ip("10.0.0.2")), 100u);
    ASSERT_TRUE(decision.recalc_plan.has_value());
    EXPECT_EQ(RecalcStrategy().step_offsets(Millis{10000}),
              (std::vector<Millis>{Millis{0}, Millis{5000}}));
}

TEST(Decide, SameSnapshotSameDecision) {
    auto snapshot = testing::make_snapshot("me", StrategyKind::StaticWeights);
    snapshot.functions = {testing::function("f")};
    snapshot.peers.apply("p", testing::ip("10.0.0.2"), StaticInfo{{"f"}}, testing::kNow);
    EXPECT_EQ(StaticStrategy().decide(snapshot), StaticStrategy().decide(snapshot));
}

}  // namespace
}  // namespace dfaas::strategy
