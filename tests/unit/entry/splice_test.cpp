// The entry server on loopback with a raw echo upstream (root: loads the splice program). What
// the client receives back is exactly what the upstream received (the rewritten head, then the
// client's bytes): checks the ordering-safe splice on the running kernel, the answers to bad
// input with their counted reasons, and that nothing leaks.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "dfaas/entry/http_head.h"
#include "dfaas/entry/server.h"

namespace dfaas::entry {
namespace {

using namespace std::chrono_literals;

// Echoes every connection's bytes back; FIN after the client's FIN.
class EchoServer {
  public:
    EchoServer() {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)), 0);
        listen(fd_, 512);
        socklen_t len = sizeof(sa);
        getsockname(fd_, reinterpret_cast<sockaddr *>(&sa), &len);
        port_ = ntohs(sa.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~EchoServer() {
        stop_ = true;
        shutdown(fd_, SHUT_RDWR);
        thread_.join();
        close(fd_);
    }
    uint16_t port() const { return port_; }
    std::string last_received() {
        std::lock_guard lock(mu_);
        return last_;
    }

  private:
    void run() {
        std::vector<std::thread> workers;
        while (!stop_) {
            int c = accept(fd_, nullptr, nullptr);
            if (c < 0) break;
            workers.emplace_back([this, c] {
                std::string got;
                char buf[65536];
                for (;;) {
                    ssize_t n = recv(c, buf, sizeof(buf), 0);
                    if (n <= 0) break;
                    got.append(buf, n);
                    for (ssize_t off = 0; off < n;) {
                        ssize_t w = send(c, buf + off, n - off, MSG_NOSIGNAL);
                        if (w <= 0) break;
                        off += w;
                    }
                }
                {
                    std::lock_guard lock(mu_);
                    last_ = got;
                }
                shutdown(c, SHUT_WR);
                close(c);
            });
            if (workers.size() > 64) {
                for (auto &w : workers)
                    w.join();
                workers.clear();
            }
        }
        for (auto &w : workers)
            w.join();
    }
    int fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::mutex mu_;
    std::string last_;
};

int connect_to(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)), 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

void send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        ASSERT_GT(n, 0);
        bytes.remove_prefix(static_cast<size_t>(n));
    }
}

// Reads until EOF (or `want` bytes when set).
std::string read_all(int fd, size_t want = SIZE_MAX) {
    std::string out;
    char buf[65536];
    while (out.size() < want) {
        ssize_t n = recv(fd, buf, std::min(sizeof(buf), want - out.size()), 0);
        if (n <= 0) break;
        out.append(buf, n);
    }
    return out;
}

std::string random_bytes(size_t n) {
    std::mt19937 gen(42);
    std::string s(n, '\0');
    for (auto &c : s)
        c = static_cast<char>(gen());
    return s;
}

class EntrySpliceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        EntryOptions o;
        o.listen = Endpoint{Ipv4{0x7f000001}, 0};
        o.max_connections = 64;
        o.head_timeout = 400ms;
        o.gateway = Endpoint{Ipv4{0x7f000001}, echo_.port()};
        o.node_id = "node-a";
        o.refresh_interval = 50ms;
        adjust(o);
        FunctionPolicy reject;
        reject.local = 0;
        reject.reject = 1;
        FunctionPolicy to_closed_peer;
        to_closed_peer.local = 0;
        to_closed_peer.peers[Ipv4{0x7f000002}] = 1;
        policies_ = {
            {"echo", FunctionPolicy::all_local()}, {"nope", reject}, {"elsewhere", to_closed_peer}};
        server_ = EntryServer::start(o, [this] { return RoutingSnapshot{policies_, {}}; });
        port_ = server_->port();
    }
    void TearDown() override { server_.reset(); }
    virtual void adjust(EntryOptions &) {}
    // The counters once the loop has closed every connection.
    EntryCounters settled() {
        for (int i = 0; i < 300; ++i) {
            auto c = server_->counters();
            if (c.open_connections == 0) return c;
            std::this_thread::sleep_for(10ms);
        }
        return server_->counters();
    }
    std::string expected_head(const std::string &head) {
        HeadLimits limits;
        auto r = parse_head(head, limits);
        EXPECT_EQ(r.status, HeadStatus::Complete);
        return rewrite_head(r.head, "127.0.0.1", std::nullopt);
    }

    EchoServer echo_;
    PolicySet policies_;
    std::unique_ptr<EntryServer> server_;
    uint16_t port_ = 0;
};

