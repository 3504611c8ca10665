// POST /system/fault/{name}: a function told to answer an error status to every request (the
// lab's peer-503 fault), its validation, clearing, metrics and auth.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "test_support.h"

namespace faas_sim::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const char *kFunctions = R"(
functions:
  - name: figlet
    behaviour: figlet
  - name: slow
    behaviour: sleep
    sleep_ms: 400
  - name: parked
    behaviour: echo
    replicas: 0
)";

const char *kNodeModel = R"(
node: {cpus: 1, memory_mb: 1024}
functions:
  - name: busy
    cost_ms: 600
    queue: 4
)";

std::string fault_body(const std::string &status) {
    return R"({"status": )" + status + "}";
}

TEST(FaasSimFault, AnswersTheStatusToEveryRequestUntilCleared) {
    ServerOptions options;
    options.node_name = "node-b";
    RunningServer server(kFunctions, options);
    auto client = server.client();
    ASSERT_EQ(client->Post("/function/figlet", "x", "text/plain")->status, 200);

    auto set = client->Post("/system/fault/figlet", fault_body("503"), "application/json");
    ASSERT_TRUE(set);
    ASSERT_EQ(set->status, 200) << set->body;
    EXPECT_EQ(json::parse(set->body), json({{"name", "figlet"}, {"status", 503}}));

    for (int i = 0; i < 3; ++i) {
        auto response = client->Post("/function/figlet", "x", "text/plain");
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 503);
        EXPECT_EQ(response->body, "fault injected: figlet.openfaas-fn answers 503\n");
        EXPECT_EQ(response->get_header_value("DFaaS-Node-ID"), "node-b");
    }
    // Only the function named: the others answer as before.
    auto other = client->Get("/function/parked");
    EXPECT_EQ(other->body, "No endpoints available for: parked.\n");

    std::string metrics = metrics_of(server);
    EXPECT_EQ(
        sample(
            metrics,
            R"(gateway_function_invocation_total{code="503",function_name="figlet.openfaas-fn"})"),
        3)
        << metrics;
    EXPECT_EQ(
        sample(
            metrics,
            R"(gateway_function_invocation_total{code="200",function_name="figlet.openfaas-fn"})"),
        1);
    EXPECT_EQ(
        sample(metrics,
               R"(gateway_functions_seconds_count{code="503",function_name="figlet.openfaas-fn"})"),
        3);
    EXPECT_EQ(sample(metrics,
                     R"(gateway_function_invocation_started{function_name="figlet.openfaas-fn"})"),
              4);
    EXPECT_EQ(
        sample(metrics, R"(faas_sim_function_fault_status{function_name="figlet.openfaas-fn"})"),
        503);
    EXPECT_EQ(
        sample(metrics, R"(faas_sim_function_fault_status{function_name="slow.openfaas-fn"})"), 0);
    auto list = json::parse(client->Get("/system/functions")->body);
    EXPECT_EQ(list[0]["invocationCount"], 4) << "injected answers are completed invocations";

    auto cleared = client->Post("/system/fault/figlet", fault_body("0"), "application/json");
    ASSERT_EQ(cleared->status, 200);
    EXPECT_EQ(json::parse(cleared->body)["status"], 0);
    EXPECT_EQ(client->Post("/function/figlet", "x", "text/plain")->status, 200);
    metrics = metrics_of(server);
    EXPECT_EQ(
        sample(
            metrics,
            R"(gateway_function_invocation_total{code="200",function_name="figlet.openfaas-fn"})"),
        2);
    EXPECT_EQ(
        sample(metrics, R"(faas_sim_function_fault_status{function_name="figlet.openfaas-fn"})"),
        0);
}

TEST(FaasSimFault, AnswersAtOnceWithoutRunningTheFunction) {
    RunningServer server(kFunctions);
    auto client = server.client();
    ASSERT_EQ(client->Post("/system/fault/slow.openfaas-fn", fault_body("500"), "application/json")
                  ->status,
              200);
    auto start = Clock::now();
    auto response = client->Get("/function/slow");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 500);
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(300))
        << "the 400 ms sleep must not run";
}

