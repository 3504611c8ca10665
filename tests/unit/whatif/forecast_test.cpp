// `dfaasctl forecast`: every public vector of the reference models, single queries, batch mode
// with bad lines, and the errors.
#include <gtest/gtest.h>

#include <set>

#include "support.h"

namespace dfaas::whatif_testing {
namespace {

constexpr double kTolerance = 0.01;  // the vectors and the outputs are rounded to 2 decimals
const std::set<std::string> kMetrics{"cpu_usage_node", "ram_usage_node", "power_usage_node"};
const char *kVariants[] = {"regression", "quantile005", "quantile095"};

json vectors(const std::filesystem::path &directory) {
    return json::parse(read_all(directory / "vectors.json")).at("vectors");
}

std::set<std::string> keys_of(const json &object) {
    std::set<std::string> keys;
    for (const auto &[key, value] : object.items())
        keys.insert(key);
    return keys;
}

void expect_prediction(const json &actual, const json &expected) {
    ASSERT_TRUE(actual.is_object()) << actual.dump();
    EXPECT_EQ(keys_of(actual), kMetrics) << actual.dump();
    for (const auto &metric : kMetrics)
        EXPECT_NEAR(actual.at(metric).get<double>(), expected.at(metric).get<double>(), kTolerance)
            << metric;
}

std::string line_of(double high, double low, double medium, const json &type) {
    return json{{"rate_group_HIGH_USAGE", high},
                {"rate_group_LOW_USAGE", low},
                {"rate_group_MEDIUM_USAGE", medium},
                {"node_type", type}}
        .dump();
}

class ForecastWithModels : public ::testing::Test {
  protected:
    void SetUp() override {
        directory_ = models();
        if (!directory_) GTEST_SKIP() << dfaas::testing::forecaster_data_missing_message();
    }
    std::string dir() const { return directory_->string(); }
    std::optional<std::filesystem::path> directory_;
};

TEST_F(ForecastWithModels, EveryPublicVectorInBatchMode) {
    const json all = vectors(*directory_);
    size_t checked = 0;
    for (const char *variant : kVariants) {
        SCOPED_TRACE(variant);
        std::string input;
        std::vector<json> expected;
        for (const auto &vector : all) {
            if (!vector.contains(variant)) continue;
            input += vector.at("input").dump() + "\n";  // the reference request body as is
            expected.push_back(vector.at(variant));
        }
        ASSERT_FALSE(expected.empty());
        const Result r =
            run_dfaasctl({"forecast", "--batch", "--models", dir(), "--variant", variant}, input);
        ASSERT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.err, "");
        const auto lines = r.out_lines();
        ASSERT_EQ(lines.size(), expected.size());
        for (size_t i = 0; i < lines.size(); ++i) {
            SCOPED_TRACE("line " + std::to_string(i + 1));
            expect_prediction(lines[i], expected[i]);
            ++checked;
        }
    }
    EXPECT_GE(checked, all.size());  // every vector has at least its regression outputs
}

TEST_F(ForecastWithModels, SingleQueryPrintsExactlyTheThreeKeysUnderJson) {
    size_t checked = 0;
    for (const auto &vector : vectors(*directory_)) {
        if (!vector.contains("quantile095")) continue;
        const json &in = vector.at("input");
        const Result r = run_dfaasctl({"forecast", "--models", dir(), "--variant", "quantile095",
                                       "--high", in.at("rate_group_HIGH_USAGE").dump(), "--low",
                                       in.at("rate_group_LOW_USAGE").dump(), "--medium",
                                       in.at("rate_group_MEDIUM_USAGE").dump(), "--node-type",
                                       in.at("node_type").dump(), "-o", "json"});
        ASSERT_EQ(r.code, 0) << r.err;
        expect_prediction(r.out_json(), vector.at("quantile095"));
        ++checked;
    }
    EXPECT_GT(checked, 0u);
}

TEST_F(ForecastWithModels, NodeTypeByNameEqualsByCode) {
    const auto by_name = run_dfaasctl(
        {"-o", "json", "forecast", "--models", dir(), "--low", "200", "--node-type", "light"});
    const auto by_code = run_dfaasctl(
        {"-o", "json", "forecast", "--models", dir(), "--low", "200", "--node-type", "2"});
    ASSERT_EQ(by_name.code, 0) << by_name.err;
    EXPECT_EQ(by_name.out, by_code.out);
    const auto mid = run_dfaasctl(
        {"-o", "json", "forecast", "--models", dir(), "--low", "200", "--node-type", "mid"});
    EXPECT_NE(mid.out, by_name.out);
}

TEST_F(ForecastWithModels, TableForPeople) {
    // N1's node: a mid node at 200 req/s of figlet (LOW_USAGE) predicts cpu 135.78.
    const Result r =
        run_dfaasctl({"forecast", "--models", dir(), "--low", "200", "--node-type", "mid"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("METRIC"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("cpu_usage_node    135.78"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("ram_usage_node"), std::string::npos);
    EXPECT_NE(r.out.find("power_usage_node"), std::string::npos);
}

TEST_F(ForecastWithModels, ModelsFromTheEnvironment) {
    const Result r = run_dfaasctl({"-o", "json", "forecast", "--low", "200", "--node-type", "mid"},
                                  "", {{"DFAAS_FORECASTER_DATA_DIR", dir()}});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NEAR(r.out_json().at("cpu_usage_node").get<double>(), 135.78, 1e-9);
}

TEST_F(ForecastWithModels, BatchAnswersEveryGoodLineAroundBadOnes) {
    const json all = vectors(*directory_);
    ASSERT_GE(all.size(), 3u);
    const std::string input =
        all[0].at("input").dump() + "\n" + line_of(0, -5, 0, 1) + "\n" +  // line 2: negative rate
        all[1].at("input").dump() + "\n" + "{\"rate_group_HIGH_USAGE\": 1,\n" +  // line 4: not JSON
        "\n" +                                                          // line 5: blank, skipped
        all[2].at("input").dump() + "\n" + line_of(0, 0, 0, 7) + "\n";  // line 7: no such node type
    const Result r = run_dfaasctl({"forecast", "--batch", "--models", dir()}, input);
    EXPECT_EQ(r.code, 2);
    const auto lines = r.out_lines();
    ASSERT_EQ(lines.size(), 6u) << r.out;
    expect_prediction(lines[0], all[0].at("regression"));
    EXPECT_EQ(lines[1].at("line"), 2);
    EXPECT_NE(lines[1].at("error").get<std::string>().find("rate_group_LOW_USAGE"),
              std::string::npos);
    expect_prediction(lines[2], all[1].at("regression"));
    EXPECT_EQ(lines[3].at("line"), 4);
    EXPECT_NE(lines[3].at("error").get<std::string>().find("not valid JSON"), std::string::npos);
    expect_prediction(lines[4], all[2].at("regression"));
    EXPECT_EQ(lines[5].at("line"), 7);
    EXPECT_NE(lines[5].at("error").get<std::string>().find("node_type"), std::string::npos);
    // Diagnostics on stderr name each bad line.
    EXPECT_NE(r.err.find("line 2: rate_group_LOW_USAGE"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("line 4: not valid JSON"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("line 7: node_type"), std::string::npos) << r.err;
}

TEST_F(ForecastWithModels, BatchRejectsEachMalformedShape) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"[1, 2]", "expected a JSON object"},
        {R"({"rate_group_HIGH_USAGE":0,"rate_group_LOW_USAGE":0,"node_type":1})",
         "rate_group_MEDIUM_USAGE: missing"},
        {R"({"rate_group_HIGH_USAGE":0,"rate_group_LOW_USAGE":0,"rate_group_MEDIUM_USAGE":0})",
         "node_type: missing"},
        {line_of(0, 0, 0, "huge"), "node_type: expected 0, 1, 2 or heavy, mid, light"},
        {R"({"rate_group_HIGH_USAGE":"1","rate_group_LOW_USAGE":0,"rate_group_MEDIUM_USAGE":0,"node_type":1})",
         "rate_group_HIGH_USAGE: expected a number"},
        {R"({"rate_group_HIGH_USAGE":0,"rate_group_LOW_USAGE":0,"rate_group_MEDIUM_USAGE":0,"node_type":1,"rate_group_LOW":3})",
         "rate_group_LOW: unknown key"},
    };
    for (const auto &[line, message] : cases) {
        SCOPED_TRACE(line);
        const Result r = run_dfaasctl({"forecast", "--batch", "--models", dir()}, line + "\n");
        EXPECT_EQ(r.code, 2);
        EXPECT_NE(r.err.find("line 1: " + message), std::string::npos) << r.err;
        ASSERT_EQ(r.out_lines().size(), 1u);
    }
}

// ---- errors that need no models ----

TEST(Forecast, MissingModelsDirectoryIsNotFound) {
    const Result r = run_dfaasctl(
        {"forecast", "--models", "/nonexistent/dfaas-models", "--low", "1", "--node-type", "mid"});
    EXPECT_EQ(r.code, 3);
    EXPECT_NE(r.err.find("/nonexistent/dfaas-models"), std::string::npos) << r.err;
}

TEST(Forecast, ModelsDirectoryWithoutTheVariantsFilesIsNotFound) {
    TempDir dir;
    dir.write("scalers.json", "{}");
    const Result r = run_dfaasctl({"forecast", "--models", dir.path().string(), "--variant",
                                   "quantile005", "--low", "1", "--node-type", "mid"});
    EXPECT_EQ(r.code, 3);
    EXPECT_NE(r.err.find("cpu_usage_node.quantile005.txt"), std::string::npos) << r.err;
}

TEST(Forecast, NoModelsAnywhereIsAUsageError) {
    const Result r = run_dfaasctl({"forecast", "--low", "1", "--node-type", "mid"}, "",
                                  {{"DFAAS_FORECASTER_DATA_DIR", std::nullopt}});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("DFAAS_FORECASTER_DATA_DIR"), std::string::npos) << r.err;
}

TEST(Forecast, BadArgumentsAreUsageErrors) {
    const std::string nowhere = "/nonexistent/dfaas-models";
    const std::vector<std::vector<std::string>> cases{
        {"forecast", "--models", nowhere, "--low", "-1", "--node-type", "mid"},
        {"forecast", "--models", nowhere, "--low", "nan", "--node-type", "mid"},
        {"forecast", "--models", nowhere, "--low", "1", "--node-type", "huge"},
        {"forecast", "--models", nowhere, "--low", "1", "--node-type", "mid", "--variant", "q50"},
        {"forecast", "--models", nowhere, "--batch", "--low", "1"},
    };
    for (const auto &args : cases) {
        const Result r = run_dfaasctl(args);
        EXPECT_EQ(r.code, 2) << args[4] << " " << args[5] << ": " << r.err;
        EXPECT_FALSE(r.err.empty());
        EXPECT_EQ(r.out, "");
    }
    // --node-type is required for a single query.
    const Result r = run_dfaasctl({"forecast", "--models", nowhere, "--low", "1"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("--node-type is required"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dfaas::whatif_testing
