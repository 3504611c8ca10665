// The reference forecaster's min-max scalers (scikit-learn MinMaxScaler), read from scalers.json.
#pragma once

#include <array>
#include <filesystem>
#include <string_view>

namespace dfaas::forecast {

// scikit-learn's arithmetic exactly (scale_ and min_), so that scaled features land on the same
// side of every split threshold as in the reference. Values are not clipped.
struct MinMaxScaler {
    double scale = 1.0;   // sklearn scale_
    double offset = 0.0;  // sklearn min_

    // A zero data range scales by 1, as scikit-learn.
    static MinMaxScaler fit(double data_min, double data_max, double range_min = 0.0,
                            double range_max = 1.0);
    double transform(double value) const { return value * scale + offset; }
    double inverse(double scaled) const { return (scaled - offset) / scale; }
};

// Feature order of the models: rate_group_HIGH_USAGE, rate_group_LOW_USAGE,
// rate_group_MEDIUM_USAGE, node_type.
inline constexpr std::array<std::string_view, 4> kFeatureNames{
    "rate_group_HIGH_USAGE", "rate_group_LOW_USAGE", "rate_group_MEDIUM_USAGE", "node_type"};

struct ForecastScalers {
    std::array<MinMaxScaler, 4> features;
    MinMaxScaler cpu;
    MinMaxScaler ram;
    MinMaxScaler power;

    // Throws ModelError naming the source and the JSON path of the first problem.
    static ForecastScalers parse(std::string_view json_text, std::string_view source);
    static ForecastScalers load(const std::filesystem::path &path);
};

}  // namespace dfaas::forecast
