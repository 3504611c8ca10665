// The server over HTTP on 127.0.0.1: gateway API shapes, behaviours, capacity, auth, metrics.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "faas_sim/banner.h"
#include "faas_sim/metrics.h"
#include "test_support.h"

namespace faas_sim::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const char *kCatalogue = R"(
functions:
  - name: figlet
    image: ghcr.io/openfaas/figlet:latest
    behaviour: figlet
    labels: {dfaas.maxrate: "100", dfaas.group: LOW_USAGE, dfaas.port: "31001"}
    annotations: {team: edge}
  - name: echo
    behaviour: echo
  - name: shasum
    behaviour: shasum
  - name: env
    behaviour: env
    env: {GREETING: hello}
  - name: burner
    behaviour: cpu
    cpu_ms: 120
  - name: sleeper
    behaviour: sleep
    sleep_ms: 150
  - name: parked
    behaviour: echo
    replicas: 0
)";

TEST(FaasSimServer, ListsFunctionStatusWithZeroValuesOmitted) {
    RunningServer server(kCatalogue);
    auto response = server.client()->Get("/system/functions");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    EXPECT_EQ(response->get_header_value("Content-Type"), "application/json");
    json list = json::parse(response->body);
    ASSERT_TRUE(list.is_array());
    ASSERT_EQ(list.size(), 7u);

    const json &figlet = list[0];
    EXPECT_EQ(figlet["name"], "figlet");
    EXPECT_EQ(figlet["image"], "ghcr.io/openfaas/figlet:latest");
    EXPECT_EQ(figlet["namespace"], "openfaas-fn");
    EXPECT_EQ(figlet["envProcess"], "figlet");
    EXPECT_EQ(figlet["labels"]["dfaas.maxrate"], "100");
    EXPECT_EQ(figlet["labels"]["dfaas.group"], "LOW_USAGE");
    EXPECT_EQ(figlet["labels"]["dfaas.port"], "31001");
    EXPECT_EQ(figlet["labels"]["faas_function"], "figlet");
    EXPECT_EQ(figlet["annotations"]["team"], "edge");
    EXPECT_EQ(figlet["replicas"], 1);
    EXPECT_EQ(figlet["availableReplicas"], 1);
    EXPECT_FALSE(figlet.contains("invocationCount")) << "zero invocations must be omitted";
    EXPECT_FALSE(figlet.contains("envVars"));
    EXPECT_FALSE(figlet.contains("limits"));
    EXPECT_TRUE(std::regex_match(figlet["createdAt"].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));

    const json &burner = list[4];
    EXPECT_FALSE(burner.contains("envProcess")) << "a cpu function has no process";
    const json &parked = list[6];
    EXPECT_EQ(parked["name"], "parked");
    EXPECT_FALSE(parked.contains("replicas"));
    EXPECT_FALSE(parked.contains("availableReplicas"));
    EXPECT_EQ(list[3]["envVars"]["GREETING"], "hello");
}

TEST(FaasSimServer, CountsInvocationsInTheListOnly) {
    RunningServer server(kCatalogue);
    auto client = server.client();
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(client->Post("/function/echo", "x", "text/plain")->status, 200);
    json list = json::parse(client->Get("/system/functions")->body);
    EXPECT_EQ(list[1]["name"], "echo");
    EXPECT_EQ(list[1]["invocationCount"], 3);
    EXPECT_FALSE(list[0].contains("invocationCount"));

    auto single = client->Get("/system/function/echo");
    ASSERT_EQ(single->status, 200);
    json status = json::parse(single->body);
    EXPECT_EQ(status["name"], "echo");
    EXPECT_FALSE(status.contains("invocationCount")) << "the gateway adds it to the list only";
}

TEST(FaasSimServer, FindsFunctionsByQualifiedName) {
    RunningServer server(kCatalogue);
    auto client = server.client();
    auto status = client->Get("/system/function/figlet.openfaas-fn");
    ASSERT_EQ(status->status, 200);
    EXPECT_EQ(json::parse(status->body)["name"], "figlet");
    auto invocation = client->Post("/function/echo.openfaas-fn", "hi", "text/plain");
    ASSERT_EQ(invocation->status, 200);
    EXPECT_EQ(invocation->body, "hi");
}

