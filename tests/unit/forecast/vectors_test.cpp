// The native forecaster against every public vector of the reference models.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <nlohmann/json.hpp>

#include "dfaas/forecast/native_forecaster.h"
#include "forecaster_data.h"

namespace dfaas::forecast {
namespace {

using strategy::GroupLoad;

constexpr double kTolerance = 0.01;

TEST(RoundToCents, RoundsHalfToEvenLikeNumpy) {
    EXPECT_DOUBLE_EQ(round_to_cents(135.784), 135.78);
    EXPECT_DOUBLE_EQ(round_to_cents(135.786), 135.79);
    EXPECT_DOUBLE_EQ(round_to_cents(0.125), 0.12);  // 12.5 -> 12
    EXPECT_DOUBLE_EQ(round_to_cents(0.375), 0.38);  // 37.5 -> 38
    EXPECT_DOUBLE_EQ(round_to_cents(4136005981.3249), 4136005981.32);
}

TEST(Variant, ParsesTheThreeNames) {
    EXPECT_EQ(parse_variant("regression"), Variant::Regression);
    EXPECT_EQ(parse_variant("quantile005"), Variant::Quantile005);
    EXPECT_EQ(parse_variant("quantile095"), Variant::Quantile095);
    EXPECT_THROW(parse_variant("quantile050"), strategy::ForecastError);
}

TEST(NativeForecaster, MatchesEveryReferenceVector) {
    const auto directory = testing::forecaster_data_dir();
    if (!directory) GTEST_SKIP() << testing::forecaster_data_missing_message();
    std::ifstream file(*directory / "vectors.json");
    const auto vectors = nlohmann::json::parse(file).at("vectors");
    ASSERT_FALSE(vectors.empty());

    size_t checked = 0;
    for (Variant variant : {Variant::Regression, Variant::Quantile005, Variant::Quantile095}) {
        const auto forecaster = NativeForecaster::load(*directory, variant);
        const std::string name(to_string(variant));
        for (const auto &vector : vectors) {
            if (!vector.contains(name)) continue;
            const auto &input = vector.at("input");
            const GroupLoad load{input.at("rate_group_HIGH_USAGE").get<double>(),
                                 input.at("rate_group_LOW_USAGE").get<double>(),
                                 input.at("rate_group_MEDIUM_USAGE").get<double>()};
            const auto type = static_cast<NodeType>(input.at("node_type").get<int>());
            const auto predicted = forecaster.predict(load, type);
            const auto &expected = vector.at(name);
            SCOPED_TRACE(name + " " + input.dump());
            EXPECT_NEAR(predicted.cpu, expected.at("cpu_usage_node").get<double>(), kTolerance);
            EXPECT_NEAR(predicted.ram, expected.at("ram_usage_node").get<double>(), kTolerance);
            EXPECT_NEAR(predicted.power, expected.at("power_usage_node").get<double>(), kTolerance);
            ++checked;
        }
    }
    EXPECT_GE(checked, vectors.size());  // every vector has at least its regression outputs
}

TEST(NativeForecaster, QuantilesBracketTheRegression) {
    const auto directory = testing::forecaster_data_dir();
    if (!directory) GTEST_SKIP() << testing::forecaster_data_missing_message();
    const auto low = NativeForecaster::load(*directory, Variant::Quantile005);
    const auto mid = NativeForecaster::load(*directory, Variant::Regression);
    const auto high = NativeForecaster::load(*directory, Variant::Quantile095);
    const GroupLoad load{0, 200, 0};
    EXPECT_LT(low.predict(load, NodeType::Mid).cpu, mid.predict(load, NodeType::Mid).cpu);
    EXPECT_LT(mid.predict(load, NodeType::Mid).cpu, high.predict(load, NodeType::Mid).cpu);
}

TEST(NativeForecaster, MemoizedPredictionsEqualFreshEvaluations) {
    const auto directory = testing::forecaster_data_dir();
    if (!directory) GTEST_SKIP() << testing::forecaster_data_missing_message();
    const auto forecaster = NativeForecaster::load(*directory, Variant::Regression);
    std::mt19937 random(7);
    std::uniform_real_distribution<double> rate(0.0, 400.0);
    std::uniform_int_distribution<int> type(0, 2);
    // Nearby inputs (the offloading loop's 1 % steps) share memo entries; each must still give
    // exactly what a fresh evaluation gives.
    for (int i = 0; i < 3000; ++i) {
        GroupLoad load{rate(random) / 4, rate(random), rate(random) / 2};
        if (i % 3 == 0) load.low = 0.0;  // zero is a distinct case for the trees
        for (int step = 0; step < 5; ++step) {
            const auto node = static_cast<NodeType>(type(random));
            EXPECT_EQ(forecaster.predict(load, node), forecaster.predict_without_memo(load, node));
            load.low *= 0.99;
        }
    }
    forecaster.clear_memo();
    const GroupLoad load{1, 2, 3};
    EXPECT_EQ(forecaster.predict(load, NodeType::Mid),
              forecaster.predict_without_memo(load, NodeType::Mid));
}

TEST(NativeForecaster, RejectsInvalidRates) {
    const auto directory = testing::forecaster_data_dir();
    if (!directory) GTEST_SKIP() << testing::forecaster_data_missing_message();
    const auto forecaster = NativeForecaster::load(*directory, Variant::Regression);
    EXPECT_THROW(forecaster.predict({-1, 0, 0}, NodeType::Mid), strategy::ForecastError);
    EXPECT_THROW(forecaster.predict({0, std::nan(""), 0}, NodeType::Mid), strategy::ForecastError);
}

TEST(NativeForecaster, MissingDirectoryIsAModelError) {
    try {
        NativeForecaster::load("/nonexistent/forecaster", Variant::Regression);
        FAIL() << "loaded without error";
    } catch (const ModelError &error) {
        EXPECT_NE(std::string(error.what()).find("/nonexistent/forecaster/scalers.json"),
                  std::string::npos);
    }
}

TEST(NativeForecaster, ModelsWithTheWrongFeatureCountAreRejected) {
    const auto tiny =
        TreeEnsemble::load(std::filesystem::path(DFAAS_FORECAST_FIXTURES) / "tiny_valid.txt");
    EXPECT_THROW(NativeForecaster(ForecastScalers{}, tiny, tiny, tiny), ModelError);
}

}  // namespace
}  // namespace dfaas::forecast
