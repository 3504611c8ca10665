// The forecaster of the reference service, evaluated in-process.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>
#include <string_view>

#include "dfaas/forecast/lightgbm.h"
#include "dfaas/forecast/scaler.h"
#include "dfaas/strategy/forecaster.h"

namespace dfaas::forecast {

// The model variants the reference ships: one type with the agent's configuration.
using Variant = ForecasterVariant;

// "regression", "quantile005", "quantile095"; throws ForecastError listing them otherwise.
Variant parse_variant(std::string_view name);

// numpy.round(value, 2): value·100 rounded half to even, divided by 100.
double round_to_cents(double value);

class NativeForecaster final : public strategy::Forecaster {
  public:
    // Loads <directory>/{cpu,ram,power}_usage_node.<variant>.txt and <directory>/scalers.json.
    // Throws ModelError naming the file on any problem.
    static NativeForecaster load(const std::filesystem::path &directory, Variant variant);

    // Each model must take the 4 features of kFeatureNames (ModelError otherwise).
    NativeForecaster(ForecastScalers scalers, TreeEnsemble cpu, TreeEnsemble ram,
                     TreeEnsemble power);

    // Rounded to 2 decimals like the reference service. Throws ForecastError on a negative or
    // non-finite rate.
    strategy::Prediction predict(const strategy::GroupLoad &load, NodeType type) const override;
    // The same prediction before rounding.
    strategy::Prediction predict_unrounded(const strategy::GroupLoad &load, NodeType type) const;
    // The rounded prediction evaluated from the trees, bypassing the memo (tests and benchmarks
    // compare the two).
    strategy::Prediction predict_without_memo(const strategy::GroupLoad &load, NodeType type) const;
    // Forgets the memoized predictions (a benchmark measures a cold decision with it).
    void clear_memo() const;

  private:
    using Features = std::array<double, kFeatureNames.size()>;

    // Predictions memoized by the interval of every scaled feature between the models' split
    // thresholds: inputs with the same key take the same path in every tree, so a hit is exactly
    // the prediction a new evaluation would give. Node Margin's 1 % steps mostly stay inside
    // one interval. Shared between threads, hence the mutex; cleared when full.
    struct Memo {
        std::mutex mutex;
        std::unordered_map<uint64_t, strategy::Prediction> predictions;
    };

    Features scaled_features(const strategy::GroupLoad &load, NodeType type) const;
    std::optional<uint64_t> memo_key(const Features &scaled) const;
    strategy::Prediction evaluate(const Features &scaled) const;

    ForecastScalers scalers_;
    TreeEnsemble cpu_;
    TreeEnsemble ram_;
    TreeEnsemble power_;
    std::array<std::vector<double>, kFeatureNames.size()> splits_;  // all three models, ascending
    std::unique_ptr<Memo> memo_ = std::make_unique<Memo>();
};

}  // namespace dfaas::forecast
