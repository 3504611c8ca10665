#include "faas_sim/metrics.h"

#include <gtest/gtest.h>

#include "faas_sim/listen_address.h"

namespace faas_sim {
namespace {

using std::chrono::milliseconds;

TEST(LatencyHistogram, PutsObservationsInTheFirstBucketThatHoldsThem) {
    LatencyHistogram histogram;
    histogram.observe(milliseconds(3));      // <= 0.005
    histogram.observe(milliseconds(5));      // <= 0.005 (bounds are inclusive)
    histogram.observe(milliseconds(7));      // <= 0.01
    histogram.observe(milliseconds(20000));  // +Inf only
    auto snapshot = histogram.snapshot();
    EXPECT_EQ(snapshot.cumulative[0], 2u);
    EXPECT_EQ(snapshot.cumulative[1], 3u);
    EXPECT_EQ(snapshot.cumulative[kLatencyBucketBounds.size() - 1], 3u);  // le="10"
    EXPECT_EQ(snapshot.count(), 4u);
    EXPECT_DOUBLE_EQ(snapshot.sum_seconds, 20.015);
}

TEST(FunctionStats, CountsCompletionsOfEveryOutcome) {
    FunctionStats stats;
    stats.record_started();
    stats.record_started();
    stats.record_completed(Outcome::Ok, milliseconds(1));
    stats.record_completed(Outcome::TooManyRequests, milliseconds(0));
    EXPECT_EQ(stats.started(), 2u);
    EXPECT_EQ(stats.completed(), 2u);
    EXPECT_EQ(stats.histogram(Outcome::Ok).snapshot().count(), 1u);
    EXPECT_EQ(stats.histogram(Outcome::Unavailable).snapshot().count(), 0u);
}

TEST(RenderMetrics, WritesOnlyObservedCodesAndAllGauges) {
    FunctionStats stats;
    stats.record_started();
    stats.record_completed(Outcome::TooManyRequests, milliseconds(2));
    std::vector<FunctionMetricsView> views = {{"f.openfaas-fn", &stats, 2, 1, std::nullopt}};
    std::string text = render_metrics(views);
    EXPECT_NE(
        text.find(
            "gateway_function_invocation_total{code=\"429\",function_name=\"f.openfaas-fn\"} 1\n"),
        std::string::npos)
        << text;
    EXPECT_EQ(text.find("code=\"200\""), std::string::npos) << text;
    EXPECT_NE(text.find("gateway_functions_seconds_bucket{code=\"429\",function_name=\"f.openfaas-"
                        "fn\",le=\"0.005\"} 1\n"),
              std::string::npos);
    EXPECT_NE(
        text.find(
            "gateway_functions_seconds_sum{code=\"429\",function_name=\"f.openfaas-fn\"} 0.002\n"),
        std::string::npos);
    EXPECT_NE(text.find("# TYPE gateway_functions_seconds histogram\n"), std::string::npos);
    EXPECT_NE(text.find("gateway_function_invocation_started{function_name=\"f.openfaas-fn\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("gateway_service_count{function_name=\"f.openfaas-fn\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("faas_sim_function_inflight_requests{function_name=\"f.openfaas-fn\"} 1\n"),
              std::string::npos);
    EXPECT_NE(
        text.find("faas_sim_function_capacity_requests{function_name=\"f.openfaas-fn\"} +Inf\n"),
        std::string::npos);
    EXPECT_EQ(text.back(), '\n');
}

TEST(RenderMetrics, EscapesLabelValues) {
    FunctionStats stats;
    std::vector<FunctionMetricsView> views = {{"a\"b\\c", &stats, 1, 0, 4}};
    std::string text = render_metrics(views);
    EXPECT_NE(text.find(R"(gateway_service_count{function_name="a\"b\\c"} 1)"), std::string::npos)
        << text;
}

// With a node model: each function's CPU seconds under cAdvisor's name and labels, in the order
// given, and the node's CPUs as machine_cpu_cores.
TEST(RenderMetrics, WritesTheFunctionsCpuUnderCadvisorsNames) {
    FunctionStats stats;
    std::vector<FunctionMetricsView> views = {{"f.openfaas-fn", &stats, 1, 0, std::nullopt},
                                              {"g.lab", &stats, 1, 0, std::nullopt}};
    NodeMetricsView node;
    node.cpus.resize(4);
    node.function_cpu = {{"f", "openfaas-fn", 1.25}, {"g", "lab", 0}};
    std::string text = render_metrics(views, &node);
    EXPECT_NE(text.find("# HELP container_cpu_usage_seconds_total Virtual CPU seconds the "
                        "function's requests held (node model; mimics cAdvisor's series of the "
                        "function's container).\n# TYPE container_cpu_usage_seconds_total "
                        "counter\n"
                        "container_cpu_usage_seconds_total{container=\"f\",namespace=\"openfaas-"
                        "fn\",pod=\"f-sim\"} 1.250000\n"
                        "container_cpu_usage_seconds_total{container=\"g\",namespace=\"lab\",pod="
                        "\"g-sim\"} 0.000000\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("# TYPE machine_cpu_cores gauge\nmachine_cpu_cores 4\n"), std::string::npos)
        << text;
}

TEST(ListenAddress, ParsesAddressAndPort) {
    auto v4 = parse_listen_address("0.0.0.0:8080");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->host, "0.0.0.0");
    EXPECT_EQ(v4->port, 8080);
    auto v6 = parse_listen_address("[::1]:0");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 0);
    EXPECT_EQ(parse_listen_address("localhost:65535")->port, 65535);
}

TEST(ListenAddress, RejectsMalformedText) {
    for (const char *text : {"8080", ":8080", "host:", "host:65536", "host:-1", "host:80x",
                             "::1:80", "[::1:80", "[]:80"}) {
        EXPECT_FALSE(parse_listen_address(text)) << text;
    }
}

}  // namespace
}  // namespace faas_sim
