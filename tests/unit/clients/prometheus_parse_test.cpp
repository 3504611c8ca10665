#include <gtest/gtest.h>

#include <cmath>

#include "dfaas/clients/prometheus.h"
#include "fixtures.h"

using dfaas::parse_query_response;
using dfaas::parse_sample_value;
using dfaas::PromResultType;

namespace {

auto parse_fixture(const std::string &name, int http_status = 200) {
    return parse_query_response(http_status, read_fixture("prometheus/" + name));
}

void expect_error(const dfaas::Result<dfaas::PromQueryResult> &result, const std::string &exact) {
    ASSERT_FALSE(result) << "expected the error: " << exact;
    EXPECT_EQ(result.error(), exact);
}

}  // namespace

TEST(PrometheusParse, Vector) {
    auto result = parse_fixture("vector_invocation_rate.json");
    ASSERT_TRUE(result) << result.error();
    EXPECT_EQ(result->type, PromResultType::Vector);
    ASSERT_EQ(result->samples.size(), 4u);
    const auto &first = result->samples[0];
    EXPECT_EQ(first.labels.at("function_name"), "figlet.openfaas-fn");
    EXPECT_EQ(first.labels.at("code"), "200");
    EXPECT_DOUBLE_EQ(first.value, 41.6);
    EXPECT_EQ(first.value_text, "41.6");
    EXPECT_DOUBLE_EQ(first.timestamp, 1736512496.781);
    EXPECT_DOUBLE_EQ(result->samples[3].value, 0.001);
    EXPECT_TRUE(result->warnings.empty());
}

TEST(PrometheusParse, Scalar) {
    auto result = parse_fixture("scalar.json");
    ASSERT_TRUE(result) << result.error();
    EXPECT_EQ(result->type, PromResultType::Scalar);
    ASSERT_EQ(result->samples.size(), 1u);
    EXPECT_TRUE(result->samples[0].labels.empty());
    EXPECT_DOUBLE_EQ(result->samples[0].value, 137.5);
}

TEST(PrometheusParse, EmptyResultIsNotAnError) {
    auto result = parse_fixture("vector_empty.json");
    ASSERT_TRUE(result) << result.error();
    EXPECT_TRUE(result->samples.empty());
}

TEST(PrometheusParse, SpecialValuesAreRepresented) {
    auto result = parse_fixture("vector_latency_special_values.json");
    ASSERT_TRUE(result) << result.error();
    ASSERT_EQ(result->samples.size(), 4u);
    EXPECT_DOUBLE_EQ(result->samples[0].value, 0.0125);
    EXPECT_TRUE(std::isnan(result->samples[1].value));
    EXPECT_EQ(result->samples[1].value_text, "NaN");
    EXPECT_TRUE(std::isinf(result->samples[2].value) && result->samples[2].value > 0);
    EXPECT_TRUE(std::isinf(result->samples[3].value) && result->samples[3].value < 0);
}

TEST(PrometheusParse, SampleValueSpellings) {
    EXPECT_DOUBLE_EQ(*parse_sample_value("1.5e3"), 1500);
    EXPECT_DOUBLE_EQ(*parse_sample_value("-2"), -2);
    EXPECT_TRUE(std::isinf(*parse_sample_value("Inf")));
    for (const char *bad : {"", "nan", "inf", "1,5", "12abc", "0x10", " 1"})
        EXPECT_FALSE(parse_sample_value(bad)) << "\"" << bad << "\"";
}

TEST(PrometheusParse, StatusErrorWithHttpStatus) {
    expect_error(parse_fixture("error_bad_data.json", 400),
                 "HTTP 400: bad_data: invalid parameter \"query\": 1:6: parse error: unclosed left "
                 "parenthesis");
    expect_error(parse_fixture("error_timeout.json", 503),
                 "HTTP 503: timeout: query timed out in expression evaluation");
}

TEST(PrometheusParse, StatusErrorWithHttp200) {
    expect_error(parse_fixture("error_timeout.json", 200),
                 "timeout: query timed out in expression evaluation");
}

TEST(PrometheusParse, NonJsonErrorBodyFromAProxy) {
    expect_error(parse_query_response(502, "<html>\n<body>Bad   Gateway</body>\n</html>\n"),
                 "HTTP 502: <html> <body>Bad Gateway</body> </html>");
    expect_error(parse_query_response(503, ""), "HTTP 503: (empty body)");
}

TEST(PrometheusParse, JsonSuccessBodyWithErrorStatusIsStillAnError) {
    expect_error(parse_query_response(500, R"({"status":"success","data":{}})"),
                 "HTTP 500: {\"status\":\"success\",\"data\":{}}");
}

TEST(PrometheusParse, UnexpectedResultTypes) {
    expect_error(parse_fixture("matrix.json"),
                 "unexpected result type \"matrix\" (expected vector or scalar)");
    expect_error(parse_fixture("string_result.json"),
                 "unexpected result type \"string\" (expected vector or scalar)");
}

TEST(PrometheusParse, WarningsAndInfosAreKept) {
    auto result = parse_fixture("vector_with_warnings.json");
    ASSERT_TRUE(result) << result.error();
    ASSERT_EQ(result->warnings.size(), 1u);
    EXPECT_NE(result->warnings[0].find("mix of histograms and floats"), std::string::npos);
    ASSERT_EQ(result->infos.size(), 1u);
    EXPECT_DOUBLE_EQ(result->samples.at(0).value, 12);
}

TEST(PrometheusParse, MalformedAnswers) {
    auto truncated = parse_query_response(200, R"({"status":"success","data":{"resultType":"vec)");
    ASSERT_FALSE(truncated);
    EXPECT_NE(truncated.error().find("malformed JSON"), std::string::npos) << truncated.error();
    expect_error(parse_query_response(200, "[1,2]"), "expected a JSON object, got array");
    expect_error(parse_query_response(200, R"({"status":"success"})"),
                 "answer has no \"data\" object");
    expect_error(parse_query_response(200, R"({"status":"maybe","data":{}})"),
                 "unexpected status \"maybe\" (expected success or error)");
    expect_error(parse_fixture("vector_bad_value.json"),
                 "result[0] {function_name=\"figlet.openfaas-fn\"}: value \"fourty-two\" is not a "
                 "number");
    expect_error(parse_fixture("vector_value_not_string.json"),
                 "result[0] {function_name=\"figlet.openfaas-fn\"}: value is a number, expected a "
                 "string");
    expect_error(parse_fixture("vector_native_histogram.json"),
                 "result[0] {__name__=\"latency\"}: is a native histogram; the agent's queries "
                 "expect float samples");
    expect_error(parse_query_response(
                     200, R"({"status":"success","data":{"resultType":"scalar","result":[1]}})"),
                 "scalar result: expected [timestamp, \"value\"], got [1]");
}
