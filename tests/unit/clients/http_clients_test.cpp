// The clients against a real HTTP server on 127.0.0.1 (cpp-httplib), no root needed.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "dfaas/clients/openfaas.h"
#include "dfaas/clients/prometheus.h"
#include "dfaas/clients/promql.h"
#include "fixtures.h"

namespace promql = dfaas::promql;

using namespace std::chrono_literals;

namespace {

// A server on an ephemeral loopback port, stopped and joined on destruction.
class LocalServer {
  public:
    LocalServer() {
        server_.new_task_queue = [] { return new httplib::ThreadPool(2); };
    }
    ~LocalServer() {
        server_.stop();
        if (thread_.joinable()) thread_.join();
    }
    httplib::Server &routes() { return server_; }

    void start() {
        port_ = server_.bind_to_any_port("127.0.0.1");
        ASSERT_GT(port_, 0);
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        for (int i = 0; i < 1000 && !server_.is_running(); ++i)
            std::this_thread::sleep_for(1ms);
        ASSERT_TRUE(server_.is_running());
    }
    dfaas::HttpUrl url(const std::string &path = "") const {
        return *dfaas::HttpUrl::parse("http://127.0.0.1:" + std::to_string(port_) + path);
    }

  private:
    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
};

// A loopback port nothing listens on: bound once to learn a free number, then released.
int unused_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

// base64("admin:secret"), what a basic-auth client must send.
constexpr const char *kExpectedAuthorization = "Basic YWRtaW46c2VjcmV0";

// Serves GET /system/functions like a gateway with basic auth enabled.
void add_gateway_routes(httplib::Server &server, const std::string &prefix = "") {
    server.Get(prefix + "/system/functions", [](const httplib::Request &request,
                                                httplib::Response &response) {
        if (request.get_header_value("Authorization") != kExpectedAuthorization) {
            response.status = 401;
            response.set_header("WWW-Authenticate", "Basic realm=\"Restricted\"");
            response.set_content("invalid credentials", "text/plain");
            return;
        }
        response.set_content(read_fixture("openfaas/functions_gateway.json"), "application/json");
    });
}

dfaas::OpenFaasClient gateway_client(const dfaas::HttpUrl &url, std::string username = "admin",
                                     std::string password = "secret",
                                     std::chrono::milliseconds timeout = 2s) {
    return dfaas::OpenFaasClient({url, std::move(username), std::move(password), timeout});
}

}  // namespace

TEST(OpenFaasClient, ListsFunctionsWithBasicAuth) {
    LocalServer server;
    add_gateway_routes(server.routes());
    server.start();
    auto functions = gateway_client(server.url()).list_functions();
    ASSERT_TRUE(functions) << functions.error();
    ASSERT_EQ(functions->size(), 4u);
    EXPECT_EQ(functions->front().name, "figlet");
}

TEST(OpenFaasClient, HonoursAPathPrefix) {
    LocalServer server;
    add_gateway_routes(server.routes(), "/openfaas");
    server.start();
    auto functions = gateway_client(server.url("/openfaas")).list_functions();
    ASSERT_TRUE(functions) << functions.error();
    EXPECT_EQ(functions->size(), 4u);
}

TEST(OpenFaasClient, WrongOrMissingCredentialsGive401WithAHint) {
    LocalServer server;
    add_gateway_routes(server.routes());
    server.start();
    std::string prefix =
        "GET " + server.url().origin() + "/system/functions: HTTP 401: invalid credentials";
    auto wrong = gateway_client(server.url(), "admin", "guess").list_functions();
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().substr(0, prefix.size()), prefix) << wrong.error();
    EXPECT_NE(wrong.error().find("openfaas.password_file"), std::string::npos);
    auto anonymous = gateway_client(server.url(), "", "").list_functions();
    ASSERT_FALSE(anonymous);
    EXPECT_EQ(anonymous.error().substr(0, prefix.size()), prefix) << anonymous.error();
}

TEST(OpenFaasClient, ServerErrorsCarryTheBody) {
    LocalServer server;
    server.routes().Get("/system/functions", [](const httplib::Request &, httplib::Response &res) {
        res.status = 500;
        res.set_content("Unable to parse list of functions from provider\n", "text/plain");
    });
    server.start();
    auto functions = gateway_client(server.url(), "", "").list_functions();
    ASSERT_FALSE(functions);
    EXPECT_EQ(functions.error(), "GET " + server.url().origin() +
                                     "/system/functions: HTTP 500: Unable to parse list of "
                                     "functions from provider");
}