TEST(FaasSimFault, AnswersAtOnceUnderTheNodeModel) {
    RunningServer server(kNodeModel);
    auto client = server.client();
    ASSERT_EQ(client->Post("/system/fault/busy", fault_body("429"), "application/json")->status,
              200);
    auto start = Clock::now();
    auto response = client->Get("/function/busy");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 429);
    EXPECT_EQ(response->body, "fault injected: busy.openfaas-fn answers 429\n");
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500))
        << "the 600 ms virtual CPU must not be taken";
    std::string metrics = metrics_of(server);
    EXPECT_EQ(sample(metrics, R"(faas_sim_node_peak_busy_cpus)"), 0);
}

// An injected status that an outcome also answers is one series, not two with the same labels.
TEST(FaasSimFault, SharesTheSeriesOfTheSameCode) {
    RunningServer server(kFunctions);
    auto client = server.client();
    ASSERT_EQ(client->Get("/function/parked")->status, 503);  // no replicas
    ASSERT_EQ(client->Post("/system/fault/parked", fault_body("503"), "application/json")->status,
              200);
    ASSERT_EQ(client->Get("/function/parked")->status, 503);  // injected
    std::string metrics = metrics_of(server);
    const std::string series =
        R"(gateway_function_invocation_total{code="503",function_name="parked.openfaas-fn"})";
    EXPECT_EQ(sample(metrics, series), 2) << metrics;
    EXPECT_EQ(metrics.find(series), metrics.rfind(series)) << "one series only:\n" << metrics;
    EXPECT_EQ(
        sample(
            metrics,
            R"(gateway_functions_seconds_bucket{code="503",function_name="parked.openfaas-fn",le="+Inf"})"),
        2);
}

TEST(FaasSimFault, RefusesBadBodiesAndChangesNothing) {
    RunningServer server(kFunctions);
    auto client = server.client();
    const std::string parse_error =
        "Cannot parse request. Please pass valid JSON: {\"status\": N}.\n";
    for (const std::string body :
         {"", "{", "[503]", "{}", R"({"status": "503"})", R"({"status": 503.5})",
          R"({"status": null})", R"({"code": 503})"}) {
        auto response = client->Post("/system/fault/figlet", body, "application/json");
        ASSERT_TRUE(response) << body;
        EXPECT_EQ(response->status, 400) << body;
        EXPECT_EQ(response->body, parse_error) << body;
    }
    for (const std::string status : {"200", "302", "399", "600", "-1", "65536", "99999999999"}) {
        auto response =
            client->Post("/system/fault/figlet", fault_body(status), "application/json");
        ASSERT_TRUE(response) << status;
        EXPECT_EQ(response->status, 400) << status;
        EXPECT_EQ(response->body, "status must be 0 (clear) or 400..599, got " + status + "\n");
    }
    // The bounds themselves are accepted.
    for (const std::string status : {"400", "599", "0"})
        EXPECT_EQ(
            client->Post("/system/fault/figlet", fault_body(status), "application/json")->status,
            200)
            << status;
    EXPECT_EQ(client->Post("/function/figlet", "x", "text/plain")->status, 200);
    EXPECT_EQ(sample(metrics_of(server),
                     R"(faas_sim_function_fault_status{function_name="figlet.openfaas-fn"})"),
              0);
}

TEST(FaasSimFault, UnknownFunctionIs500LikeScale) {
    RunningServer server(kFunctions);
    auto response =
        server.client()->Post("/system/fault/nope", fault_body("503"), "application/json");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 500);
    EXPECT_EQ(response->body, "Unable to lookup function deployment nope\n");
}

TEST(FaasSimFault, NeedsBasicAuthLikeTheOtherSystemPaths) {
    ServerOptions options;
    options.basic_auth = BasicAuthCredentials{"admin", "s3cret"};
    RunningServer server(kFunctions, options);
    auto anonymous = server.client();
    EXPECT_EQ(
        anonymous->Post("/system/fault/figlet", fault_body("503"), "application/json")->status,
        401);
    EXPECT_EQ(anonymous->Post("/function/figlet", "x", "text/plain")->status, 200)
        << "a refused fault must not be set";
    auto admin = server.client();
    admin->set_basic_auth("admin", "s3cret");
    EXPECT_EQ(admin->Post("/system/fault/figlet", fault_body("503"), "application/json")->status,
              200);
    EXPECT_EQ(anonymous->Post("/function/figlet", "x", "text/plain")->status, 503);
}

}  // namespace
}  // namespace faas_sim::test
