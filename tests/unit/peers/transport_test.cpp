// PeerServer and PeerClient over real sockets on 127.0.0.1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

#include "dfaas/peers/client.h"
#include "dfaas/peers/server.h"
#include "support.h"

namespace dfaas::peers {
namespace {

using namespace testing;
using Steady = std::chrono::steady_clock;

Instant wall_now() {
    return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
}

Endpoint loopback(uint16_t port) {
    return Endpoint{ip("127.0.0.1"), port};
}

// A listening TCP socket on 127.0.0.1 that never accepts: connections complete in the kernel
// (up to the backlog), requests are never answered.
class Silent {
  public:
    explicit Silent(int backlog = 16) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr *>(&address), sizeof(address)), 0);
        EXPECT_EQ(::listen(fd_, backlog), 0);
        socklen_t length = sizeof(address);
        ::getsockname(fd_, reinterpret_cast<sockaddr *>(&address), &length);
        port_ = ntohs(address.sin_port);
    }
    ~Silent() {
        for (int fd : fillers_)
            ::close(fd);
        ::close(fd_);
    }
    uint16_t port() const { return port_; }
    // Fills the accept queue so that further SYNs are dropped (connect hangs).
    void fill() {
        for (int i = 0; i < 4; ++i) {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            address.sin_port = htons(port_);
            (void)::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address));
            fillers_.push_back(fd);
        }
        ::usleep(100 * 1000);
    }

  private:
    int fd_ = -1;
    uint16_t port_ = 0;
    std::vector<int> fillers_;
};

// A port nothing listens on.
uint16_t closed_port() {
    Silent probe;
    return probe.port();  // closed when probe goes away
}

// Sends raw bytes to 127.0.0.1:port and returns the answer (until close or 2 s).
std::string raw_exchange(uint16_t port, const std::string &request) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0) {
        ::close(fd);
        return "";
    }
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string answer;
    char buffer[4096];
    const auto give_up = Steady::now() + std::chrono::seconds(2);
    while (Steady::now() < give_up) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
        if (got <= 0) break;
        answer.append(buffer, static_cast<size_t>(got));
        if (answer.find("\r\n\r\n") != std::string::npos && answer.find("}") != std::string::npos)
            break;
    }
    ::close(fd);
    return answer;
}

// A node of a federation over real HTTP: what the agent wires together.
struct LiveNode {
    explicit LiveNode(const std::string &id, std::vector<Endpoint> seeds = {},
                      const std::string &key = kKeyText)
        : receiver(ReceiverSettings{id}, keyring(key),
                   [this](const Envelope &envelope, Instant now, std::optional<Ipv4> source) {
                       std::lock_guard lock(mutex);
                       received.push_back(envelope);
                       sources.push_back(source);
                       if (!membership) return Admission::accept();
                       return membership->receive(envelope, now, source);
                   }),
          server(receiver, ServerSettings{ip("127.0.0.1"), 0}) {
        server.start();
        const Endpoint self = loopback(server.port());
        MembershipSettings settings{id, self, std::move(seeds), Millis{12000}};
        settings.shared_host = true;  // every node on 127.0.0.1
        membership = std::make_unique<Membership>(settings);
        outbox = std::make_unique<Outbox>(Identity{id, self}, keyring(key),
                                          Outbox::initial_seq(wall_now()));
    }

    Endpoint endpoint() const { return loopback(server.port()); }

    std::vector<SendResult> heartbeat(PeerClient &client) {
        Batch batch;
        {
            std::lock_guard lock(mutex);
            batch = outbox->heartbeat(testing::heartbeat(), *membership, wall_now());
        }
        auto results = client.send(batch.deliveries);
        std::lock_guard lock(mutex);
        membership->record_deliveries(results, wall_now());
        return results;
    }

    std::mutex mutex;
    std::vector<Envelope> received;
    std::vector<std::optional<Ipv4>> sources;  // the TCP source the server saw, per message
    std::unique_ptr<Membership> membership;
    std::unique_ptr<Outbox> outbox;
    Receiver receiver;
    PeerServer server;
};

Delivery delivery_to(Endpoint where, Outbox &outbox, Body body = heartbeat()) {
    return Delivery{Target{where, std::nullopt, TargetKind::Seed},
                    outbox.seal(outbox.envelope(std::move(body), std::nullopt, wall_now()))};
}