TEST(OpenFaasClient, MalformedBodyIsAnErrorNamingTheRequest) {
    LocalServer server;
    server.routes().Get("/system/functions", [](const httplib::Request &, httplib::Response &res) {
        res.set_content(read_fixture("openfaas/functions_truncated.json"), "application/json");
    });
    server.start();
    auto functions = gateway_client(server.url(), "", "").list_functions();
    ASSERT_FALSE(functions);
    std::string prefix = "GET " + server.url().origin() + "/system/functions: malformed JSON";
    EXPECT_EQ(functions.error().substr(0, prefix.size()), prefix) << functions.error();
}

TEST(OpenFaasClient, ConnectionRefused) {
    int port = unused_port();
    auto url = *dfaas::HttpUrl::parse("http://127.0.0.1:" + std::to_string(port));
    auto functions = gateway_client(url).list_functions();
    ASSERT_FALSE(functions);
    EXPECT_EQ(functions.error(), "GET http://127.0.0.1:" + std::to_string(port) +
                                     "/system/functions: connection refused");
}

TEST(OpenFaasClient, UnresolvableHost) {
    auto url = *dfaas::HttpUrl::parse("http://no-such-host.invalid:8080");
    auto functions = gateway_client(url, "", "", 500ms).list_functions();
    ASSERT_FALSE(functions);
    EXPECT_NE(functions.error().find("cannot resolve host \"no-such-host.invalid\""),
              std::string::npos)
        << functions.error();
}

TEST(OpenFaasClient, TimesOutOnASlowGateway) {
    LocalServer server;
    server.routes().Get("/system/functions", [](const httplib::Request &, httplib::Response &res) {
        std::this_thread::sleep_for(1s);
        res.set_content("[]", "application/json");
    });
    server.start();
    auto started = std::chrono::steady_clock::now();
    auto functions = gateway_client(server.url(), "", "", 200ms).list_functions();
    auto elapsed = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(functions);
    EXPECT_EQ(functions.error(),
              "GET " + server.url().origin() + "/system/functions: no response within 200ms");
    EXPECT_LT(elapsed, 900ms);
}

TEST(PrometheusClient, SendsTheQueryEncodedAndParsesTheAnswer) {
    LocalServer server;
    std::mutex mutex;
    std::string received_query, received_timeout;
    server.routes().Get("/api/v1/query", [&](const httplib::Request &req, httplib::Response &res) {
        std::lock_guard lock(mutex);
        received_query = req.get_param_value("query");
        received_timeout = req.get_param_value("timeout");
        res.set_content(read_fixture("prometheus/vector_invocation_rate.json"), "application/json");
    });
    server.start();
    dfaas::PrometheusClient client({server.url(), 1500ms});
    std::string query = promql::invocation_rate_by_code(20s) + " + 0 * up{job=~\"gate.*\"}";
    auto result = client.query(query);
    ASSERT_TRUE(result) << result.error();
    EXPECT_EQ(result->samples.size(), 4u);
    std::lock_guard lock(mutex);
    EXPECT_EQ(received_query, query);
    EXPECT_EQ(received_timeout, "1500ms");
}

TEST(PrometheusClient, ErrorAnswersNameTheQuery) {
    LocalServer server;
    server.routes().Get("/api/v1/query", [](const httplib::Request &, httplib::Response &res) {
        res.status = 400;
        res.set_content(read_fixture("prometheus/error_bad_data.json"), "application/json");
    });
    server.start();
    dfaas::PrometheusClient client({server.url(), 2s});
    auto result = client.query("sum(");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), "query `sum(`: GET " + server.url().origin() +
                                  "/api/v1/query: HTTP 400: bad_data: invalid parameter "
                                  "\"query\": 1:6: parse error: unclosed left parenthesis");
}

TEST(PrometheusClient, ConnectionRefused) {
    int port = unused_port();
    dfaas::PrometheusClient client(
        {*dfaas::HttpUrl::parse("http://127.0.0.1:" + std::to_string(port)), 2s});
    auto result = client.query("up");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), "query `up`: GET http://127.0.0.1:" + std::to_string(port) +
                                  "/api/v1/query: connection refused");
}

TEST(PrometheusClient, TimesOut) {
    LocalServer server;
    server.routes().Get("/api/v1/query", [](const httplib::Request &, httplib::Response &res) {
        std::this_thread::sleep_for(1s);
        res.set_content(read_fixture("prometheus/scalar.json"), "application/json");
    });
    server.start();
    dfaas::PrometheusClient client({server.url(), 150ms});
    auto result = client.query("up");
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().find("no response within 150ms"), std::string::npos) << result.error();
}