TEST_F(EntrySpliceTest, BodyQueuedBeforeTheSpliceArrivesExactlyOnce) {
    const std::string head =
        "POST /function/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 262144\r\n\r\n";
    const std::string body = random_bytes(256 * 1024);
    int fd = connect_to(port_);
    send_all(fd, head + body);  // one write, before the entry has even accepted
    std::string want = expected_head(head) + body;
    std::string got = read_all(fd, want.size());
    EXPECT_EQ(got.size(), want.size()) << "errno " << errno << "\n"
                                       << render_entry_metrics(server_->counters());
    EXPECT_TRUE(got == want) << "spliced bytes differ from what was sent";
    shutdown(fd, SHUT_WR);
    EXPECT_EQ(read_all(fd), "");  // the FIN comes back after the echo
    close(fd);
    EXPECT_TRUE(echo_.last_received() == want);
    auto c = settled();
    EXPECT_EQ(c.spliced, 1u);
    EXPECT_EQ(c.refused_count(Refusal::DrainTimeout), 0u);
    EXPECT_GT(c.splice_redirected, 0u);
    EXPECT_EQ((c.connections[{"echo", "local"}]), 1u);
}

class EntryIdleTest : public EntrySpliceTest {
  protected:
    void adjust(EntryOptions &o) override { o.idle_timeout = 300ms; }
};

// A spliced connection that moves no byte for idle_timeout is closed and counted (the entry's
// slots are not held forever by idle clients); one that moves a byte every 100 ms stays.
TEST_F(EntryIdleTest, AnIdleSplicedConnectionIsClosedAndAnActiveOneIsNot) {
    const std::string head = "GET /function/echo HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string expected = expected_head(head);
    int active = connect_to(port_);
    int idle = connect_to(port_);
    send_all(active, head);
    send_all(idle, head);
    EXPECT_EQ(read_all(active, expected.size()), expected);
    EXPECT_EQ(read_all(idle, expected.size()), expected);
    for (int i = 0; i < 12; ++i) {
        send_all(active, "x");
        EXPECT_EQ(read_all(active, 1), "x");
        std::this_thread::sleep_for(100ms);
    }
    char byte = 0;
    EXPECT_EQ(recv(idle, &byte, 1, 0), 0) << "the idle connection ended (EOF, not a timeout)";
    send_all(active, "y");
    EXPECT_EQ(read_all(active, 1), "y") << "the active connection still carries bytes";
    close(active);
    close(idle);
    auto c = settled();
    EXPECT_EQ(c.refused_count(Refusal::IdleTimeout), 1u);
    EXPECT_EQ(server_->splice_map_entries(), 0u);
}

TEST_F(EntrySpliceTest, BodyInPiecesAndTwoRequestsOnOneConnection) {
    const std::string head = "POST /function/echo HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string body = random_bytes(256 * 1024);
    int fd = connect_to(port_);
    send_all(fd, head.substr(0, 10));
    std::this_thread::sleep_for(30ms);
    send_all(fd, head.substr(10));
    std::string expected = expected_head(head);
    EXPECT_EQ(read_all(fd, expected.size()), expected);
    for (size_t off = 0; off < body.size(); off += 16384) {
        send_all(fd, std::string_view(body).substr(off, 16384));
        if (off % (64 * 1024) == 0) std::this_thread::sleep_for(5ms);
    }
    EXPECT_TRUE(read_all(fd, body.size()) == body);
    // A second request on the same connection goes where the first went, untouched.
    const std::string second = "GET /function/other HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, second);
    EXPECT_EQ(read_all(fd, second.size()), second);
    close(fd);
    auto c = settled();
    EXPECT_EQ(c.spliced, 1u);
    EXPECT_EQ(server_->splice_map_entries(), 0u);
}