TEST(Transport, SignedMessagesReachTheHandler) {
    LiveNode node("node-b");
    Outbox sender(Identity{"node-a", endpoint("127.0.0.1:1")}, keyring(), 100);
    PeerClient client(ClientSettings{Millis{2000}});
    const auto results = client.send({delivery_to(node.endpoint(), sender)});
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].status, SendStatus::Ok) << results[0].reason;
    EXPECT_EQ(results[0].http_status, 204);
    EXPECT_EQ(results[0].type, "heartbeat");
    std::lock_guard lock(node.mutex);
    ASSERT_EQ(node.received.size(), 1u);
    EXPECT_EQ(node.received[0].sender_id, "node-a");
    // The handler learns the TCP source address of the request (identity binding).
    ASSERT_EQ(node.sources.size(), 1u);
    EXPECT_EQ(node.sources[0], ip("127.0.0.1"));
    EXPECT_EQ(node.receiver.counters().accepted[0], 1u);
    const auto counters = client.counters();
    EXPECT_EQ(counters.destinations.at(node.endpoint()).sent(), 1u);
    EXPECT_EQ(counters.totals[0], 1u);
}

TEST(Transport, RejectionsComeBackWithTheirReason) {
    LiveNode node("node-b");
    Outbox intruder(Identity{"node-x", endpoint("127.0.0.1:1")}, keyring(kOtherKeyText), 1);
    PeerClient client(ClientSettings{Millis{2000}});
    const auto results = client.send({delivery_to(node.endpoint(), intruder)});
    EXPECT_EQ(results[0].status, SendStatus::HttpError);
    EXPECT_EQ(results[0].http_status, 401);
    EXPECT_EQ(results[0].reason, "bad_signature");
    EXPECT_NE(results[0].detail.find("does not match"), std::string::npos);
    EXPECT_EQ(node.receiver.counters().rejected_for(RejectReason::BadSignature), 1u);
    EXPECT_TRUE(node.received.empty());
    EXPECT_EQ(client.counters().destinations.at(node.endpoint()).consecutive_failures, 1u);
}

TEST(Transport, StaleMessagesAreRejectedOverHttp) {
    LiveNode node("node-b");
    Outbox sender(Identity{"node-a", endpoint("127.0.0.1:1")}, keyring(), 1);
    PeerClient client;
    const auto old = sender.seal(
        sender.envelope(heartbeat(), std::nullopt, wall_now() - std::chrono::minutes(2)));
    const auto results =
        client.send({Delivery{Target{node.endpoint(), std::nullopt, TargetKind::Seed}, old}});
    EXPECT_EQ(results[0].reason, "stale_timestamp");
    EXPECT_EQ(node.receiver.counters().rejected_for(RejectReason::StaleTimestamp), 1u);
}

TEST(Transport, OneSlowOrDeadPeerNeverDelaysTheOthers) {
    LiveNode fast("node-b");
    Silent silent;  // accepts connections, never answers
    Silent blackhole(0);
    blackhole.fill();  // SYNs dropped: connect never completes
    const uint16_t refused = closed_port();
    Outbox sender(Identity{"node-a", endpoint("127.0.0.1:1")}, keyring(), 1);
    PeerClient client(ClientSettings{Millis{600}});
    const auto request = sender.seal(sender.envelope(heartbeat(), std::nullopt, wall_now()));
    const std::vector<Delivery> batch = {
        {Target{loopback(silent.port()), std::nullopt, TargetKind::Seed}, request},
        {Target{loopback(blackhole.port()), std::nullopt, TargetKind::Seed}, request},
        {Target{loopback(refused), std::nullopt, TargetKind::Seed}, request},
        {Target{fast.endpoint(), std::nullopt, TargetKind::Seed}, request},
    };
    const auto start = Steady::now();
    const auto results = client.send(batch);
    const auto took = std::chrono::duration_cast<Millis>(Steady::now() - start);
    ASSERT_EQ(results.size(), 4u);
    EXPECT_EQ(results[0].status, SendStatus::Timeout) << results[0].reason;
    EXPECT_NE(results[0].reason.find("waiting for the answer"), std::string::npos);
    EXPECT_EQ(results[1].status, SendStatus::Timeout) << results[1].reason;
    EXPECT_EQ(results[2].status, SendStatus::Refused);
    EXPECT_EQ(results[2].reason, "connection refused");
    EXPECT_EQ(results[3].status, SendStatus::Ok) << results[3].reason;
    // The fast peer answered long before the deadline, and the batch took the deadline, not more.
    EXPECT_LT(results[3].elapsed, Millis{300});
    EXPECT_LT(results[2].elapsed, Millis{300});
    EXPECT_GE(took, Millis{590});
    EXPECT_LT(took, Millis{600 + 300});  // scheduling slack on a loaded machine
    const auto counters = client.counters();
    EXPECT_EQ(counters.totals[static_cast<size_t>(SendStatus::Timeout)], 2u);
    EXPECT_EQ(counters.totals[static_cast<size_t>(SendStatus::Refused)], 1u);
    EXPECT_EQ(counters.destinations.at(loopback(silent.port())).last_status, SendStatus::Timeout);
}

