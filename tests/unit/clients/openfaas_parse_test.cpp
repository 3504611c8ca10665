#include <gtest/gtest.h>

#include "dfaas/clients/openfaas.h"
#include "fixtures.h"

using dfaas::FunctionGroup;
using dfaas::FunctionInfo;
using dfaas::LabelProblem;
using dfaas::parse_dfaas_labels;
using dfaas::parse_function_list;

namespace {

const FunctionInfo &find(const std::vector<FunctionInfo> &functions, const std::string &name) {
    for (const auto &function : functions)
        if (function.name == name) return function;
    ADD_FAILURE() << "no function " << name;
    static const FunctionInfo none;
    return none;
}

void expect_error_containing(const std::string &fixture, const std::string &fragment) {
    auto parsed = parse_function_list(read_fixture("openfaas/" + fixture));
    ASSERT_FALSE(parsed) << fixture << " parsed although it should not";
    EXPECT_NE(parsed.error().find(fragment), std::string::npos)
        << fixture << ": \"" << parsed.error() << "\" lacks \"" << fragment << "\"";
}

}  // namespace

TEST(OpenFaasParse, ReadsEveryFieldOfAFullGatewayEntry) {
    auto parsed = parse_function_list(read_fixture("openfaas/functions_gateway.json"));
    ASSERT_TRUE(parsed) << parsed.error();
    ASSERT_EQ(parsed->size(), 4u);
    const FunctionInfo &figlet = find(*parsed, "figlet");
    EXPECT_EQ(figlet.namespace_name, "openfaas-fn");
    EXPECT_EQ(figlet.image, "ghcr.io/openfaas/figlet:latest");
    EXPECT_EQ(figlet.replicas, 2u);
    EXPECT_EQ(figlet.available_replicas, 1u);
    EXPECT_DOUBLE_EQ(figlet.invocation_count, 1337);
    EXPECT_EQ(figlet.labels.at("faas_function"), "figlet");
    EXPECT_EQ(figlet.annotations.at("prometheus.io.scrape"), "false");
    EXPECT_EQ(figlet.dfaas.max_rate, 100u);
    EXPECT_EQ(figlet.dfaas.port, 31001);
    EXPECT_EQ(figlet.dfaas.group, FunctionGroup::Low);
    EXPECT_EQ(figlet.dfaas.timeout_ms, 6000u);
    EXPECT_TRUE(figlet.dfaas.problems.empty());
}

TEST(OpenFaasParse, OmittedZeroValuesAreZero) {
    auto parsed = parse_function_list(read_fixture("openfaas/functions_gateway.json"));
    ASSERT_TRUE(parsed) << parsed.error();
    const FunctionInfo &shasum = find(*parsed, "shasum");
    EXPECT_EQ(shasum.replicas, 0u);
    EXPECT_EQ(shasum.available_replicas, 0u);
    EXPECT_EQ(shasum.invocation_count, 0);
    EXPECT_EQ(shasum.dfaas.max_rate, 50u);
    EXPECT_FALSE(shasum.dfaas.port);
    EXPECT_FALSE(shasum.dfaas.group);
}

TEST(OpenFaasParse, AbsentOrNullLabelsAreEmptyAndUnknownFieldsIgnored) {
    auto parsed = parse_function_list(read_fixture("openfaas/functions_gateway.json"));
    ASSERT_TRUE(parsed) << parsed.error();
    const FunctionInfo &nodeinfo = find(*parsed, "nodeinfo");
    EXPECT_TRUE(nodeinfo.labels.empty());
    EXPECT_TRUE(nodeinfo.annotations.empty());
    EXPECT_EQ(nodeinfo.replicas, 1u);
    const FunctionInfo &env = find(*parsed, "env");
    EXPECT_TRUE(env.labels.empty());
    EXPECT_TRUE(env.annotations.empty());
    EXPECT_DOUBLE_EQ(env.invocation_count, 12.5);
    EXPECT_FALSE(env.dfaas.max_rate);
}

TEST(OpenFaasParse, ReadsTheReferenceAgentExample) {
    auto parsed = parse_function_list(read_fixture("openfaas/functions_reference_agent.json"));
    ASSERT_TRUE(parsed) << parsed.error();
    ASSERT_EQ(parsed->size(), 1u);
    EXPECT_EQ(parsed->front().name, "figlet");
    EXPECT_EQ(parsed->front().namespace_name, "");
    EXPECT_EQ(parsed->front().available_replicas, 0u);
    EXPECT_EQ(parsed->front().dfaas.max_rate, 50u);
    EXPECT_TRUE(parsed->front().annotations.empty());
}