TEST_F(EntrySpliceTest, HalfCloseDeliversEverythingThenEnds) {
    const std::string head = "GET /function/echo HTTP/1.0\r\n\r\n";
    const std::string body = random_bytes(100000);
    int fd = connect_to(port_);
    send_all(fd, head);
    const std::string expected = expected_head(head);
    EXPECT_EQ(read_all(fd, expected.size()), expected);  // spliced by now
    send_all(fd, body);
    shutdown(fd, SHUT_WR);
    auto start = std::chrono::steady_clock::now();
    std::string got = read_all(fd);  // until the FIN the entry passes on
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_TRUE(got == body) << got.size() << " of " << body.size() << "\n"
                             << render_entry_metrics(server_->counters());
    close(fd);
    auto c = settled();
    EXPECT_EQ(c.refused_count(Refusal::DrainTimeout), 0u);
}

TEST_F(EntrySpliceTest, HalfCloseBeforeTheSpliceIsAnsweredAndCounted) {
    // The client's FIN arrives before the entry routes: the sockhash refuses a CLOSE_WAIT socket.
    int fd = connect_to(port_);
    send_all(fd, "GET /function/echo HTTP/1.0\r\n\r\n");
    shutdown(fd, SHUT_WR);
    std::string got = read_all(fd);
    close(fd);
    auto c = settled();
    if (c.refused_count(Refusal::ClientHalfClosed) == 1u) {
        EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 400");
    } else {
        // The entry spliced before the FIN came: then the echo came back whole.
        EXPECT_NE(got.find("X-Forwarded-For: 127.0.0.1"), std::string::npos);
    }
    EXPECT_EQ(c.refused_count(Refusal::SpliceFailed), 0u);
}

struct BadInput {
    std::string bytes;
    std::string status_line;
    Refusal reason;
};

TEST_F(EntrySpliceTest, BadInputIsAnsweredAndCounted) {
    std::vector<BadInput> cases{
        {"GET /function/unknown HTTP/1.1\r\n\r\n", "HTTP/1.1 404", Refusal::UnknownFunction},
        {"GET /system/functions HTTP/1.1\r\n\r\n", "HTTP/1.1 404", Refusal::NoFunctionPrefix},
        {"GET /function/a$b HTTP/1.1\r\n\r\n", "HTTP/1.1 404", Refusal::BadFunctionName},
        {"\x16\x03\x01\x00\x10hello", "HTTP/1.1 400", Refusal::NotHttp},
        {"GET /function/echo HTTP/1.1\r\nX: " + std::string(9000, 'a'), "HTTP/1.1 431",
         Refusal::HeadTooLarge},
        {"GET /function/elsewhere HTTP/1.1\r\n\r\n", "HTTP/1.1 502",
         Refusal::UpstreamConnectFailed},
    };
    for (const auto &bad : cases) {
        int fd = connect_to(port_);
        send_all(fd, bad.bytes);
        std::string answer = read_all(fd);
        EXPECT_EQ(answer.substr(0, 12), bad.status_line) << refusal_name(bad.reason);
        EXPECT_NE(answer.find("application/json"), std::string::npos);
        close(fd);
        auto c = settled();
        EXPECT_EQ(c.refused_count(bad.reason), 1u) << refusal_name(bad.reason);
    }
    int fd = connect_to(port_);
    send_all(fd, "POST /function/nope HTTP/1.1\r\n\r\n");
    std::string answer = read_all(fd);
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 429");
    EXPECT_NE(answer.find(R"({"error":"rejected","function":"nope"})"), std::string::npos);
    close(fd);
    auto c = settled();
    EXPECT_EQ((c.connections[{"nope", "reject"}]), 1u);
    answer.clear();
    fd = connect_to(port_);
    send_all(fd, "GET /function/unknown HTTP/1.1\r\n\r\n");
    answer = read_all(fd);
    EXPECT_NE(answer.find(R"({"error":"unknown function","function":"unknown"})"),
              std::string::npos);
    close(fd);
}

