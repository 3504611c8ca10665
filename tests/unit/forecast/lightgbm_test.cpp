#include "dfaas/forecast/lightgbm.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

namespace dfaas::forecast {
namespace {

const std::filesystem::path kFixtures = DFAAS_FORECAST_FIXTURES;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double predict(const TreeEnsemble &model, double x, double y) {
    const std::array<double, 2> row{x, y};
    return model.predict(row);
}

// The error message of loading a fixture, or "" when it loads.
std::string load_error(const std::string &fixture) {
    try {
        TreeEnsemble::load(kFixtures / fixture);
    } catch (const ModelError &error) {
        return error.what();
    }
    return "";
}

TEST(LightGbm, ParsesTheTinyModel) {
    const auto model = TreeEnsemble::load(kFixtures / "tiny_valid.txt");
    EXPECT_EQ(model.num_features(), 2u);
    EXPECT_EQ(model.num_trees(), 4u);
    EXPECT_EQ(model.objective(), "regression");
}

// Outputs worked out by hand from the fixture: tree 0 splits x <= 0.5 then y <= 0.25 (leaves
// 1, 2, 4); tree 1 splits y <= 0.75 with NaN missing going left (10, 20); tree 2 splits x <= 0.5
// with zero as missing going right (100, 200); tree 3 is a single leaf 0.5.
TEST(LightGbm, NumericalSplitsGoLeftWhenLessOrEqual) {
    const auto model = TreeEnsemble::load(kFixtures / "tiny_valid.txt");
    EXPECT_DOUBLE_EQ(predict(model, 0.3, 0.1), 1 + 10 + 100 + 0.5);
    EXPECT_DOUBLE_EQ(predict(model, 0.8, 0.1), 2 + 10 + 200 + 0.5);
    EXPECT_DOUBLE_EQ(predict(model, 0.8, 0.5), 4 + 10 + 200 + 0.5);
    EXPECT_DOUBLE_EQ(predict(model, 0.5, 0.75), 1 + 10 + 100 + 0.5);  // thresholds go left
    EXPECT_DOUBLE_EQ(predict(model, 0.3, 0.9), 1 + 20 + 100 + 0.5);
}

TEST(LightGbm, ZeroMissingTypeSendsZeroTheDefaultWay) {
    const auto model = TreeEnsemble::load(kFixtures / "tiny_valid.txt");
    // x = 0 is "missing" in tree 2 and goes right (200) although 0 <= 0.5.
    EXPECT_DOUBLE_EQ(predict(model, 0.0, 0.9), 1 + 20 + 200 + 0.5);
    EXPECT_DOUBLE_EQ(predict(model, 1e-36, 0.9), 1 + 20 + 200 + 0.5);  // within kZeroThreshold
    EXPECT_DOUBLE_EQ(predict(model, 1e-30, 0.9), 1 + 20 + 100 + 0.5);
}

TEST(LightGbm, NaNFollowsTheMissingType) {
    const auto model = TreeEnsemble::load(kFixtures / "tiny_valid.txt");
    // Tree 0 (missing none): NaN counts as 0 -> left (1). Tree 1 (missing NaN, default left): 10.
    // Tree 2 (missing zero): NaN becomes 0, which is missing -> right (200).
    EXPECT_DOUBLE_EQ(predict(model, kNaN, kNaN), 1 + 10 + 200 + 0.5);
    EXPECT_DOUBLE_EQ(predict(model, 0.8, kNaN), 2 + 10 + 200 + 0.5);
}

TEST(LightGbm, AverageOutputDividesByTheTreeCount) {
    const std::string text =
        "tree\nmax_feature_idx=0\nobjective=regression\naverage_output\n\n"
        "Tree=0\nnum_leaves=1\nleaf_value=3\n\nTree=1\nnum_leaves=1\nleaf_value=5\n\n"
        "end of trees\n";
    const auto model = TreeEnsemble::parse(text, "inline");
    const std::array<double, 1> row{0.0};
    EXPECT_DOUBLE_EQ(model.predict(row), 4.0);
}

TEST(LightGbm, WrongFeatureCountIsAnError) {
    const auto model = TreeEnsemble::load(kFixtures / "tiny_valid.txt");
    const std::array<double, 3> row{0, 0, 0};
    EXPECT_THROW(model.predict(row), ModelError);
}

struct MalformedCase {
    const char *fixture;
    const char *line;    // ":<line>:" the error must point at
    const char *reason;  // a part of the message
};

class MalformedModel : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedModel, IsRejectedWithFileLineAndReason) {
    const auto &expected = GetParam();
    const std::string message = load_error(expected.fixture);
    ASSERT_FALSE(message.empty()) << expected.fixture << " loaded without error";
    EXPECT_NE(message.find(expected.fixture), std::string::npos) << message;
    EXPECT_NE(message.find(expected.line), std::string::npos) << message;
    EXPECT_NE(message.find(expected.reason), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, MalformedModel,
    ::testing::Values(
        MalformedCase{"categorical_split.txt", ":18:", "categorical splits are not supported"},
        MalformedCase{"categorical_num_cat.txt", ":33:", "categorical splits are not supported"},
        MalformedCase{"truncated.txt", ":39:", "truncated model"},
        MalformedCase{"bad_number.txt", ":17:", "'zero.25' is not a valid number"},
        MalformedCase{"wrong_count.txt", ":21:", "'leaf_value' has 2 values, expected 3"},
        MalformedCase{"child_out_of_range.txt", ":20:", "out of range"},
        MalformedCase{"cycle.txt", ":19:", "reached twice"},
        MalformedCase{"multiclass.txt", ":3:", "single-output"},
        MalformedCase{"binary_objective.txt",
                      ":7:", "objective 'binary sigmoid:1' is not supported"},
        MalformedCase{"missing_max_feature.txt", ":1:", "missing 'max_feature_idx'"},
        MalformedCase{"feature_out_of_range.txt", ":15:", "split_feature 7 at node 1"},
        MalformedCase{"linear_tree.txt", ":84:", "linear trees are not supported"},
        MalformedCase{"tree_count_mismatch.txt", ":10:", "tree_sizes lists 5 trees, found 4"},
        MalformedCase{"not_a_model.txt", ":1:", "not a LightGBM text model"}),
    [](const auto &param_info) {
        std::string name = param_info.param.fixture;
        return name.substr(0, name.find('.'));
    });

TEST(LightGbm, EmptyTextIsAnError) {
    EXPECT_THROW(TreeEnsemble::parse("", "empty"), ModelError);
    EXPECT_THROW(TreeEnsemble::parse(
                     "tree\nmax_feature_idx=0\nobjective=regression\n\nend of trees\n", "no-trees"),
                 ModelError);
}

TEST(LightGbm, MissingFileIsAnError) {
    EXPECT_NE(load_error("does_not_exist.txt").find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace dfaas::forecast