TEST(Transport, ManyConcurrentMessagesToOneServer) {
    LiveNode node("node-b");
    Outbox sender(Identity{"node-a", endpoint("127.0.0.1:1")}, keyring(), 1);
    // As many at once as one source may hold open (more are refused at accept: issue 14).
    const size_t concurrent = ServerSettings{}.max_connections_per_source;
    std::vector<Delivery> batch;
    for (size_t i = 0; i < concurrent; ++i)
        batch.push_back(delivery_to(node.endpoint(), sender));
    PeerClient client(ClientSettings{Millis{5000}});
    const auto results = client.send(batch);
    for (const auto &result : results)
        EXPECT_EQ(result.status, SendStatus::Ok) << result.reason;
    EXPECT_EQ(node.receiver.counters().accepted[0], concurrent);
}

TEST(Transport, ServerCountsWhatItRefusesBeforeReadingTheBody) {
    LiveNode node("node-b");
    const std::string big =
        raw_exchange(node.server.port(),
                     "POST /v1/peer/message HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n");
    EXPECT_NE(big.find("413"), std::string::npos) << big;
    EXPECT_NE(big.find("too_large"), std::string::npos) << big;
    const std::string get =
        raw_exchange(node.server.port(), "GET /v1/peer/message HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(get.find("400"), std::string::npos) << get;
    const std::string chunked = raw_exchange(
        node.server.port(),
        "POST /v1/peer/message HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    EXPECT_NE(chunked.find("Content-Length is required"), std::string::npos) << chunked;
    const std::string unsigned_post =
        raw_exchange(node.server.port(),
                     "POST /v1/peer/message HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_NE(unsigned_post.find("missing_auth"), std::string::npos) << unsigned_post;
    const auto counters = node.receiver.counters();
    EXPECT_EQ(counters.rejected_for(RejectReason::TooLarge), 1u);
    EXPECT_EQ(counters.rejected_for(RejectReason::BadRequest), 2u);
    EXPECT_EQ(counters.rejected_for(RejectReason::MissingAuth), 1u);
    EXPECT_TRUE(node.received.empty());
}

TEST(Transport, ABusyPortIsAClearError) {
    LiveNode node("node-b");
    Receiver receiver(ReceiverSettings{"node-c"}, keyring(),
                      [](const Envelope &, Instant) { return Admission::accept(); });
    PeerServer second(receiver, ServerSettings{ip("127.0.0.1"), node.server.port()});
    try {
        second.start();
        FAIL() << "two servers on one port";
    } catch (const Error &error) {
        EXPECT_NE(std::string(error.what()).find("peers.listen_port"), std::string::npos);
    }
}

TEST(Transport, ThreeNodesFindEachOtherFromOneSeedOverHttp) {
    LiveNode seed("node-0");
    LiveNode first("node-1", {seed.endpoint()});
    LiveNode second("node-2", {seed.endpoint()});
    PeerClient client(ClientSettings{Millis{2000}});
    for (int round = 0; round < 3; ++round)
        for (LiveNode *node : {&seed, &first, &second}) {
            const auto results = node->heartbeat(client);
            for (const auto &result : results)
                EXPECT_TRUE(result.ok()) << result.target.endpoint.str() << " " << result.reason;
        }
    for (LiveNode *node : {&seed, &first, &second}) {
        std::lock_guard lock(node->mutex);
        EXPECT_EQ(node->membership->members().size(), 2u);
        EXPECT_EQ(node->membership->table().live(wall_now()).size(), 2u);
        EXPECT_EQ(node->membership->authorized(wall_now()).size(), 2u);
    }
    std::lock_guard lock(first.mutex);
    const Member *other = first.membership->find("node-2");
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(other->endpoint, second.endpoint());
    EXPECT_EQ(other->heartbeat.functions, (std::vector<FunctionPort>{{"figlet", 31001}}));
}

TEST(Transport, ClientSettingsAreChecked) {
    EXPECT_THROW(PeerClient(ClientSettings{Millis{0}}), Error);
    PeerClient client;
    EXPECT_TRUE(client.send({}).empty());
}

}  // namespace
}  // namespace dfaas::peers