TEST_F(EntrySpliceTest, AsyncFunctionGoesToTheLocalGatewayUnsteered) {
    // "nope" rejects every connection by its policy; the async path does not consult it.
    const std::string head = "POST /async-function/nope HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = connect_to(port_);
    send_all(fd, head);
    const std::string expected = expected_head(head);
    EXPECT_EQ(read_all(fd, expected.size()), expected);
    close(fd);
    auto c = settled();
    EXPECT_EQ((c.connections[{"nope", "async"}]), 1u);
    EXPECT_EQ((c.connections[{"nope", "reject"}]), 0u);
}

TEST_F(EntrySpliceTest, SlowHeadGets408AfterTheDeadline) {
    int fd = connect_to(port_);
    send_all(fd, "GET /function/echo HTTP/1.1\r\n");
    auto start = std::chrono::steady_clock::now();
    std::string answer = read_all(fd);
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 408");
    EXPECT_GE(waited, 300ms);
    EXPECT_LT(waited, 2s);
    close(fd);
    EXPECT_EQ(settled().refused_count(Refusal::HeadTimeout), 1u);
}

TEST_F(EntrySpliceTest, ClientClosingMidHeadIsCounted) {
    int fd = connect_to(port_);
    send_all(fd, "GET /function/ec");
    std::this_thread::sleep_for(20ms);
    close(fd);
    fd = connect_to(port_);
    close(fd);  // nothing at all
    for (int i = 0; i < 100 && server_->counters().refused_count(Refusal::ClientClosedMidHead) < 2;
         ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(settled().refused_count(Refusal::ClientClosedMidHead), 2u);
}

TEST_F(EntrySpliceTest, ConnectionsBeyondTheLimitAreClosedAtOnce) {
    std::vector<int> held;
    for (int i = 0; i < 64; ++i)
        held.push_back(connect_to(port_));
    for (int i = 0; i < 100 && server_->counters().open_connections < 64; ++i)
        std::this_thread::sleep_for(10ms);
    int extra = connect_to(port_);
    EXPECT_EQ(read_all(extra), "");
    close(extra);
    for (int fd : held)
        close(fd);
    auto c = settled();
    EXPECT_EQ(c.refused_count(Refusal::OverMaxConnections), 1u);
}

TEST_F(EntrySpliceTest, NothingLeaksAfterManyConnections) {
    const std::string head = "GET /function/echo HTTP/1.1\r\n\r\n";
    const std::string expected = expected_head(head);
    for (int i = 0; i < 2000; ++i) {
        int fd = connect_to(port_);
        send_all(fd, head + "x");
        ASSERT_EQ(read_all(fd, expected.size() + 1), expected + "x");
        if (i % 2) shutdown(fd, SHUT_WR);
        close(fd);
    }
    auto c = settled();
    EXPECT_EQ(c.open_connections, 0u);
    EXPECT_EQ(c.spliced, 2000u);
    for (int i = 0; i < 100 && server_->splice_map_entries() != 0; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(server_->splice_map_entries(), 0u);
}

TEST_F(EntrySpliceTest, MetricsNameEveryReason) {
    std::string text = render_entry_metrics(server_->counters());
    for (size_t i = 0; i < static_cast<size_t>(Refusal::Count); ++i)
        EXPECT_NE(text.find(std::string("reason=\"") + refusal_name(static_cast<Refusal>(i))),
                  std::string::npos);
    EXPECT_NE(text.find("dfaas_entry_open_connections"), std::string::npos);
}

}  // namespace
}  // namespace dfaas::entry
