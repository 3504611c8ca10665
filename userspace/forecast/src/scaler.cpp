#include "dfaas/forecast/scaler.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "dfaas/forecast/lightgbm.h"

namespace dfaas::forecast {

namespace {

using Json = nlohmann::json;

class ScalerReader {
  public:
    explicit ScalerReader(std::string_view source) : source_(source) {}

    [[noreturn]] void fail(const std::string &path, const std::string &what) const {
        throw ModelError(std::string(source_) + ": " + path + ": " + what);
    }

    const Json &member(const Json &object, const std::string &path, const std::string &key) const {
        if (!object.is_object()) fail(path, "expected an object");
        auto found = object.find(key);
        if (found == object.end()) fail(path + "." + key, "missing");
        return *found;
    }

    double number(const Json &value, const std::string &path) const {
        if (!value.is_number() || !std::isfinite(value.get<double>()))
            fail(path, "expected a finite number");
        return value.get<double>();
    }

    std::vector<double> numbers(const Json &value, const std::string &path, size_t count) const {
        if (!value.is_array() || value.size() != count)
            fail(path, "expected an array of " + std::to_string(count) + " numbers");
        std::vector<double> result;
        for (size_t i = 0; i < count; ++i)
            result.push_back(number(value[i], path + "[" + std::to_string(i) + "]"));
        return result;
    }

    // feature_range is optional ([0, 1] by default) and must be increasing.
    std::pair<double, double> range(const Json &object, const std::string &path) const {
        if (!object.contains("feature_range")) return {0.0, 1.0};
        const auto bounds = numbers(object["feature_range"], path + ".feature_range", 2);
        if (!(bounds[0] < bounds[1])) fail(path + ".feature_range", "must be increasing");
        return {bounds[0], bounds[1]};
    }

    MinMaxScaler target(const Json &targets, const std::string &name) const {
        const std::string path = "targets." + name;
        const Json &object = member(targets, "targets", name);
        const double low = number(member(object, path, "data_min"), path + ".data_min");
        const double high = number(member(object, path, "data_max"), path + ".data_max");
        const auto [from, to] = range(object, path);
        return MinMaxScaler::fit(low, high, from, to);
    }

    std::array<MinMaxScaler, 4> features(const Json &features) const {
        if (features.contains("names")) {
            const Json &names = features["names"];
            for (size_t i = 0; i < kFeatureNames.size(); ++i)
                if (!names.is_array() || names.size() != kFeatureNames.size() ||
                    !names[i].is_string() || names[i].get<std::string>() != kFeatureNames[i])
                    fail("features.names",
                         "expected [rate_group_HIGH_USAGE, rate_group_LOW_USAGE, "
                         "rate_group_MEDIUM_USAGE, node_type]");
        }
        const auto low = numbers(member(features, "features", "data_min"), "features.data_min", 4);
        const auto high = numbers(member(features, "features", "data_max"), "features.data_max", 4);
        const auto [from, to] = range(features, "features");
        std::array<MinMaxScaler, 4> scalers;
        for (size_t i = 0; i < scalers.size(); ++i)
            scalers[i] = MinMaxScaler::fit(low[i], high[i], from, to);
        return scalers;
    }

  private:
    std::string_view source_;
};

}  // namespace

MinMaxScaler MinMaxScaler::fit(double data_min, double data_max, double range_min,
                               double range_max) {
    double data_range = data_max - data_min;
    // scikit-learn's _handle_zeros_in_scale: a (near) constant feature is not scaled.
    if (std::abs(data_range) < 10.0 * std::numeric_limits<double>::epsilon()) data_range = 1.0;
    MinMaxScaler scaler;
    scaler.scale = (range_max - range_min) / data_range;
    scaler.offset = range_min - data_min * scaler.scale;
    return scaler;
}

ForecastScalers ForecastScalers::parse(std::string_view json_text, std::string_view source) {
    const ScalerReader reader(source);
    Json root;
    try {
        root = Json::parse(json_text);
    } catch (const Json::parse_error &error) {
        reader.fail("(document)", std::string("invalid JSON: ") + error.what());
    }
    ForecastScalers scalers;
    scalers.features = reader.features(reader.member(root, "(document)", "features"));
    const Json &targets = reader.member(root, "(document)", "targets");
    scalers.cpu = reader.target(targets, "cpu_usage_node");
    scalers.ram = reader.target(targets, "ram_usage_node");
    scalers.power = reader.target(targets, "power_usage_node");
    return scalers;
}

ForecastScalers ForecastScalers::load(const std::filesystem::path &path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw ModelError(path.string() + ": cannot open");
    std::ostringstream content;
    content << file.rdbuf();
    return parse(content.str(), path.string());
}

}  // namespace dfaas::forecast
