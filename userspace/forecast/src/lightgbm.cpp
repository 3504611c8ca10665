#include "dfaas/forecast/lightgbm.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

namespace dfaas::forecast {

namespace {

// LightGBM's kZeroThreshold: a float, compared as a double.
constexpr double kZeroThreshold = static_cast<double>(1e-35f);
constexpr uint8_t kCategoricalMask = 1;
constexpr uint8_t kDefaultLeftMask = 2;
enum MissingType : uint8_t { kMissingNone = 0, kMissingZero = 1, kMissingNaN = 2 };

struct Line {
    std::string_view text;
    size_t number = 0;
};

std::vector<Line> split_lines(std::string_view text) {
    std::vector<Line> lines;
    size_t number = 1;
    while (!text.empty()) {
        const size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back({line, number++});
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return lines;
}

std::vector<std::string_view> split_words(std::string_view text) {
    std::vector<std::string_view> words;
    size_t start = 0;
    while (start < text.size()) {
        const size_t end = text.find(' ', start);
        const size_t stop = end == std::string_view::npos ? text.size() : end;
        if (stop > start) words.push_back(text.substr(start, stop - start));
        start = stop + 1;
    }
    return words;
}

// A key=value line of the header or of a tree.
struct Field {
    std::string_view value;
    size_t line = 0;
};

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

// Reads one model text, line by line, keeping line numbers for every error.
class ModelParser {
    struct ParsedTree {
        std::vector<TreeEnsemble::Node> nodes;  // children relative to the tree
        std::vector<double> leaves;
    };

  public:
    ModelParser(std::string_view text, std::string_view source)
        : lines_(split_lines(text)), source_(source) {}

    TreeEnsemble parse() {
        TreeEnsemble model;
        expect_magic();
        expect_complete();
        const auto header = read_block();
        read_header(header, model);
        while (position_ < lines_.size() && starts_with(lines_[position_].text, "Tree=")) {
            const Line tree_line = lines_[position_++];
            check_tree_index(tree_line, model.num_trees());
            ParsedTree tree = read_tree(read_block(), tree_line, model.num_features_);
            if (!model.add_tree(std::move(tree.nodes), tree.leaves))
                fail(tree_line.number, "the model has more than 2^31 nodes or leaves");
        }
        expect_end_of_trees(model);
        return model;
    }

  private:
    [[noreturn]] void fail(size_t line, const std::string &what) const {
        throw ModelError(std::string(source_) + ":" + std::to_string(line) + ": " + what);
    }

    size_t last_line() const { return lines_.empty() ? 1 : lines_.back().number; }

    void skip_empty() {
        while (position_ < lines_.size() && lines_[position_].text.empty())
            ++position_;
    }

    void expect_magic() {
        skip_empty();
        if (position_ == lines_.size() || lines_[position_].text != "tree")
            fail(position_ == lines_.size() ? last_line() : lines_[position_].number,
                 "not a LightGBM text model (expected the line 'tree')");
        ++position_;
    }

    // A file cut short (partial copy or download) is the most likely defect: say so first.
    void expect_complete() const {
        const bool complete = std::any_of(lines_.begin(), lines_.end(), [](const Line &line) {
            return line.text == "end of trees";
        });
        if (!complete) fail(last_line(), "truncated model: no 'end of trees' line");
    }

    // key=value lines up to an empty line, a "Tree=" line or "end of trees". A line without '='
    // is a flag (e.g. average_output) with an empty value.
    std::map<std::string_view, Field> read_block() {
        std::map<std::string_view, Field> fields;
        skip_empty();
        for (; position_ < lines_.size(); ++position_) {
            const Line &line = lines_[position_];
            if (line.text.empty() || starts_with(line.text, "Tree=") || line.text == "end of trees")
                break;
            const size_t equals = line.text.find('=');
            const std::string_view key = line.text.substr(0, equals);
            const std::string_view value = equals == std::string_view::npos
                                               ? std::string_view{}
                                               : line.text.substr(equals + 1);
            if (!fields.emplace(key, Field{value, line.number}).second)
                fail(line.number, "duplicate key '" + std::string(key) + "'");
        }
        skip_empty();
        return fields;
    }

    template <class Number>
    Number number(const Field &field, std::string_view key, std::string_view text) const {
        Number value{};
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size())
            fail(field.line,
                 "'" + std::string(key) + "': '" + std::string(text) + "' is not a valid number");
        return value;
    }

    template <class Number>
    std::vector<Number> numbers(const Field &field, std::string_view key) const {
        std::vector<Number> values;
        for (auto word : split_words(field.value))
            values.push_back(number<Number>(field, key, word));
        return values;
    }

    const Field &required(const std::map<std::string_view, Field> &fields, std::string_view key,
                          size_t block_line) const {
        auto found = fields.find(key);
        if (found == fields.end()) fail(block_line, "missing '" + std::string(key) + "'");
        return found->second;
    }

    void read_header(const std::map<std::string_view, Field> &header, TreeEnsemble &model) {
        const size_t block = lines_.empty() ? 1 : lines_.front().number;
        if (auto found = header.find("num_class"); found != header.end())
            if (number<int>(found->second, "num_class", found->second.value) != 1)
                fail(found->second.line, "only single-output models are supported (num_class=" +
                                             std::string(found->second.value) + ")");
        if (auto found = header.find("num_tree_per_iteration"); found != header.end())
            if (number<int>(found->second, "num_tree_per_iteration", found->second.value) != 1)
                fail(found->second.line, "only one tree per iteration is supported");
        const Field &max_feature = required(header, "max_feature_idx", block);
        const int max_index = number<int>(max_feature, "max_feature_idx", max_feature.value);
        if (max_index < 0 || max_index > 65534)
            fail(max_feature.line, "max_feature_idx out of range: " + std::to_string(max_index));
        model.num_features_ = static_cast<size_t>(max_index) + 1;
        if (auto found = header.find("feature_names"); found != header.end())
            if (split_words(found->second.value).size() != model.num_features_)
                fail(found->second.line, "feature_names does not list max_feature_idx+1 names");
        read_objective(required(header, "objective", block), model);
        model.average_output_ = header.count("average_output") != 0;
        if (auto found = header.find("tree_sizes"); found != header.end())
            expected_trees_ = {split_words(found->second.value).size(), found->second.line};
    }

    void read_objective(const Field &field, TreeEnsemble &model) const {
        const auto words = split_words(field.value);
        if (words.empty()) fail(field.line, "empty objective");
        static const std::array<std::string_view, 6> kIdentityOutput{
            "regression", "regression_l1", "huber", "fair", "quantile", "mape"};
        const bool identity = std::find(kIdentityOutput.begin(), kIdentityOutput.end(), words[0]) !=
                              kIdentityOutput.end();
        const bool square_root = std::find(words.begin(), words.end(), "sqrt") != words.end();
        if (!identity || square_root)
            fail(field.line, "objective '" + std::string(field.value) +
                                 "' is not supported (its output needs a transform)");
        model.objective_ = std::string(words[0]);
    }

    void check_tree_index(const Line &line, size_t expected) const {
        const std::string_view index_text = line.text.substr(5);
        const Field field{index_text, line.number};
        if (number<size_t>(field, "Tree", index_text) != expected)
            fail(line.number, "expected Tree=" + std::to_string(expected));
    }

    ParsedTree read_tree(const std::map<std::string_view, Field> &fields, const Line &tree_line,
                         size_t num_features) const {
        const size_t block = tree_line.number;
        const Field &leaves_field = required(fields, "num_leaves", block);
        const int num_leaves = number<int>(leaves_field, "num_leaves", leaves_field.value);
        if (num_leaves < 1) fail(leaves_field.line, "num_leaves must be >= 1");
        reject_unsupported(fields);

        ParsedTree tree;
        const Field &leaf_values = required(fields, "leaf_value", block);
        tree.leaves = numbers<double>(leaf_values, "leaf_value");
        check_count(leaf_values, "leaf_value", tree.leaves.size(), static_cast<size_t>(num_leaves));
        for (double value : tree.leaves)
            if (!std::isfinite(value)) fail(leaf_values.line, "leaf_value is not finite");
        if (num_leaves > 1) read_splits(fields, block, num_leaves, num_features, tree);
        return tree;
    }

    void reject_unsupported(const std::map<std::string_view, Field> &fields) const {
        if (auto found = fields.find("num_cat"); found != fields.end())
            if (number<int>(found->second, "num_cat", found->second.value) != 0)
                fail(found->second.line, "categorical splits are not supported");
        if (auto found = fields.find("is_linear"); found != fields.end())
            if (number<int>(found->second, "is_linear", found->second.value) != 0)
                fail(found->second.line, "linear trees are not supported");
    }

    void check_count(const Field &field, std::string_view key, size_t got, size_t wanted) const {
        if (got != wanted)
            fail(field.line, "'" + std::string(key) + "' has " + std::to_string(got) +
                                 " values, expected " + std::to_string(wanted));
    }

    void read_splits(const std::map<std::string_view, Field> &fields, size_t block, int num_leaves,
                     size_t num_features, ParsedTree &tree) const {
        const size_t internal = static_cast<size_t>(num_leaves) - 1;
        const Field &features = required(fields, "split_feature", block);
        const Field &thresholds = required(fields, "threshold", block);
        const Field &types = required(fields, "decision_type", block);
        const Field &lefts = required(fields, "left_child", block);
        const Field &rights = required(fields, "right_child", block);
        const auto feature = numbers<int>(features, "split_feature");
        const auto threshold = numbers<double>(thresholds, "threshold");
        const auto decision = numbers<int>(types, "decision_type");
        const auto left = numbers<int32_t>(lefts, "left_child");
        const auto right = numbers<int32_t>(rights, "right_child");
        check_count(features, "split_feature", feature.size(), internal);
        check_count(thresholds, "threshold", threshold.size(), internal);
        check_count(types, "decision_type", decision.size(), internal);
        check_count(lefts, "left_child", left.size(), internal);
        check_count(rights, "right_child", right.size(), internal);

        tree.nodes.resize(internal);
        for (size_t i = 0; i < internal; ++i) {
            auto &node = tree.nodes[i];
            const std::string at = " at node " + std::to_string(i);
            if (feature[i] < 0 || static_cast<size_t>(feature[i]) >= num_features)
                fail(features.line, "split_feature " + std::to_string(feature[i]) + at +
                                        " is not a feature of the model");
            if (std::isnan(threshold[i])) fail(thresholds.line, "threshold is NaN" + at);
            if (decision[i] < 0 || decision[i] > 255)
                fail(types.line, "decision_type out of range" + at);
            const auto bits = static_cast<uint8_t>(decision[i]);
            if (bits & kCategoricalMask)
                fail(types.line, "categorical splits are not supported" + at);
            const auto missing = static_cast<uint8_t>((bits >> 2) & 3);
            if (missing > kMissingNaN) fail(types.line, "unknown missing-value type" + at);
            node.feature = static_cast<uint16_t>(feature[i]);
            node.threshold = threshold[i];
            node.missing_type = missing;
            node.default_left = (bits & kDefaultLeftMask) != 0;
            node.child = {left[i], right[i]};
        }
        check_structure(tree, lefts.line, rights.line);
    }

    // Every internal node and every leaf must be reached exactly once from the root: no dangling
    // index, no cycle, no orphan.
    void check_structure(const ParsedTree &tree, size_t left_line, size_t right_line) const {
        const auto internal = static_cast<int32_t>(tree.nodes.size());
        const auto leaves = static_cast<int32_t>(tree.leaves.size());
        std::vector<char> seen_node(tree.nodes.size(), 0);
        std::vector<char> seen_leaf(tree.leaves.size(), 0);
        std::vector<int32_t> pending{0};
        seen_node[0] = 1;
        while (!pending.empty()) {
            const auto &node = tree.nodes[static_cast<size_t>(pending.back())];
            pending.pop_back();
            for (const bool is_left : {true, false}) {
                const int32_t child = node.child[is_left ? 0 : 1];
                const size_t line = is_left ? left_line : right_line;
                if (child >= internal || ~child >= leaves)
                    fail(line, "child index " + std::to_string(child) + " out of range");
                auto &seen = child >= 0 ? seen_node[static_cast<size_t>(child)]
                                        : seen_leaf[static_cast<size_t>(~child)];
                if (seen) fail(line, "node or leaf " + std::to_string(child) + " reached twice");
                seen = 1;
                if (child >= 0) pending.push_back(child);
            }
        }
        if (std::count(seen_node.begin(), seen_node.end(), 0) != 0 ||
            std::count(seen_leaf.begin(), seen_leaf.end(), 0) != 0)
            fail(left_line, "some nodes or leaves are not reachable from the root");
    }

    void expect_end_of_trees(const TreeEnsemble &model) {
        if (position_ == lines_.size() || lines_[position_].text != "end of trees")
            fail(position_ == lines_.size() ? last_line() : lines_[position_].number,
                 "expected 'Tree=' or 'end of trees'");
        if (model.num_trees() == 0) fail(lines_[position_].number, "the model has no trees");
        if (expected_trees_ && expected_trees_->first != model.num_trees())
            fail(expected_trees_->second, "tree_sizes lists " +
                                              std::to_string(expected_trees_->first) +
                                              " trees, found " + std::to_string(model.num_trees()));
    }

    std::vector<Line> lines_;
    std::string_view source_;
    size_t position_ = 0;
    std::optional<std::pair<size_t, size_t>> expected_trees_;  // count, line
};

TreeEnsemble TreeEnsemble::parse(std::string_view text, std::string_view source) {
    return ModelParser(text, source).parse();
}

TreeEnsemble TreeEnsemble::load(const std::filesystem::path &path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw ModelError(path.string() + ": cannot open");
    std::ostringstream content;
    content << file.rdbuf();
    if (file.bad()) throw ModelError(path.string() + ": read error");
    return parse(content.str(), path.string());
}

bool TreeEnsemble::add_tree(std::vector<Node> nodes, const std::vector<double> &leaves) {
    constexpr size_t kLimit = static_cast<size_t>(std::numeric_limits<int32_t>::max());
    if (nodes_.size() + nodes.size() > kLimit || leaves_.size() + leaves.size() > kLimit)
        return false;
    const auto first_node = static_cast<int32_t>(nodes_.size());
    const auto first_leaf = static_cast<int32_t>(leaves_.size());
    auto absolute = [&](int32_t child) {
        return child >= 0 ? first_node + child : ~(first_leaf + ~child);
    };
    for (auto &node : nodes)
        for (auto &child : node.child)
            child = absolute(child);
    roots_.push_back(nodes.empty() ? ~first_leaf : first_node);
    nodes_.insert(nodes_.end(), nodes.begin(), nodes.end());
    leaves_.insert(leaves_.end(), leaves.begin(), leaves.end());
    return true;
}

template <bool kMayHaveNaN>
int32_t TreeEnsemble::next(const Node &node, std::span<const double> features) {
    double value = features[node.feature];
    // LightGBM's NumericalDecision: NaN is 0 unless NaN is the missing type; the missing value
    // follows the default direction; otherwise value <= threshold goes left.
    bool missing = false;
    if constexpr (kMayHaveNaN) {
        if (std::isnan(value)) {
            if (node.missing_type == kMissingNaN)
                missing = true;
            else
                value = 0.0;
        }
    }
    if (node.missing_type == kMissingZero)
        missing = missing || (value >= -kZeroThreshold && value <= kZeroThreshold);
    const bool go_left = missing ? node.default_left : value <= node.threshold;
    if (go_left) return node.child[0];
    return node.child[1];
}

// Measured: a plain walk beats interleaving several trees and branch-free child selection here,
// because consecutive predictions of the offloading loop take nearly the same paths, which the
// branch predictor learns.
template <bool kMayHaveNaN>
double TreeEnsemble::sum_of_trees(std::span<const double> features) const {
    double sum = 0.0;
    for (size_t tree = 0; tree < roots_.size(); ++tree) {
        int32_t at = roots_[tree];
        while (at >= 0)
            at = next<kMayHaveNaN>(nodes_[static_cast<size_t>(at)], features);
        sum += leaves_[static_cast<size_t>(~at)];
    }
    return sum;
}

std::vector<double> TreeEnsemble::split_values(size_t feature) const {
    std::vector<double> values;
    for (const auto &node : nodes_)
        if (node.feature == feature) values.push_back(node.threshold);
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    return values;
}

double TreeEnsemble::predict(std::span<const double> features) const {
    if (features.size() != num_features_)
        throw ModelError("model expects " + std::to_string(num_features_) + " features, got " +
                         std::to_string(features.size()));
    const bool may_have_nan = std::any_of(features.begin(), features.end(),
                                          [](double value) { return std::isnan(value); });
    double sum = may_have_nan ? sum_of_trees<true>(features) : sum_of_trees<false>(features);
    if (average_output_) sum /= static_cast<double>(roots_.size());
    return sum;
}

}  // namespace dfaas::forecast