TEST(FaasSimServer, UnknownFunctionIs404) {
    RunningServer server(kCatalogue);
    auto client = server.client();
    auto status = client->Get("/system/function/nope");
    ASSERT_TRUE(status);
    EXPECT_EQ(status->status, 404);
    EXPECT_EQ(status->body, "") << "the provider's 404 has an empty body";
    auto other_namespace = client->Get("/system/function/figlet.elsewhere");
    EXPECT_EQ(other_namespace->status, 404);

    auto invocation = client->Post("/function/nope", "x", "text/plain");
    ASSERT_TRUE(invocation);
    EXPECT_EQ(invocation->status, 404);
    EXPECT_EQ(invocation->body, "error finding function nope.openfaas-fn: not found");
}

TEST(FaasSimServer, ChecksTheNamespaceParameter) {
    RunningServer server(kCatalogue);
    auto client = server.client();
    auto good = client->Get("/system/functions?namespace=openfaas-fn");
    ASSERT_EQ(good->status, 200);
    EXPECT_EQ(json::parse(good->body).size(), 7u);
    auto bad = client->Get("/system/functions?namespace=kube-system");
    ASSERT_EQ(bad->status, 400);
    EXPECT_EQ(bad->body, "namespace must be: openfaas-fn\n");
}

TEST(FaasSimServer, FigletRendersTheBodyAsABanner) {
    RunningServer server(kCatalogue);
    auto response = server.client()->Post("/function/figlet", "Hi", "text/plain");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    // H and I of the font side by side, one column apart.
    EXPECT_EQ(response->body,
              "#   # ###\n"
              "#   #  #\n"
              "#####  #\n"
              "#   #  #\n"
              "#   # ###\n");
}

TEST(FaasSimServer, EchoReturnsTheBodyAndItsContentType) {
    RunningServer server(kCatalogue);
    auto response = server.client()->Post("/function/echo", R"({"a":1})", "application/json");
    ASSERT_EQ(response->status, 200);
    EXPECT_EQ(response->body, R"({"a":1})");
    EXPECT_EQ(response->get_header_value("Content-Type"), "application/json");
    EXPECT_TRUE(response->has_header("X-Duration-Seconds"));
}

TEST(FaasSimServer, ShasumPrintsSha512LikeSha512sum) {
    RunningServer server(kCatalogue);
    auto response = server.client()->Post("/function/shasum", "abc", "text/plain");
    ASSERT_EQ(response->status, 200);
    // FIPS 180-2 test vector for "abc".
    EXPECT_EQ(response->body,
              "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
              "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f  -\n");
}

TEST(FaasSimServer, EnvShowsTheEnvironmentAndTheRequest) {
    RunningServer server(kCatalogue);
    auto response = server.client()->Get("/function/env/sub/path?x=1", {{"X-Test", "yes"}});
    ASSERT_EQ(response->status, 200);
    EXPECT_NE(response->body.find("GREETING=hello\n"), std::string::npos) << response->body;
    EXPECT_NE(response->body.find("fprocess=env\n"), std::string::npos);
    EXPECT_NE(response->body.find("Http_Method=GET\n"), std::string::npos);
    EXPECT_NE(response->body.find("Http_Path=/sub/path\n"), std::string::npos);
    EXPECT_NE(response->body.find("Http_Query=x=1\n"), std::string::npos);
    EXPECT_NE(response->body.find("Http_X_Test=yes\n"), std::string::npos);
}

TEST(FaasSimServer, CpuBehaviourTakesAtLeastItsCpuTime) {
    RunningServer server(kCatalogue);
    auto start = Clock::now();
    auto response = server.client()->Post("/function/burner", "", "text/plain");
    auto elapsed = Clock::now() - start;
    ASSERT_EQ(response->status, 200);
    EXPECT_GE(elapsed, std::chrono::milliseconds(120));
    EXPECT_GE(std::stod(response->get_header_value("X-Duration-Seconds")), 0.120);
}

TEST(FaasSimServer, SleepBehaviourTakesAtLeastItsTime) {
    RunningServer server(kCatalogue);
    auto start = Clock::now();
    auto response = server.client()->Get("/function/sleeper");
    auto elapsed = Clock::now() - start;
    ASSERT_EQ(response->status, 200);
    EXPECT_GE(elapsed, std::chrono::milliseconds(150));
}

