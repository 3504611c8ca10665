// A native evaluator of LightGBM text models (the format Booster.save_model writes), so that Node
// Margin's many forecasts per period cost microseconds instead of HTTP round trips.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dfaas/strategy/forecaster.h"

namespace dfaas::forecast {

// A model or scaler file that cannot be used; the message names the file and, for model files,
// the line ("cpu.txt:17: ...").
class ModelError : public strategy::ForecastError {
  public:
    using strategy::ForecastError::ForecastError;
};

class TreeEnsemble {
  public:
    // Supported: one output (num_class=1), numerical splits with LightGBM's missing-value rules
    // (decision_type bits: default-left, missing type None/Zero/NaN), objectives without an output
    // transform (regression, regression_l1, huber, fair, quantile, mape), average_output.
    // Anything else (categorical splits, linear trees, multiclass, sigmoid/exp outputs) and any
    // malformed content throws ModelError naming the line.
    static TreeEnsemble parse(std::string_view text, std::string_view source = "<model>");
    static TreeEnsemble load(const std::filesystem::path &path);

    size_t num_features() const { return num_features_; }
    size_t num_trees() const { return roots_.size(); }
    const std::string &objective() const { return objective_; }

    // The raw score for one row (the sum of the trees' outputs). Throws ModelError when the row
    // does not have num_features() values. NaN is a missing value.
    double predict(std::span<const double> features) const;

    // The distinct thresholds the model compares `feature` with, ascending. Two rows between
    // the same consecutive thresholds of every feature (and alike in being zero or NaN) take the
    // same path in every tree.
    std::vector<double> split_values(size_t feature) const;

  private:
    friend class ModelParser;

    struct Node {
        double threshold = 0.0;
        // child[0] left, child[1] right: absolute indices into nodes_ (>= 0) or ~index into
        // leaves_ (< 0).
        std::array<int32_t, 2> child{};
        uint16_t feature = 0;
        uint8_t missing_type = 0;  // 0 none, 1 zero, 2 NaN
        bool default_left = false;
    };

    // Appends one parsed tree whose child indices are relative to the tree (LightGBM's
    // encoding); returns false when the ensemble would exceed 2^31 nodes or leaves.
    bool add_tree(std::vector<Node> nodes, const std::vector<double> &leaves);
    // One decision; without NaN among the features the NaN rules need no test per node.
    template <bool kMayHaveNaN>
    static int32_t next(const Node &node, std::span<const double> features);
    template <bool kMayHaveNaN>
    double sum_of_trees(std::span<const double> features) const;

    // The nodes of all trees in one array and their leaves in another: a prediction walks
    // contiguous memory.
    std::vector<Node> nodes_;
    std::vector<double> leaves_;
    std::vector<int32_t> roots_;  // per tree: its root node, or ~leaf for a single-leaf tree
    size_t num_features_ = 0;
    bool average_output_ = false;
    std::string objective_;
};

}  // namespace dfaas::forecast
