#include "dfaas/forecast/scaler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "dfaas/forecast/lightgbm.h"

namespace dfaas::forecast {
namespace {

const std::filesystem::path kFixtures = DFAAS_FORECAST_FIXTURES;

std::string parse_error(const std::string &text) {
    try {
        ForecastScalers::parse(text, "scalers.json");
    } catch (const ModelError &error) {
        return error.what();
    }
    return "";
}

const char *kValid = R"({
  "features": {"names": ["rate_group_HIGH_USAGE", "rate_group_LOW_USAGE",
                         "rate_group_MEDIUM_USAGE", "node_type"],
               "data_min": [0, 0, 0, 0], "data_max": [90, 570, 200, 2], "feature_range": [0, 1]},
  "targets": {"cpu_usage_node": {"data_min": 57.733, "data_max": 475.848},
              "ram_usage_node": {"data_min": 10, "data_max": 20, "feature_range": [0, 1]},
              "power_usage_node": {"data_min": 5, "data_max": 5}}})";

TEST(MinMaxScaler, MatchesScikitLearnArithmetic) {
    const auto scaler = MinMaxScaler::fit(0.0, 90.0);
    EXPECT_EQ(scaler.scale, 1.0 / 90.0);
    EXPECT_EQ(scaler.transform(25.0), 25.0 * (1.0 / 90.0));
    EXPECT_DOUBLE_EQ(scaler.transform(180.0), 2.0);  // not clipped
    const auto shifted = MinMaxScaler::fit(10.0, 20.0, -1.0, 1.0);
    EXPECT_DOUBLE_EQ(shifted.transform(15.0), 0.0);
    EXPECT_DOUBLE_EQ(shifted.inverse(shifted.transform(17.5)), 17.5);
}

TEST(MinMaxScaler, ConstantFeatureIsNotScaled) {
    const auto scaler = MinMaxScaler::fit(5.0, 5.0);
    EXPECT_EQ(scaler.scale, 1.0);
    EXPECT_DOUBLE_EQ(scaler.transform(7.0), 2.0);
}

TEST(ForecastScalers, ParsesFeaturesAndTargets) {
    const auto scalers = ForecastScalers::parse(kValid, "scalers.json");
    EXPECT_DOUBLE_EQ(scalers.features[1].transform(285.0), 0.5);
    EXPECT_DOUBLE_EQ(scalers.features[3].transform(1.0), 0.5);
    EXPECT_DOUBLE_EQ(scalers.cpu.inverse(0.0), 57.733);
    EXPECT_DOUBLE_EQ(scalers.cpu.inverse(1.0), 475.848);
    EXPECT_DOUBLE_EQ(scalers.ram.inverse(0.5), 15.0);
}

TEST(ForecastScalers, ErrorsNameTheProblem) {
    EXPECT_NE(parse_error("{").find("invalid JSON"), std::string::npos);
    EXPECT_NE(parse_error("[]").find("expected an object"), std::string::npos);
    std::string text = kValid;
    text.replace(text.find("\"node_type\""), 11, "\"other\"");
    EXPECT_NE(parse_error(text).find("features.names"), std::string::npos);
    text = kValid;
    text.replace(text.find("\"power_usage_node\""), 18, "\"power\"");
    EXPECT_NE(parse_error(text).find("targets.power_usage_node: missing"), std::string::npos);
    text = kValid;
    text.replace(text.find("[0, 1]"), 6, "[1, 0]");  // the features' range comes first
    EXPECT_NE(parse_error(text).find("features.feature_range: must be increasing"),
              std::string::npos);
}

TEST(ForecastScalers, WrongLengthFixtureIsRejected) {
    try {
        ForecastScalers::load(kFixtures / "scalers_wrong_length.json");
        FAIL() << "loaded without error";
    } catch (const ModelError &error) {
        const std::string message = error.what();
        EXPECT_NE(message.find("scalers_wrong_length.json"), std::string::npos) << message;
        EXPECT_NE(message.find("features.data_max: expected an array of 4 numbers"),
                  std::string::npos)
            << message;
    }
}

}  // namespace
}  // namespace dfaas::forecast
