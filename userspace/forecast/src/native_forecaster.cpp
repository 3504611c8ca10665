#include "dfaas/forecast/native_forecaster.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

namespace dfaas::forecast {

namespace {

constexpr size_t kFeatures = kFeatureNames.size();
constexpr size_t kMemoCapacity = size_t{1} << 15;
// A memo key packs 16 bits per feature: the interval index, a zero flag, a NaN code.
constexpr uint64_t kNaNCode = 0x8000;
constexpr uint64_t kZeroFlag = 0x4000;
constexpr size_t kMaxIntervals = 0x4000;
constexpr double kZeroThreshold = static_cast<double>(1e-35f);  // LightGBM's, see lightgbm.cpp

void require_features(const TreeEnsemble &model, std::string_view metric) {
    if (model.num_features() != kFeatures)
        throw ModelError("model " + std::string(metric) + " takes " +
                         std::to_string(model.num_features()) + " features, expected " +
                         std::to_string(kFeatures));
}

void require_rate(double rate, strategy::Group group) {
    if (!std::isfinite(rate) || rate < 0.0)
        throw strategy::ForecastError("forecast: rate of " + std::string(to_string(group)) +
                                      " must be a finite number >= 0, got " + std::to_string(rate));
}

}  // namespace

Variant parse_variant(std::string_view name) {
    if (auto variant = parse_forecaster_variant(name)) return *variant;
    throw strategy::ForecastError("unknown forecaster model variant '" + std::string(name) +
                                  "'; valid: regression, quantile005, quantile095");
}

double round_to_cents(double value) {
    return std::nearbyint(value * 100.0) / 100.0;
}

NativeForecaster NativeForecaster::load(const std::filesystem::path &directory, Variant variant) {
    auto model = [&](std::string_view metric) {
        return TreeEnsemble::load(
            directory / (std::string(metric) + "." + std::string(to_string(variant)) + ".txt"));
    };
    // One statement each: the files load (and fail) in a defined order.
    ForecastScalers scalers = ForecastScalers::load(directory / "scalers.json");
    TreeEnsemble cpu = model("cpu_usage_node");
    TreeEnsemble ram = model("ram_usage_node");
    TreeEnsemble power = model("power_usage_node");
    return NativeForecaster(scalers, std::move(cpu), std::move(ram), std::move(power));
}

NativeForecaster::NativeForecaster(ForecastScalers scalers, TreeEnsemble cpu, TreeEnsemble ram,
                                   TreeEnsemble power)
    : scalers_(scalers), cpu_(std::move(cpu)), ram_(std::move(ram)), power_(std::move(power)) {
    require_features(cpu_, "cpu_usage_node");
    require_features(ram_, "ram_usage_node");
    require_features(power_, "power_usage_node");
    for (size_t feature = 0; feature < kFeatures; ++feature) {
        auto &values = splits_[feature];
        for (const TreeEnsemble *model : {&cpu_, &ram_, &power_}) {
            const auto more = model->split_values(feature);
            values.insert(values.end(), more.begin(), more.end());
        }
        std::sort(values.begin(), values.end());
        values.erase(std::unique(values.begin(), values.end()), values.end());
    }
}

NativeForecaster::Features NativeForecaster::scaled_features(const strategy::GroupLoad &load,
                                                             NodeType type) const {
    using strategy::Group;
    for (Group group : {Group::High, Group::Low, Group::Medium})
        require_rate(load[group], group);
    const Features raw{load.high, load.low, load.medium,
                       static_cast<double>(static_cast<int>(type))};
    Features scaled{};
    for (size_t i = 0; i < kFeatures; ++i)
        scaled[i] = scalers_.features[i].transform(raw[i]);
    return scaled;
}

std::optional<uint64_t> NativeForecaster::memo_key(const Features &scaled) const {
    uint64_t key = 0;
    for (size_t feature = 0; feature < kFeatures; ++feature) {
        const auto &splits = splits_[feature];
        if (splits.size() >= kMaxIntervals) return std::nullopt;
        const double value = scaled[feature];
        uint64_t code = kNaNCode;  // every NaN takes the same path
        if (!std::isnan(value)) {
            // The trees test value <= threshold: the count of thresholds below the value decides.
            code = static_cast<uint64_t>(std::lower_bound(splits.begin(), splits.end(), value) -
                                         splits.begin());
            if (value >= -kZeroThreshold && value <= kZeroThreshold) code |= kZeroFlag;
        }
        key |= code << (16 * feature);
    }
    return key;
}

strategy::Prediction NativeForecaster::evaluate(const Features &scaled) const {
    return {scalers_.cpu.inverse(cpu_.predict(scaled)), scalers_.ram.inverse(ram_.predict(scaled)),
            scalers_.power.inverse(power_.predict(scaled))};
}

strategy::Prediction NativeForecaster::predict_unrounded(const strategy::GroupLoad &load,
                                                         NodeType type) const {
    const Features scaled = scaled_features(load, type);
    const auto key = memo_key(scaled);
    if (!key || !memo_) return evaluate(scaled);
    {
        std::lock_guard lock(memo_->mutex);
        auto found = memo_->predictions.find(*key);
        if (found != memo_->predictions.end()) return found->second;
    }
    const strategy::Prediction prediction = evaluate(scaled);
    std::lock_guard lock(memo_->mutex);
    if (memo_->predictions.size() >= kMemoCapacity) memo_->predictions.clear();
    memo_->predictions.emplace(*key, prediction);
    return prediction;
}

strategy::Prediction NativeForecaster::predict_without_memo(const strategy::GroupLoad &load,
                                                            NodeType type) const {
    const auto exact = evaluate(scaled_features(load, type));
    return {round_to_cents(exact.cpu), round_to_cents(exact.ram), round_to_cents(exact.power)};
}

void NativeForecaster::clear_memo() const {
    if (!memo_) return;
    std::lock_guard lock(memo_->mutex);
    memo_->predictions.clear();
}

strategy::Prediction NativeForecaster::predict(const strategy::GroupLoad &load,
                                               NodeType type) const {
    const auto exact = predict_unrounded(load, type);
    return {round_to_cents(exact.cpu), round_to_cents(exact.ram), round_to_cents(exact.power)};
}

}  // namespace dfaas::forecast
