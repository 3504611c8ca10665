// Input validation: a bad snapshot is a clear error, never a decision.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "dfaas/strategy/error.h"
#include "dfaas/strategy/strategies.h"
#include "support.h"

namespace dfaas::strategy {
namespace {

using testing::make_snapshot;

Snapshot valid() {
    Snapshot snapshot = make_snapshot("me", StrategyKind::StaticWeights);
    snapshot.functions = {testing::with_max_rate("figlet", 10)};
    snapshot.user_rates = {{"figlet", 3.0}};
    return snapshot;
}

// The message of validate(), or "" when valid.
std::string problem(const Snapshot &snapshot) {
    try {
        validate(snapshot);
    } catch (const Error &error) {
        return error.what();
    }
    return "";
}

TEST(SnapshotValidation, ValidSnapshotPasses) {
    EXPECT_EQ(problem(valid()), "");
}

TEST(SnapshotValidation, NaNOrNegativeRatesAreRejected) {
    Snapshot snapshot = valid();
    snapshot.user_rates["figlet"] = std::nan("");
    EXPECT_NE(problem(snapshot).find("user rate of 'figlet'"), std::string::npos);
    snapshot.user_rates["figlet"] = -0.5;
    EXPECT_NE(problem(snapshot).find("user rate of 'figlet'"), std::string::npos);
    snapshot.user_rates["figlet"] = std::numeric_limits<double>::infinity();
    EXPECT_NE(problem(snapshot).find("user rate of 'figlet'"), std::string::npos);
}

TEST(SnapshotValidation, NaNNegativeOrZeroThresholdsAreRejected) {
    for (double bad : {std::nan(""), -1.0, 0.0}) {
        Snapshot snapshot = valid();
        snapshot.thresholds.ram = bad;
        EXPECT_NE(problem(snapshot).find("ram threshold"), std::string::npos) << bad;
    }
}

TEST(SnapshotValidation, StructuralProblemsAreRejected) {
    Snapshot snapshot = valid();
    snapshot.period = Millis{0};
    EXPECT_NE(problem(snapshot).find("period"), std::string::npos);
    snapshot = valid();
    snapshot.functions.push_back(snapshot.functions[0]);
    EXPECT_NE(problem(snapshot).find("listed twice"), std::string::npos);
    snapshot = valid();
    snapshot.functions[0].name.clear();
    EXPECT_NE(problem(snapshot).find("empty name"), std::string::npos);
    snapshot = valid();
    snapshot.node_id = "other";
    EXPECT_NE(problem(snapshot).find("belongs to 'me'"), std::string::npos);
    snapshot = valid();
    snapshot.external.current.cpu_utilization = -1;
    EXPECT_NE(problem(snapshot).find("external.current.cpu_utilization"), std::string::npos);
    // Fractions of the observation: above 1 is a unit mistake (cores, rejects per second).
    snapshot = valid();
    snapshot.external.current.cpu_utilization = 1.5;
    EXPECT_NE(problem(snapshot).find("cpu_utilization must be a fraction"), std::string::npos);
    snapshot = valid();
    snapshot.external.previous.reject_rate = 3;
    EXPECT_NE(problem(snapshot).find("external.previous.reject_rate must be a fraction"),
              std::string::npos);
    snapshot = valid();
    snapshot.external.action = ExternalAction{1.5, 0, {}};
    EXPECT_NE(problem(snapshot).find("proportion"), std::string::npos);
}

TEST(SnapshotValidation, EveryStrategyRefusesAnInvalidSnapshot) {
    Snapshot snapshot = valid();
    snapshot.user_rates["figlet"] = -1;
    for (auto kind : {StrategyKind::AllLocal, StrategyKind::StaticWeights, StrategyKind::Recalc,
                      StrategyKind::External}) {
        EXPECT_THROW(make_strategy(kind)->decide(snapshot), Error) << to_string(kind);
    }
}

TEST(SnapshotValidation, RatesOfUnknownFunctionsAreIgnored) {
    Snapshot snapshot = valid();
    snapshot.user_rates["ghost"] = 5;
    EXPECT_EQ(problem(snapshot), "");
    EXPECT_EQ(StaticStrategy().decide(snapshot).policies->count("ghost"), 0u);
}

}  // namespace
}  // namespace dfaas::strategy