TEST(FaasSimServer, ServiceTimeAddsToAnyBehaviour) {
    RunningServer server(R"(
functions:
  - {name: slow-echo, behaviour: echo, sleep_ms: 60, cpu_ms: 40}
)");
    auto start = Clock::now();
    auto response = server.client()->Post("/function/slow-echo", "body", "text/plain");
    auto elapsed = Clock::now() - start;
    ASSERT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "body");
    EXPECT_GE(elapsed, std::chrono::milliseconds(100));
}

const char *kOneSlot = R"(
functions:
  - {name: narrow, behaviour: sleep, sleep_ms: 600, max_inflight: 1}
  - {name: wide, behaviour: sleep, sleep_ms: 600, max_inflight: 1, replicas: 2}
)";

// Starts a request in the background and waits until the server has it in flight.
std::future<httplib::Result> start_in_flight(const RunningServer &server, const std::string &path,
                                             const std::string &function_name,
                                             double expected_inflight) {
    auto future = std::async(std::launch::async,
                             [&server, path] { return server.client()->Get(path.c_str()); });
    std::string series =
        "faas_sim_function_inflight_requests{function_name=\"" + function_name + "\"}";
    EXPECT_TRUE(eventually([&] { return sample(metrics_of(server), series) == expected_inflight; }))
        << "the first request never got in flight";
    return future;
}

TEST(FaasSimServer, AnswersTooManyRequestsOverCapacity) {
    RunningServer server(kOneSlot);
    auto first = start_in_flight(server, "/function/narrow", "narrow.openfaas-fn", 1);

    auto start = Clock::now();
    auto second = server.client()->Get("/function/narrow");
    auto elapsed = Clock::now() - start;
    ASSERT_TRUE(second);
    EXPECT_EQ(second->status, 429);
    EXPECT_LT(elapsed, std::chrono::milliseconds(300)) << "a 429 must not wait for capacity";
    EXPECT_EQ(second->body, "Concurrent request limit exceeded. Max concurrent requests: 1\n");

    auto first_response = first.get();
    ASSERT_TRUE(first_response);
    EXPECT_EQ(first_response->status, 200);

    std::string metrics = metrics_of(server);
    EXPECT_EQ(
        sample(
            metrics,
            R"(gateway_function_invocation_total{code="200",function_name="narrow.openfaas-fn"})"),
        1);
    EXPECT_EQ(
        sample(
            metrics,
            R"(gateway_function_invocation_total{code="429",function_name="narrow.openfaas-fn"})"),
        1);
    EXPECT_EQ(sample(metrics,
                     R"(gateway_function_invocation_started{function_name="narrow.openfaas-fn"})"),
              2);
    EXPECT_EQ(
        sample(metrics,
               R"(gateway_functions_seconds_count{code="429",function_name="narrow.openfaas-fn"})"),
        1);
    // The next request fits again once the first is done.
    EXPECT_EQ(server.client()->Get("/function/narrow")->status, 200);
}

TEST(FaasSimServer, CapacityIsReplicasTimesMaxInflight) {
    RunningServer server(kOneSlot);
    auto first = start_in_flight(server, "/function/wide", "wide.openfaas-fn", 1);
    auto second = start_in_flight(server, "/function/wide", "wide.openfaas-fn", 2);
    EXPECT_EQ(server.client()->Get("/function/wide")->status, 429);
    EXPECT_EQ(first.get()->status, 200);
    EXPECT_EQ(second.get()->status, 200);
}

TEST(FaasSimServer, NoReplicasAnswers503LikeTheProvider) {
    RunningServer server(kCatalogue);
    auto response = server.client()->Post("/function/parked", "x", "text/plain");
    ASSERT_EQ(response->status, 503);
    EXPECT_EQ(response->body, "No endpoints available for: parked.\n");
    EXPECT_EQ(response->get_header_value("X-OpenFaaS-Internal"), "proxy");
}

TEST(FaasSimServer, ScalesFunctions) {
    RunningServer server(kOneSlot);
    auto client = server.client();
    auto scaled = client->Post("/system/scale-function/narrow",
                               R"({"serviceName":"narrow","replicas":3})", "application/json");
    ASSERT_EQ(scaled->status, 202);
    EXPECT_EQ(scaled->body, "");
    EXPECT_EQ(json::parse(client->Get("/system/function/narrow")->body)["replicas"], 3);
    EXPECT_NE(metrics_of(server).find(
                  "faas_sim_function_capacity_requests{function_name=\"narrow.openfaas-fn\"} 3\n"),
              std::string::npos);

    auto to_zero =
        client->Post("/system/scale-function/narrow", R"({"replicas":0})", "application/json");
    ASSERT_EQ(to_zero->status, 202);
    EXPECT_EQ(json::parse(client->Get("/system/function/narrow")->body)["replicas"], 1)
        << "scaling never goes below one replica, as in OpenFaaS CE";

    EXPECT_EQ(client->Post("/system/scale-function/narrow", "{", "application/json")->status, 400);
    auto unknown =
        client->Post("/system/scale-function/nope", R"({"replicas":2})", "application/json");
    EXPECT_EQ(unknown->status, 500);
    EXPECT_EQ(unknown->body, "Unable to lookup function deployment nope\n");
}

