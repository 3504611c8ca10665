// The feedback guard's keys (strategy.guard.*, issue 19): defaults, values reaching the Config,
// each range enforced at its ends (the limit accepted, one step beyond refused, naming the key).
#include <gtest/gtest.h>

#include "dfaas/config/config_keys.h"
#include "test_support.h"

namespace {

struct Range {
    std::string path;
    std::string lowest, below, highest, above;  // accepted, refused, accepted, refused
    std::string error;                          // fragment of both refusals
};

TEST(FeedbackGuardKeys, Defaults) {
    dfaas::Config config = load_ok(kMinimalYaml);
    EXPECT_TRUE(config.strategy.guard.enabled);
    EXPECT_DOUBLE_EQ(config.strategy.guard.error_ratio, 0.5);
    EXPECT_EQ(config.strategy.guard.min_responses, 5u);
    EXPECT_EQ(config.strategy.guard.ticks, 2u);
}

TEST(FeedbackGuardKeys, ValuesReachTheConfig) {
    dfaas::Config config = load_ok(kMinimalYaml +
                                   "strategy:\n  guard:\n    enabled: false\n"
                                   "    error_ratio: 0.25\n    min_responses: 20\n    ticks: 3\n");
    EXPECT_FALSE(config.strategy.guard.enabled);
    EXPECT_DOUBLE_EQ(config.strategy.guard.error_ratio, 0.25);
    EXPECT_EQ(config.strategy.guard.min_responses, 20u);
    EXPECT_EQ(config.strategy.guard.ticks, 3u);
    dfaas::Config from_env = load_ok(kMinimalYaml, {{"DFAAS_STRATEGY_GUARD_ENABLED", "false"},
                                                    {"DFAAS_STRATEGY_GUARD_ERROR_RATIO", "0.9"}});
    EXPECT_FALSE(from_env.strategy.guard.enabled);
    EXPECT_DOUBLE_EQ(from_env.strategy.guard.error_ratio, 0.9);
}

TEST(FeedbackGuardKeys, EachEndIsAcceptedAndOneStepBeyondIsRefusedNamingTheKey) {
    const std::vector<Range> ranges{
        {"strategy.guard.error_ratio", "0", "-0.01", "1", "1.01", "is out of range 0..1"},
        {"strategy.guard.min_responses", "1", "0", "1000000", "1000001",
         "is out of range 1..1000000"},
        {"strategy.guard.ticks", "1", "0", "60", "61", "is out of range 1..60"},
    };
    for (const auto &r : ranges) {
        const std::string variable = dfaas::generic_env_name(r.path);
        for (const auto &good : {r.lowest, r.highest}) {
            auto result = load_yaml(kMinimalYaml, {{variable, good}});
            EXPECT_TRUE(result.ok()) << r.path << "=" << good << all_errors(result);
        }
        for (const auto &bad : {r.below, r.above})
            EXPECT_TRUE(has_error(load_yaml(kMinimalYaml, {{variable, bad}}), r.path,
                                  {r.error, "env " + variable}))
                << r.path << "=" << bad;
    }
}

TEST(FeedbackGuardKeys, NotANumberOrABooleanIsRefusedNamingTheKey) {
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml, {{"DFAAS_STRATEGY_GUARD_ERROR_RATIO", "half"}}),
                          "strategy.guard.error_ratio", {"is not a number in 0..1"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml, {{"DFAAS_STRATEGY_GUARD_ENABLED", "maybe"}}),
                          "strategy.guard.enabled", {"is not a boolean"}));
    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml, {{"DFAAS_STRATEGY_GUARD_TICKS", "2.5"}}),
                          "strategy.guard.ticks", {"is not a whole number in 1..60"}));
}

}  // namespace
