// The engine against real sockets: servers on 127.0.0.1 started by each test, whose own counts
// (accepted connections, received requests, arrival times) are the reference.
#include "dfaas/loadgen/engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <chrono>
#include <numeric>
#include <thread>

#include "test_server.h"

namespace dfaas::loadgen {
namespace {

using testing::Clock;
using testing::http_reply;
using testing::ReceivedRequest;
using testing::Reply;
using testing::TestServer;
using namespace std::chrono_literals;

constexpr Nanos kSecond = kNanosPerSecond;
constexpr Nanos kMilli = kNanosPerMilli;

RunConfig config_for(const std::vector<std::string> &urls, double rate, Nanos duration) {
    RunConfig config;
    for (const std::string &url : urls)
        config.targets.push_back(resolve_target(url));
    config.schedule = Schedule::constant(rate, duration);
    config.timeout = 2 * kSecond;
    return config;
}

RunResult run(RunConfig config) {
    LoadGenerator generator(std::move(config));
    return generator.run();
}

Reply ok(const ReceivedRequest &) {
    return http_reply(200);
}

uint64_t count_of(const std::map<int, uint64_t> &codes, int code) {
    auto it = codes.find(code);
    return it == codes.end() ? 0 : it->second;
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

TEST(Engine, SendsExactlyRateTimesDurationAndHoldsTheRate) {
    TestServer server(ok);
    RunResult result = run(config_for({server.url()}, 400, 3 * kSecond));

    EXPECT_EQ(result.totals.issued, 1200u);
    EXPECT_EQ(server.request_count(), 1200u);
    EXPECT_EQ(count_of(result.totals.status_codes, 200), 1200u);
    EXPECT_EQ(result.totals.errors, 0u);
    EXPECT_NEAR(result.rate(), 400.0, 400.0 * 0.02);
    // The server's view: 1199 intervals of 2.5 ms between the first and the last arrival.
    std::vector<ReceivedRequest> received = server.received();
    double span = seconds_between(received.front().arrival, received.back().arrival);
    EXPECT_NEAR(span, 1199 / 400.0, 1199 / 400.0 * 0.02);
    // One connection per request, each asking the server to close it.
    EXPECT_EQ(server.accepted_connections(), 1200u);
    EXPECT_EQ(result.connections_opened, 1200u);
    for (const ReceivedRequest &request : received)
        EXPECT_EQ(request.headers.at("connection"), "close");
    EXPECT_LT(result.totals.lag.percentile(99), 50 * kMilli);
}

TEST(Engine, SlowServerDoesNotSlowTheSchedule) {
    TestServer server([](const ReceivedRequest &) {
        Reply reply = http_reply(200);
        reply.delay = 300ms;
        return reply;
    });
    RunResult result = run(config_for({server.url()}, 100, 2 * kSecond));

    EXPECT_EQ(count_of(result.totals.status_codes, 200), 200u);
    EXPECT_NEAR(result.rate(), 100.0, 2.0);
    std::vector<ReceivedRequest> received = server.received();
    EXPECT_NEAR(seconds_between(received.front().arrival, received.back().arrival), 1.99, 0.04);
    EXPECT_GE(result.totals.latency.percentile(50), 300 * kMilli);
    EXPECT_GE(result.wait, 290 * kMilli);  // the last response came ~300 ms after the last send
}

TEST(Engine, CountsMixedStatusCodes) {
    TestServer server([](const ReceivedRequest &request) {
        static constexpr int kCodes[] = {200, 429, 503};
        return http_reply(kCodes[request.sequence % 3], "x");
    });
    RunResult result = run(config_for({server.url()}, 150, 2 * kSecond));

    EXPECT_EQ(result.totals.issued, 300u);
    EXPECT_EQ(count_of(result.totals.status_codes, 200), 100u);
    EXPECT_EQ(count_of(result.totals.status_codes, 429), 100u);
    EXPECT_EQ(count_of(result.totals.status_codes, 503), 100u);
    EXPECT_EQ(result.totals.responses, 300u);
    EXPECT_EQ(result.totals.success, 100u);
    EXPECT_NEAR(result.success_ratio(), 1.0 / 3, 1e-9);
    EXPECT_NEAR(result.http_200_ratio(), 1.0 / 3, 1e-9);
    EXPECT_EQ(result.totals.bytes_in, 300u);
}

// A bound socket that never listens: the kernel answers SYNs with RST, so the port stays closed
// for the whole test and no other test can take it.
class ClosedPort {
  public:
    ClosedPort() {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd_, reinterpret_cast<sockaddr *>(&address), sizeof address);
        socklen_t length = sizeof address;
        getsockname(fd_, reinterpret_cast<sockaddr *>(&address), &length);
        port_ = ntohs(address.sin_port);
    }
    ~ClosedPort() { close(fd_); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

  private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

TEST(Engine, ConnectionRefusedIsStatusZeroKindRefused) {
    ClosedPort closed;
    RunResult result = run(config_for({closed.url()}, 50, kSecond));

    EXPECT_EQ(result.totals.issued, 50u);
    EXPECT_EQ(result.totals.errors, 50u);
    EXPECT_EQ(result.totals.error_kinds[static_cast<size_t>(ErrorKind::Refused)], 50u);
    EXPECT_TRUE(result.totals.status_codes.empty());
    EXPECT_EQ(result.totals.latency.count(), 0u);
    EXPECT_EQ(result.success_ratio(), 0.0);
}

TEST(Engine, ServerThatNeverAnswersTimesOut) {
    TestServer server([](const ReceivedRequest &) {
        Reply reply;
        reply.never_answer = true;
        return reply;
    });
    RunConfig config = config_for({server.url()}, 20, kSecond);
    config.timeout = 300 * kMilli;
    auto started = Clock::now();
    RunResult result = run(std::move(config));
    double elapsed = seconds_between(started, Clock::now());

    EXPECT_EQ(result.totals.errors, 20u);
    EXPECT_EQ(result.totals.error_kinds[static_cast<size_t>(ErrorKind::Timeout)], 20u);
    EXPECT_EQ(server.request_count(), 20u);  // they were sent; only the answers never came
    EXPECT_NEAR(static_cast<double>(result.wait) / kSecond, 0.3, 0.1);
    EXPECT_LT(elapsed, 1.8);
}

TEST(Engine, KeepaliveReusesIdleConnections) {
    TestServer server(ok);
    RunConfig config = config_for({server.url()}, 100, 2 * kSecond);
    config.keepalive = true;
    RunResult result = run(std::move(config));

    EXPECT_EQ(count_of(result.totals.status_codes, 200), 200u);
    // One connection suffices; a stall of the machine may add a few (never-queue), not hundreds.
    EXPECT_LE(server.accepted_connections(), 10u);
    EXPECT_EQ(result.connections_opened, server.accepted_connections());
    for (const ReceivedRequest &request : server.received()) {
        EXPECT_EQ(request.headers.count("connection"), 0u);
    }
}

TEST(Engine, KeepaliveOpensANewConnectionRatherThanQueueing) {
    TestServer server([](const ReceivedRequest &) {
        Reply reply = http_reply(200);
        reply.delay = 200ms;
        return reply;
    });
    RunConfig config = config_for({server.url()}, 50, kSecond);
    config.keepalive = true;
    RunResult result = run(std::move(config));

    EXPECT_EQ(count_of(result.totals.status_codes, 200), 50u);
    // About 10 requests are in flight at any time; none waits for another to finish.
    EXPECT_GE(server.accepted_connections(), 9u);
    EXPECT_LT(server.accepted_connections(), 50u);
    EXPECT_LT(result.totals.latency.max(), 350 * kMilli);
}

// Two bursts of 10 concurrent requests (all sent before the first answer, 300 ms later), 900 ms
// apart: after the first burst ten connections fall idle. An unlimited pool keeps them all for the
// second burst; a pool of one keeps one and closes nine, so the second burst has to open nine new
// ones.
RunResult run_two_bursts(size_t pool_size) {
    TestServer server([](const ReceivedRequest &) {
        Reply reply = http_reply(200);
        reply.delay = 300ms;
        return reply;
    });
    RunConfig config = config_for({server.url()}, 1, kSecond);
    config.schedule = Schedule::staged(parse_stages("0-100ms:100,100ms-1s:0,1s-1100ms:100"));
    config.keepalive = true;
    config.pool_size = pool_size;
    RunResult result = run(std::move(config));
    EXPECT_EQ(server.accepted_connections(), result.connections_opened);
    return result;
}

TEST(Engine, KeepalivePoolSizeCapsIdleConnections) {
    RunResult unlimited = run_two_bursts(10'000);
    RunResult single = run_two_bursts(1);

    EXPECT_EQ(unlimited.totals.http_200, 20u);
    EXPECT_EQ(single.totals.http_200, 20u);
    EXPECT_EQ(unlimited.connections_opened, 10u);
    EXPECT_EQ(single.connections_opened, 19u);
}

TEST(Engine, StaleKeepaliveConnectionIsRetriedOnce) {
    // The server answers only the first request of each connection and silently closes on the
    // second: exactly what a reused connection that timed out on the server side looks like.
    auto requests_per_connection = std::make_shared<std::map<uint64_t, int>>();
    TestServer server([requests_per_connection](const ReceivedRequest &request) {
        if ((*requests_per_connection)[request.connection]++ == 0) return http_reply(200);
        Reply reply;
        reply.close_after = true;
        return reply;
    });
    RunConfig config = config_for({server.url()}, 50, kSecond);
    config.keepalive = true;
    RunResult result = run(std::move(config));

    EXPECT_EQ(count_of(result.totals.status_codes, 200), 50u);
    EXPECT_EQ(result.totals.errors, 0u);
    EXPECT_GE(result.retries, 40u);
}

TEST(Engine, FreshConnectionClosedWithoutAnswerIsAnError) {
    TestServer server([](const ReceivedRequest &) {
        Reply reply;
        reply.close_after = true;
        return reply;
    });
    RunConfig config = config_for({server.url()}, 20, kSecond);
    config.keepalive = true;
    RunResult result = run(std::move(config));

    EXPECT_EQ(result.totals.error_kinds[static_cast<size_t>(ErrorKind::Closed)], 20u);
    EXPECT_EQ(result.retries, 0u);
}

TEST(Engine, ParsesChunkedBodiesAndKeepsTheConnection) {
    TestServer server([](const ReceivedRequest &) {
        Reply reply;
        reply.pieces = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nhello\r\n",
                        "6;ext=1\r\n world\r\n", "0\r\nX-Trailer: t\r\n\r\n"};
        reply.piece_gap = 5ms;
        return reply;
    });
    RunConfig config = config_for({server.url()}, 20, kSecond);
    config.keepalive = true;
    RunResult result = run(std::move(config));

    EXPECT_EQ(count_of(result.totals.status_codes, 200), 20u);
    EXPECT_EQ(result.totals.bytes_in, 20u * 11);
    EXPECT_LE(server.accepted_connections(), 5u);
    EXPECT_GE(result.totals.latency.min(), 14 * kMilli);  // complete only after the last piece
}

TEST(Engine, ParsesCloseDelimitedBodies) {
    TestServer server([](const ReceivedRequest &) {
        Reply reply;
        reply.pieces = {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", "abc", "defg"};
        reply.piece_gap = 5ms;
        reply.close_after = true;
        return reply;
    });
    RunConfig config = config_for({server.url()}, 20, kSecond);
    config.keepalive =
        true;  // a close-delimited body makes even a keep-alive connection single-use
    RunResult result = run(std::move(config));

    EXPECT_EQ(count_of(result.totals.status_codes, 200), 20u);
    EXPECT_EQ(result.totals.bytes_in, 20u * 7);
    EXPECT_EQ(server.accepted_connections(), 20u);
}

TEST(Engine, TruncatedAndMalformedResponsesAreErrors) {
    TestServer truncated([](const ReceivedRequest &) {
        Reply reply;
        reply.pieces = {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"};
        reply.close_after = true;
        return reply;
    });
    TestServer garbage([](const ReceivedRequest &) {
        Reply reply;
        reply.pieces = {"SMTP ready\r\n\r\n"};
        return reply;
    });
    RunResult result = run(config_for({truncated.url(), garbage.url()}, 20, kSecond));

    EXPECT_EQ(result.totals.error_kinds[static_cast<size_t>(ErrorKind::Closed)], 10u);
    EXPECT_EQ(result.totals.error_kinds[static_cast<size_t>(ErrorKind::Protocol)], 10u);
    EXPECT_NE(result.error_examples[static_cast<size_t>(ErrorKind::Protocol)].find("status line"),
              std::string::npos);
}

TEST(Engine, RoundRobinsTargetsAndCountsServedBy) {
    TestServer node_a([](const ReceivedRequest &) {
        return http_reply(200, "a", {{"DFaaS-Node-ID", "node-a"}});
    });
    TestServer node_b([](const ReceivedRequest &request) {
        if (request.sequence % 2 == 0) return http_reply(200, "b");
        return http_reply(200, "b", {{"dfaas-node-id", "node-b"}});
    });
    RunResult result = run(config_for({node_a.url(), node_b.url()}, 100, kSecond));

    EXPECT_EQ(node_a.request_count(), 50u);
    EXPECT_EQ(node_b.request_count(), 50u);
    EXPECT_EQ(result.totals.served_by.at("node-a"), 50u);
    EXPECT_EQ(result.totals.served_by.at("node-b"), 25u);
    EXPECT_EQ(result.totals.no_node_id, 25u);
    EXPECT_EQ(result.totals.served_by.size(), 2u);
}

TEST(Engine, FollowsStagesIncludingAPause) {
    TestServer server(ok);
    RunConfig config = config_for({server.url()}, 1, kSecond);
    config.schedule = Schedule::staged(parse_stages("0-1s:40,1-2s:0,2-3s:120"));
    RunResult result = run(std::move(config));

    EXPECT_EQ(result.totals.issued, 160u);
    EXPECT_EQ(server.request_count(), 160u);
    ASSERT_EQ(result.timeline.size(), 3u);
    EXPECT_EQ(result.timeline[0].tally.issued, 40u);
    EXPECT_EQ(result.timeline[1].tally.issued, 0u);
    EXPECT_EQ(result.timeline[2].tally.issued, 120u);
    std::vector<ReceivedRequest> received = server.received();
    EXPECT_NEAR(seconds_between(received[39].arrival, received[40].arrival), 2.0 - 0.975, 0.03);
    EXPECT_NEAR(seconds_between(received[40].arrival, received.back().arrival), 119 / 120.0, 0.03);
}

TEST(Engine, TrailingPauseAddsEmptyRowsWithoutWaiting) {
    TestServer server(ok);
    RunConfig config = config_for({server.url()}, 1, kSecond);
    config.schedule = Schedule::staged(parse_stages("0-1s:20,1-3s:0"));
    auto started = Clock::now();
    RunResult result = run(std::move(config));

    EXPECT_LT(seconds_between(started, Clock::now()), 1.5);
    ASSERT_EQ(result.timeline.size(), 3u);
    EXPECT_EQ(result.timeline[0].tally.issued, 20u);
    EXPECT_EQ(result.timeline[1].tally.issued, 0u);
    EXPECT_EQ(result.timeline[2].second, 2u);
    EXPECT_EQ(result.timeline[2].tally.issued, 0u);
}

TEST(Engine, RejectsAScheduleWithoutRequestsOrTargets) {
    RunConfig config = config_for({"http://127.0.0.1:9/"}, 1, kSecond);
    config.schedule = Schedule::staged(parse_stages("0-1s:0"));
    EXPECT_THROW(LoadGenerator{std::move(config)}, UsageError);
    RunConfig no_targets = config_for({}, 1, kSecond);
    EXPECT_THROW(LoadGenerator{std::move(no_targets)}, UsageError);
}

TEST(Engine, TimelineHasOneRowPerSecondAndAddsUpToTheTotals) {
    TestServer server([](const ReceivedRequest &request) {
        return http_reply(request.sequence % 4 == 0 ? 503 : 200, "x", {{"DFaaS-Node-ID", "n1"}});
    });
    RunResult result = run(config_for({server.url()}, 100, 2500 * kMilli));

    ASSERT_EQ(result.timeline.size(), 3u);
    uint64_t issued = 0;
    uint64_t ok_count = 0;
    uint64_t served = 0;
    for (size_t i = 0; i < result.timeline.size(); ++i) {
        const TimelineRow &row = result.timeline[i];
        EXPECT_EQ(row.second, i);
        EXPECT_EQ(row.tally.issued, row.tally.responses + row.tally.errors);
        EXPECT_GT(row.p99, 0);
        EXPECT_LE(row.p50, row.p99);
        issued += row.tally.issued;
        ok_count += row.tally.http_200;
        served += row.tally.served_by.at("n1");
    }
    EXPECT_EQ(result.timeline[0].tally.issued, 100u);
    EXPECT_EQ(result.timeline[2].tally.issued, 50u);
    EXPECT_EQ(issued, 250u);
    EXPECT_EQ(ok_count, result.totals.http_200);
    EXPECT_EQ(served, 250u);
}

TEST(Engine, SendsTheConfiguredRequest) {
    TestServer server(ok);
    RunConfig config =
        config_for({"http://127.0.0.1:" + std::to_string(server.port()) + "/function/figlet?x=1"},
                   20, kSecond);
    config.method = "POST";
    config.body = "hello";
    config.headers = {{"X-Experiment", "t1"}};
    RunResult result = run(std::move(config));

    EXPECT_EQ(result.totals.bytes_out, 20u * 5);
    std::vector<ReceivedRequest> received = server.received();
    ASSERT_EQ(received.size(), 20u);
    EXPECT_EQ(received[0].method, "POST");
    EXPECT_EQ(received[0].path, "/function/figlet?x=1");
    EXPECT_EQ(received[0].body, "hello");
    EXPECT_EQ(received[0].headers.at("content-length"), "5");
    EXPECT_EQ(received[0].headers.at("x-experiment"), "t1");
    EXPECT_EQ(received[0].headers.at("host"), "127.0.0.1:" + std::to_string(server.port()));
}

TEST(Engine, StopEndsTheRunEarlyAndKeepsWhatWasMeasured) {
    TestServer server(ok);
    LoadGenerator generator(config_for({server.url()}, 100, 30 * kSecond));
    std::thread stopper([&] {
        std::this_thread::sleep_for(500ms);
        generator.request_stop();
    });
    auto started = Clock::now();
    RunResult result = generator.run();
    stopper.join();

    EXPECT_LT(seconds_between(started, Clock::now()), 1.5);
    EXPECT_TRUE(result.interrupted);
    EXPECT_NEAR(static_cast<double>(result.totals.issued), 50, 5);
    EXPECT_EQ(result.totals.http_200, result.totals.issued);  // in-flight ones were let finish
    EXPECT_EQ(result.timeline.size(), 1u);
}

TEST(Engine, SecondStopAbandonsRequestsInFlight) {
    TestServer server([](const ReceivedRequest &) {
        Reply reply;
        reply.never_answer = true;
        return reply;
    });
    RunConfig config = config_for({server.url()}, 50, 30 * kSecond);
    config.timeout = 20 * kSecond;
    LoadGenerator generator(std::move(config));
    std::thread stopper([&] {
        std::this_thread::sleep_for(300ms);
        generator.request_stop();
        std::this_thread::sleep_for(200ms);
        generator.request_stop();
    });
    auto started = Clock::now();
    RunResult result = generator.run();
    stopper.join();

    EXPECT_LT(seconds_between(started, Clock::now()), 1.5);
    EXPECT_GT(result.totals.issued, 0u);
    EXPECT_EQ(result.totals.error_kinds[static_cast<size_t>(ErrorKind::Aborted)],
              result.totals.issued);
}

TEST(Engine, HoldsAThousandConnectionsPerSecond) {
    TestServer server(ok, 0, /*keep_requests=*/false);
    RunResult result = run(config_for({server.url()}, 1000, 3 * kSecond));

    EXPECT_EQ(server.request_count(), 3000u);
    EXPECT_EQ(result.totals.http_200, 3000u);
    EXPECT_NEAR(result.rate(), 1000.0, 20.0);
}

}  // namespace
}  // namespace dfaas::loadgen