ServerOptions with_auth() {
    ServerOptions options;
    options.basic_auth = BasicAuthCredentials{"admin", "s3cret"};
    return options;
}

TEST(FaasSimServer, BasicAuthProtectsSystemEndpointsOnly) {
    RunningServer server(kCatalogue, with_auth());
    auto anonymous = server.client()->Get("/system/functions");
    ASSERT_TRUE(anonymous);
    EXPECT_EQ(anonymous->status, 401);
    EXPECT_EQ(anonymous->body, "invalid credentials");
    EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate"), R"(Basic realm="Restricted")");

    auto wrong = server.client();
    wrong->set_basic_auth("admin", "guess");
    EXPECT_EQ(wrong->Get("/system/functions")->status, 401);
    EXPECT_EQ(wrong->Get("/system/function/figlet")->status, 401);
    EXPECT_EQ(wrong->Post("/system/scale-function/figlet", "{}", "application/json")->status, 401);

    auto wrong_user = server.client();
    wrong_user->set_basic_auth("root", "s3cret");
    EXPECT_EQ(wrong_user->Get("/system/functions")->status, 401);

    auto right = server.client();
    right->set_basic_auth("admin", "s3cret");
    EXPECT_EQ(right->Get("/system/functions")->status, 200);
    EXPECT_EQ(right->Get("/system/function/figlet")->status, 200);

    auto open = server.client();
    EXPECT_EQ(open->Post("/function/echo", "x", "text/plain")->status, 200);
    EXPECT_EQ(open->Get("/healthz")->status, 200);
    EXPECT_EQ(open->Get("/metrics")->status, 200);
}

TEST(FaasSimServer, EveryResponseNamesTheNode) {
    ServerOptions options = with_auth();
    options.node_name = "node-a";
    options.max_body_bytes = 1024;
    RunningServer server(kOneSlot, options);
    auto in_flight = start_in_flight(server, "/function/narrow", "narrow.openfaas-fn", 1);
    auto client = server.client();
    std::vector<std::pair<std::string, httplib::Result>> responses;
    responses.emplace_back("429", client->Get("/function/narrow"));
    responses.emplace_back("404 function", client->Get("/function/nope"));
    responses.emplace_back("404 route", client->Get("/no/such/route"));
    responses.emplace_back("401", client->Get("/system/functions"));
    responses.emplace_back("413",
                           client->Post("/function/narrow", std::string(4096, 'x'), "text/plain"));
    responses.emplace_back("healthz", client->Get("/healthz"));
    responses.emplace_back("metrics", client->Get("/metrics"));
    responses.emplace_back("200", in_flight.get());
    for (auto &[what, response] : responses) {
        ASSERT_TRUE(response) << what;
        EXPECT_EQ(response->get_header_value("DFaaS-Node-ID"), "node-a") << what;
    }
    EXPECT_EQ(responses[0].second->status, 429);
    EXPECT_EQ(responses[4].second->status, 413);
    EXPECT_EQ(responses[7].second->status, 200);
}

// Sends raw bytes and returns whatever the server answers before closing or a short timeout.
std::string raw_exchange(int port, const std::string &request) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string answer;
    if (connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) == 0 &&
        send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
        char buffer[1024];
        for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
            answer.append(buffer, static_cast<size_t>(n));
            if (answer.find("\r\n\r\n") != std::string::npos) break;
        }
    }
    close(fd);
    return answer;
}

