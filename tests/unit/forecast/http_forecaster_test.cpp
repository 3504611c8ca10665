// The HTTP client against an in-process server on the loopback interface.
#include "dfaas/forecast/http_forecaster.h"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace dfaas::forecast {
namespace {

using strategy::ForecastError;
using strategy::GroupLoad;

// A fake reference service on a loopback socket. cpp-httplib's server ignores bodies on GET, so
// this minimal server reads the raw request: it answers every request with `answer` and
// `status`, and remembers the last request's head and body.
class FakeService {
  public:
    FakeService(std::string answer, int status) : answer_(std::move(answer)), status_(status) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(address);
        if (listener_ < 0 ||
            ::bind(listener_, reinterpret_cast<sockaddr *>(&address), length) != 0 ||
            ::listen(listener_, 4) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr *>(&address), &length) != 0)
            throw std::runtime_error("fake service: cannot listen on loopback");
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeService() {
        ::shutdown(listener_, SHUT_RDWR);
        thread_.join();
        ::close(listener_);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string received_head() const {
        std::lock_guard lock(mutex_);
        return head_;
    }
    std::string received_body() const {
        std::lock_guard lock(mutex_);
        return body_;
    }

  private:
    void serve() {
        for (;;) {
            const int connection = ::accept(listener_, nullptr, nullptr);
            if (connection < 0) return;  // the listener was shut down
            handle(connection);
            ::close(connection);
        }
    }

    void handle(int connection) {
        std::string request;
        char buffer[4096];
        size_t head_end = std::string::npos;
        size_t wanted = 0;
        while (head_end == std::string::npos || request.size() < head_end + 4 + wanted) {
            const ssize_t got = ::recv(connection, buffer, sizeof(buffer), 0);
            if (got <= 0) return;
            request.append(buffer, static_cast<size_t>(got));
            head_end = request.find("\r\n\r\n");
            if (head_end != std::string::npos) wanted = content_length(request.substr(0, head_end));
        }
        {
            std::lock_guard lock(mutex_);
            head_ = request.substr(0, head_end);
            body_ = request.substr(head_end + 4, wanted);
        }
        const std::string response = "HTTP/1.1 " + std::to_string(status_) +
                                     " X\r\nContent-Type: application/json\r\nContent-Length: " +
                                     std::to_string(answer_.size()) +
                                     "\r\nConnection: close\r\n\r\n" + answer_;
        ::send(connection, response.data(), response.size(), MSG_NOSIGNAL);
    }

    static size_t content_length(const std::string &head) {
        const std::string key = "Content-Length: ";
        const size_t at = head.find(key);
        return at == std::string::npos ? 0 : std::stoul(head.substr(at + key.size()));
    }

    std::string answer_;
    int status_;
    int listener_ = -1;
    int port_ = 0;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::string head_;
    std::string body_;
};

std::string predict_error(const std::string &url) {
    try {
        HttpForecaster(url, std::chrono::milliseconds(500)).predict({}, NodeType::Mid);
    } catch (const ForecastError &error) {
        return error.what();
    }
    return "";
}

TEST(HttpForecaster, RequestBodyHasTheReferenceFields) {
    const auto body =
        nlohmann::json::parse(node_usage_request_body({1.5, 200, 3}, NodeType::Light));
    EXPECT_EQ(body, nlohmann::json::parse(R"({"rate_group_HIGH_USAGE": 1.5,
        "rate_group_LOW_USAGE": 200, "rate_group_MEDIUM_USAGE": 3, "node_type": 2})"));
}

TEST(HttpForecaster, ParsesTheOneElementList) {
    const auto prediction = parse_node_usage_response(
        R"([{"cpu_usage_node": 135.78, "ram_usage_node": 4655203285.34, "power_usage_node": 723252.52}])");
    EXPECT_EQ(prediction, (strategy::Prediction{135.78, 4655203285.34, 723252.52}));
}

TEST(HttpForecaster, MalformedAnswersAreErrors) {
    EXPECT_THROW(parse_node_usage_response("not json"), ForecastError);
    EXPECT_THROW(parse_node_usage_response("[]"), ForecastError);
    EXPECT_THROW(parse_node_usage_response(R"({"cpu_usage_node": 1})"), ForecastError);
    EXPECT_THROW(parse_node_usage_response(R"([{"cpu_usage_node": 1, "ram_usage_node": 2}])"),
                 ForecastError);
    EXPECT_THROW(parse_node_usage_response(
                     R"([{"cpu_usage_node": "1", "ram_usage_node": 2, "power_usage_node": 3}])"),
                 ForecastError);
}

TEST(HttpForecaster, SendsGetWithJsonBodyAndReadsTheAnswer) {
    FakeService service(
        R"([{"cpu_usage_node": 114.69, "ram_usage_node": 4591462787.71, "power_usage_node": 522137.01}])",
        200);
    const HttpForecaster forecaster(service.url());
    const auto prediction = forecaster.predict({0, 100, 0}, NodeType::Mid);
    EXPECT_EQ(prediction, (strategy::Prediction{114.69, 4591462787.71, 522137.01}));
    EXPECT_EQ(nlohmann::json::parse(service.received_body()),
              nlohmann::json::parse(node_usage_request_body({0, 100, 0}, NodeType::Mid)));
    const std::string head = service.received_head();
    EXPECT_EQ(head.rfind("GET /node_usage HTTP/1.1", 0), 0u) << head;
    EXPECT_NE(head.find("Content-Type: application/json"), std::string::npos) << head;
}

TEST(HttpForecaster, ServerErrorsAreForecastErrors) {
    FakeService failing(R"({"detail": "boom"})", 500);
    EXPECT_NE(predict_error(failing.url()).find("HTTP status 500"), std::string::npos);
    FakeService garbage("<html>", 200);
    EXPECT_NE(predict_error(garbage.url()).find("not JSON"), std::string::npos);
}

TEST(HttpForecaster, UnreachableServiceIsAForecastError) {
    // Listen on a port, then close it, so nothing listens there.
    std::string url;
    { url = FakeService("[]", 200).url(); }
    EXPECT_NE(predict_error(url).find("/node_usage"), std::string::npos);
}

TEST(HttpForecaster, InvalidUrlIsRejectedAtConstruction) {
    EXPECT_THROW(HttpForecaster("ftp://x"), ForecastError);
    EXPECT_THROW(HttpForecaster("http://host:8000/api"), ForecastError);
    EXPECT_THROW(HttpForecaster("forecaster:8000"), ForecastError);
    EXPECT_EQ(HttpForecaster("http://forecaster:8000/").base_url(), "http://forecaster:8000");
}

}  // namespace
}  // namespace dfaas::forecast