TEST(OpenFaasParse, BadLabelsAreReportedPerFunctionAndTheFunctionIsKept) {
    auto parsed = parse_function_list(read_fixture("openfaas/functions_bad_labels.json"));
    ASSERT_TRUE(parsed) << parsed.error();
    ASSERT_EQ(parsed->size(), 2u);
    const FunctionInfo &figlet = find(*parsed, "figlet");
    EXPECT_FALSE(figlet.dfaas.max_rate);
    EXPECT_FALSE(figlet.dfaas.port);
    EXPECT_FALSE(figlet.dfaas.group);
    EXPECT_FALSE(figlet.dfaas.timeout_ms);
    std::vector<LabelProblem> expected{
        {"dfaas.maxrate", "fast", "is not a whole number of requests per second in 0..4294967295"},
        {"dfaas.port", "70000", "is not a port number in 1..65535"},
        {"dfaas.timeout_ms", "0", "is not a whole number of milliseconds in 1..4294967295"},
        {"dfaas.group", "HUGE_USAGE", "is not one of HIGH_USAGE, LOW_USAGE, MEDIUM_USAGE"}};
    EXPECT_EQ(figlet.dfaas.problems, expected);

    const FunctionInfo &shasum = find(*parsed, "shasum");
    ASSERT_EQ(shasum.dfaas.problems.size(), 1u);
    EXPECT_EQ(shasum.dfaas.problems[0].label, "dfaas.maxrate");
    EXPECT_EQ(shasum.dfaas.port, 31002);
    EXPECT_EQ(shasum.dfaas.group, FunctionGroup::High);  // case-insensitive
}

TEST(OpenFaasParse, LabelBoundaries) {
    auto labels = parse_dfaas_labels(
        {{"dfaas.maxrate", "0"}, {"dfaas.port", "65535"}, {"dfaas.timeout_ms", "4294967295"}});
    EXPECT_EQ(labels.max_rate, 0u);
    EXPECT_EQ(labels.port, 65535);
    EXPECT_EQ(labels.timeout_ms, 4294967295u);
    EXPECT_TRUE(labels.problems.empty());

    for (const char *bad : {"", " 100", "100 ", "+100", "1e3", "100.5", "4294967296", "0x10"}) {
        auto parsed = parse_dfaas_labels({{"dfaas.maxrate", bad}});
        EXPECT_FALSE(parsed.max_rate) << "\"" << bad << "\"";
        EXPECT_EQ(parsed.problems.size(), 1u) << "\"" << bad << "\"";
    }
    EXPECT_FALSE(parse_dfaas_labels({{"dfaas.port", "0"}}).port);
}

TEST(OpenFaasParse, EmptyAndNullListsAreEmpty) {
    ASSERT_TRUE(parse_function_list("[]"));
    EXPECT_TRUE(parse_function_list("[]")->empty());
    ASSERT_TRUE(parse_function_list("null"));
    EXPECT_TRUE(parse_function_list(" null\n")->empty());
}

TEST(OpenFaasParse, MalformedJsonIsAnError) {
    expect_error_containing("functions_truncated.json", "malformed JSON");
    auto empty = parse_function_list("");
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().find("malformed JSON"), std::string::npos);
}

TEST(OpenFaasParse, WrongTypesNameTheFunctionAndField) {
    expect_error_containing("functions_not_array.json",
                            "expected a JSON array of functions, got an object");
    expect_error_containing("functions_replicas_string.json",
                            "functions[0] (\"figlet\").replicas: expected a non-negative integer, "
                            "got string \"1\"");
    expect_error_containing("functions_label_not_string.json",
                            "functions[0] (\"figlet\").labels[\"dfaas.maxrate\"]: expected a "
                            "string, got 100");
    expect_error_containing("functions_missing_name.json", "functions[1].name: missing or empty");
    expect_error_containing("functions_negative_replicas.json",
                            "functions[0] (\"figlet\").availableReplicas: expected a non-negative "
                            "integer, got -1");
}

TEST(OpenFaasParse, ElementsMustBeObjects) {
    auto parsed = parse_function_list(R"([{"name":"a"}, "b"])");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error(), "functions[1]: expected an object, got string \"b\"");
}

TEST(OpenFaasParse, IntegralFloatsAreAcceptedAsCounts) {
    auto parsed = parse_function_list(R"([{"name":"a","replicas":2.0}])");
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->front().replicas, 2u);
    EXPECT_FALSE(parse_function_list(R"([{"name":"a","replicas":2.5}])"));
}