TEST(FaasSimServer, EvenAMalformedRequestGetsTheNodeHeader) {
    ServerOptions options;
    options.node_name = "node-c";
    RunningServer server(kCatalogue, options);
    std::string answer = raw_exchange(server.port(), "GARBAGE\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_NE(answer.find("DFaaS-Node-ID: node-c\r\n"), std::string::npos) << answer;
}

TEST(FaasSimServer, MetricsHaveTheGatewayNamesAndLabels) {
    RunningServer server(kCatalogue);
    auto client = server.client();
    for (int i = 0; i < 4; ++i)
        ASSERT_EQ(client->Post("/function/echo", "x", "text/plain")->status, 200);
    ASSERT_EQ(client->Post("/function/parked", "x", "text/plain")->status, 503);

    auto response = client->Get("/metrics");
    ASSERT_EQ(response->status, 200);
    EXPECT_EQ(response->get_header_value("Content-Type"), kMetricsContentType);
    std::string metrics = "\n" + response->body;
    const std::string echo = R"(function_name="echo.openfaas-fn")";
    EXPECT_EQ(sample(metrics, "gateway_function_invocation_total{code=\"200\"," + echo + "}"), 4);
    EXPECT_EQ(sample(metrics, "gateway_function_invocation_started{" + echo + "}"), 4);
    EXPECT_EQ(sample(metrics, "gateway_functions_seconds_count{code=\"200\"," + echo + "}"), 4);
    EXPECT_EQ(
        sample(metrics, "gateway_functions_seconds_bucket{code=\"200\"," + echo + ",le=\"+Inf\"}"),
        4);
    EXPECT_GE(
        sample(metrics, "gateway_functions_seconds_bucket{code=\"200\"," + echo + ",le=\"10\"}"),
        4);
    EXPECT_GT(sample(metrics, "gateway_functions_seconds_sum{code=\"200\"," + echo + "}"), 0);
    EXPECT_EQ(
        sample(
            metrics,
            R"(gateway_function_invocation_total{code="503",function_name="parked.openfaas-fn"})"),
        1);
    EXPECT_EQ(sample(metrics, "gateway_service_count{" + echo + "}"), 1);
    EXPECT_EQ(sample(metrics, R"(gateway_service_count{function_name="parked.openfaas-fn"})"), 0);
    EXPECT_EQ(sample(metrics, "gateway_function_invocation_total{code=\"429\"," + echo + "}"), -1)
        << "codes never observed are not exported";
    for (double bound : kLatencyBucketBounds) {
        std::string le = fmt::format("{}", bound);
        EXPECT_NE(metrics.find("le=\"" + le + "\""), std::string::npos) << le;
    }
}

TEST(FaasSimServer, MetricsPassPromtool) {
    if (std::system("command -v promtool > /dev/null 2>&1") != 0) {
        GTEST_SKIP() << "promtool not found in PATH (Debian package 'prometheus'); "
                        "the exposition was not linted";
    }
    RunningServer server(kOneSlot);
    auto in_flight = start_in_flight(server, "/function/narrow", "narrow.openfaas-fn", 1);
    ASSERT_EQ(server.client()->Get("/function/narrow")->status, 429);
    ASSERT_EQ(in_flight.get()->status, 200);

    auto response = server.client()->Get("/metrics");
    ASSERT_EQ(response->status, 200);
    TempFile exposition("metrics.prom", response->body);
    std::string command = "promtool check metrics < '" + exposition.path().string() + "' 2>&1";
    FILE *pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[512];
    while (fgets(buffer, sizeof(buffer), pipe) != nullptr)
        output += buffer;
    int status = pclose(pipe);
    EXPECT_EQ(status, 0) << "promtool: " << output << "\nexposition:\n" << response->body;
}

TEST(FaasSimServer, HealthzAnswersOk) {
    RunningServer server(kCatalogue);
    auto response = server.client()->Get("/healthz");
    ASSERT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "OK");
}

TEST(FaasSimServer, StopEndsServeEvenBeforeItStarts) {
    ServerOptions options;
    options.listen = {"127.0.0.1", 0};
    FaasSimServer server(specs_from_yaml(kCatalogue), options);
    server.bind();
    server.stop();
    auto serving = std::async(std::launch::async, [&server] { server.serve(); });
    EXPECT_EQ(serving.wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST(FaasSimServer, StopCutsLongSleepsShort) {
    auto server = std::make_unique<RunningServer>(R"(
functions:
  - {name: long, behaviour: sleep, sleep_ms: 60000}
)");
    auto in_flight = start_in_flight(*server, "/function/long", "long.openfaas-fn", 1);
    auto start = Clock::now();
    server.reset();
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
    in_flight.wait();
}

}  // namespace
}  // namespace faas_sim::test
