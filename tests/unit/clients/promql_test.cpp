#include <gtest/gtest.h>

#include <cmath>

#include "dfaas/clients/promql.h"
#include "fixtures.h"

namespace promql = dfaas::promql;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

dfaas::PromQueryResult fixture_result(const std::string &name) {
    auto parsed = dfaas::parse_query_response(200, read_fixture("prometheus/" + name));
    EXPECT_TRUE(parsed) << parsed.error();
    return parsed ? *parsed : dfaas::PromQueryResult{};
}

dfaas::PromSample sample(dfaas::PromLabels labels, double value) {
    dfaas::PromSample s;
    s.labels = std::move(labels);
    s.value = value;
    return s;
}

}  // namespace

TEST(Promql, RangesAreWholeUnitsNeverRoundedToMinutes) {
    EXPECT_EQ(promql::range(seconds(20)), "20s");
    EXPECT_EQ(promql::range(seconds(90)), "90s");
    EXPECT_EQ(promql::range(seconds(120)), "2m");
    EXPECT_EQ(promql::range(milliseconds(1500)), "1500ms");
}

TEST(Promql, AgentQueries) {
    EXPECT_EQ(promql::invocation_rate_by_code(seconds(20)),
              "sum by (function_name, code) (rate(gateway_function_invocation_total[20s]))");
    EXPECT_EQ(promql::mean_latency_by_function(seconds(30)),
              "sum by (function_name) (rate(gateway_functions_seconds_sum[30s])) / sum by "
              "(function_name) (rate(gateway_functions_seconds_count[30s]))");
}

TEST(Promql, ExpandWindowReplacesEveryPlaceholder) {
    EXPECT_EQ(promql::expand_window("a[$window] or b[$window]", seconds(20)), "a[20s] or b[20s]");
    EXPECT_EQ(promql::expand_window("node_memory_Active_bytes", seconds(20)),
              "node_memory_Active_bytes");
    EXPECT_EQ(promql::expand_window("$window", milliseconds(500)), "500ms");
}

TEST(Promql, SplitFunctionLabelAtTheLastDot) {
    auto plain = promql::split_function_label("figlet.openfaas-fn");
    EXPECT_EQ(plain.name, "figlet");
    EXPECT_EQ(plain.namespace_name, "openfaas-fn");
    auto dotted = promql::split_function_label("my.dotted.fn.openfaas-fn");
    EXPECT_EQ(dotted.name, "my.dotted.fn");
    auto bare = promql::split_function_label("figlet");
    EXPECT_EQ(bare.name, "figlet");
    EXPECT_EQ(bare.namespace_name, "");
}

TEST(Promql, InvocationRatesByFunctionAndCode) {
    auto rates = promql::invocation_rates(fixture_result("vector_invocation_rate.json"));
    ASSERT_TRUE(rates) << rates.error();
    EXPECT_DOUBLE_EQ(rates->at("figlet").at("200"), 41.6);
    EXPECT_DOUBLE_EQ(rates->at("figlet").at("429"), 3.2);
    EXPECT_DOUBLE_EQ(rates->at("shasum").at("200"), 0);
    EXPECT_DOUBLE_EQ(rates->at("my.dotted.fn").at("200"), 0.001);
    EXPECT_EQ(rates->size(), 3u);
}

TEST(Promql, InvocationRatesRejectIncompleteOrDuplicateSeries) {
    dfaas::PromQueryResult no_code;
    no_code.samples = {sample({{"function_name", "f.openfaas-fn"}}, 1)};
    auto missing = promql::invocation_rates(no_code);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), "series {function_name=\"f.openfaas-fn\"} has no code label");

    dfaas::PromQueryResult twice;
    twice.samples = {sample({{"function_name", "f.openfaas-fn"}, {"code", "200"}}, 1),
                     sample({{"function_name", "f.dev"}, {"code", "200"}}, 2)};
    auto duplicate = promql::invocation_rates(twice);
    ASSERT_FALSE(duplicate);
    EXPECT_EQ(duplicate.error(),
              "function \"f\" code 200 appears twice (namespaces \"openfaas-fn\" and \"dev\"); "
              "restrict the query to one namespace");
}

TEST(Promql, MeanLatenciesKeepNaN) {
    auto latencies = promql::mean_latencies(fixture_result("vector_latency_special_values.json"));
    ASSERT_TRUE(latencies) << latencies.error();
    EXPECT_DOUBLE_EQ(latencies->at("figlet"), 0.0125);
    EXPECT_TRUE(std::isnan(latencies->at("shasum")));
    EXPECT_TRUE(std::isinf(latencies->at("burst")));
}

TEST(Promql, MeanLatenciesRequireFunctionName) {
    dfaas::PromQueryResult result;
    result.samples = {sample({{"job", "gateway"}}, 0.1)};
    auto latencies = promql::mean_latencies(result);
    ASSERT_FALSE(latencies);
    EXPECT_EQ(latencies.error(), "series {job=\"gateway\"} has no function_name label");
}

// The function CPU query's answer (cAdvisor's container label copied to function_name): bare
// names, or the gateway's "<name>.<namespace>"; one series per function.
TEST(Promql, ValuesByFunctionTakeBareOrQualifiedNames) {
    dfaas::PromQueryResult result;
    result.samples = {sample({{"function_name", "figlet"}}, 37.5),
                      sample({{"function_name", "shasum.openfaas-fn"}}, 0)};
    auto values = promql::values_by_function(result);
    ASSERT_TRUE(values) << values.error();
    EXPECT_EQ(values->size(), 2u);
    EXPECT_DOUBLE_EQ(values->at("figlet"), 37.5);
    EXPECT_DOUBLE_EQ(values->at("shasum"), 0);

    EXPECT_TRUE(promql::values_by_function(dfaas::PromQueryResult{})->empty());
}

TEST(Promql, ValuesByFunctionRejectMissingLabelsAndDuplicates) {
    dfaas::PromQueryResult unlabelled;
    unlabelled.samples = {sample({{"function_name", "f"}}, 1),
                          sample({{"container", "g"}, {"namespace", "openfaas-fn"}}, 2)};
    auto missing = promql::values_by_function(unlabelled);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(),
              "series {container=\"g\",namespace=\"openfaas-fn\"} has no function_name label");

    dfaas::PromQueryResult twice;
    twice.samples = {sample({{"function_name", "f"}}, 1),
                     sample({{"function_name", "f.openfaas-fn"}}, 2)};
    auto duplicate = promql::values_by_function(twice);
    ASSERT_FALSE(duplicate);
    EXPECT_EQ(duplicate.error(),
              "function \"f\" appears twice (namespaces \"\" and \"openfaas-fn\"); restrict the "
              "query to one namespace");
}

TEST(Promql, SingleValue) {
    auto scalar = promql::single_value(fixture_result("scalar.json"));
    ASSERT_TRUE(scalar) << scalar.error();
    EXPECT_DOUBLE_EQ(*scalar, 137.5);
    auto one_series = promql::single_value(fixture_result("vector_with_warnings.json"));
    ASSERT_TRUE(one_series) << one_series.error();
    EXPECT_DOUBLE_EQ(*one_series, 12);

    auto empty = promql::single_value(fixture_result("vector_empty.json"));
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().find("no data"), std::string::npos);
    auto many = promql::single_value(fixture_result("vector_invocation_rate.json"));
    ASSERT_FALSE(many);
    EXPECT_NE(many.error().find("expected one series, got 4"), std::string::npos) << many.error();
}
