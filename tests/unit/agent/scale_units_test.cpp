// Issue 14, scale limits and identity binding at the agent's level: the peer port binds a member
// to the TCP source address of its messages (over real HTTP on 127.0.0.1), and what is over a
// limit (members beyond the data plane's peer slots, functions beyond its function table) is
// shown in /metrics, /v1/peers and /v1/status instead of ending the agent.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "dfaas/peers/envelope.h"
#include "dfaas/peers/signature.h"
#include "metrics.h"
#include "peer_link.h"
#include "views.h"

namespace dfaas::agent {
namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef";

uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

strategy::Instant wall_now() {
    return std::chrono::time_point_cast<strategy::Millis>(std::chrono::system_clock::now());
}

// A signed heartbeat as another node would send it, claiming `claimed` as its address.
httplib::Result send_heartbeat(uint16_t port, const std::string &id, const std::string &claimed,
                               uint64_t seq) {
    peers::Envelope envelope;
    envelope.sender_id = id;
    envelope.sender_ip = *Ipv4::parse(claimed);
    envelope.sender_port = 30090;
    envelope.seq = seq;
    envelope.sent_at = wall_now();
    peers::Heartbeat heartbeat;
    heartbeat.node_type = NodeType::Mid;
    heartbeat.thresholds = {0.8, 0.8, 0.8};
    heartbeat.strategy = "recalc";
    heartbeat.period = std::chrono::seconds(4);
    heartbeat.functions = {{"figlet", 31001}};
    envelope.body = heartbeat;
    const std::string body = peers::encode_envelope(envelope);
    const int64_t ts = envelope.sent_at.time_since_epoch().count();
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(std::chrono::seconds(2));
    client.set_read_timeout(std::chrono::seconds(2));
    httplib::Headers headers{
        {std::string(peers::kHeaderNode), id},
        {std::string(peers::kHeaderTimestamp), std::to_string(ts)},
        {std::string(peers::kHeaderSignature),
         peers::sign(peers::ClusterKey(kKey), "POST", peers::kMessagePath, ts, body)}};
    return client.Post(std::string(peers::kMessagePath), headers, body, "application/json");
}

std::string error_of(const httplib::Result &result) {
    if (!result) return "no reply";
    try {
        return nlohmann::json::parse(result->body).value("error", "");
    } catch (...) {
        return result->body;
    }
}

TEST(PeerLink, AMemberMustSpeakFromTheAddressItClaims) {
    const std::string key_file = testing::TempDir() + "/dfaas-scale-units.key";
    { std::ofstream(key_file) << kKey << "\n"; }
    ::chmod(key_file.c_str(), 0600);
    Config cfg;
    cfg.node.ip = *Ipv4::parse("10.200.0.1");
    cfg.peers.listen_port = free_port();
    cfg.peers.cluster_key_file = key_file;
    cfg.strategy.period = std::chrono::seconds(4);
    PeerLink link(cfg, "node-self", std::chrono::seconds(5), [] { return peers::Heartbeat{}; });
    link.start();

    // Signed with the cluster key, from 127.0.0.1, claiming 10.0.0.1: a key holder cannot make
    // this node forward traffic to an address it does not hold.
    auto spoofed = send_heartbeat(cfg.peers.listen_port, "node-a", "10.0.0.1", 1);
    ASSERT_TRUE(spoofed) << httplib::to_string(spoofed.error());
    EXPECT_EQ(spoofed->status, 403);
    EXPECT_EQ(error_of(spoofed), "source_mismatch");
    // Claiming the address it does come from: loopback can never be a member's address.
    auto loopback = send_heartbeat(cfg.peers.listen_port, "node-b", "127.0.0.1", 1);
    ASSERT_TRUE(loopback);
    EXPECT_EQ(loopback->status, 403);
    EXPECT_EQ(error_of(loopback), "bad_address");

    EXPECT_TRUE(link.members(wall_now()).empty());
    EXPECT_TRUE(link.authorized(wall_now()).empty());
    const auto stats = link.stats();
    EXPECT_EQ(stats.received.rejected_for(peers::RejectReason::SourceMismatch), 1u);
    EXPECT_EQ(stats.received.rejected_for(peers::RejectReason::BadAddress), 1u);
    EXPECT_EQ(stats.received.accepted_total(), 0u);
    link.stop();
    std::remove(key_file.c_str());
}

PeerView member(const std::string &id, const char *address,
                std::vector<peers::FunctionPort> functions) {
    PeerView v;
    v.id = id;
    v.address = *Ipv4::parse(address);
    v.functions = std::move(functions);
    return v;
}

TEST(PeerSync, APeerNeverReplacesThisNodesOwnEntries) {
    const Ipv4 node = *Ipv4::parse("10.0.0.1");
    // This node serves figlet on 31001 and echo on 31002 (local service entries).
    const std::vector<dp::Service> current{{node, 31001, "figlet", true},
                                           {node, 31002, "echo", true},
                                           {*Ipv4::parse("10.0.0.2"), 31001, "figlet", false}};
    auto serves = [](const std::string &name) { return name == "figlet" || name == "echo"; };
    const auto plan = plan_peer_sync(
        {member("node-b", "10.0.0.2", {{"figlet", 31001}, {"other", 31003}}),
         // Claims this node's address: its figlet port would overwrite the local entry.
         member("node-evil", "10.0.0.1", {{"figlet", 31002}}),
         member("node-lo", "127.0.0.1", {{"echo", 31002}}),
         member("node-c", "10.0.0.3", {{"echo", 31009}})},
        current, node, serves);
    EXPECT_EQ(plan.peers, (std::set<Ipv4>{*Ipv4::parse("10.0.0.2"), *Ipv4::parse("10.0.0.3")}));
    std::map<std::pair<Ipv4, uint16_t>, std::string> expected{
        {{*Ipv4::parse("10.0.0.2"), 31001}, "figlet"}, {{*Ipv4::parse("10.0.0.3"), 31009}, "echo"}};
    EXPECT_EQ(plan.services, expected);
    ASSERT_EQ(plan.refused.size(), 2u);
    EXPECT_NE(plan.refused[0].find("node-evil"), std::string::npos);
    EXPECT_NE(plan.refused[1].find("node-lo"), std::string::npos);
    for (const auto &[key, function] : plan.services)
        EXPECT_NE(key.first, node);
}

TEST(PeerSync, AServiceKeyEqualToALocalOneIsRefused) {
    // A local entry under a second address of this node (e.g. the gateway's): a member there
    // is refused as a whole, and no peer service ever takes a local key.
    const Ipv4 node = *Ipv4::parse("10.0.0.1");
    const Ipv4 second = *Ipv4::parse("10.0.0.50");
    const std::vector<dp::Service> current{{second, 31001, "figlet", true}};
    const auto plan = plan_peer_sync({member("node-x", "10.0.0.50", {{"figlet", 31001}})}, current,
                                     node, [](const std::string &) { return true; });
    EXPECT_TRUE(plan.peers.empty());
    EXPECT_TRUE(plan.services.empty());
    EXPECT_EQ(plan.refused.size(), 1u);
}

AgentView view_over_limits() {
    AgentView v;
    v.node_id = "node-a";
    v.peer_protocol = true;
    v.peers_over_capacity = 8;
    for (int i = 0; i < 44; ++i)
        v.skipped_functions["fn-" + std::to_string(256 + i)] = "dataplane_capacity";
    v.skipped_functions["late"] = "no_port";
    PeerView kept;
    kept.id = "node-b";
    kept.address = *Ipv4::parse("10.0.0.2");
    kept.state = peers::MemberState::Alive;
    PeerView waiting = kept;
    waiting.id = "node-c";
    waiting.address = *Ipv4::parse("10.0.0.3");
    waiting.state = peers::MemberState::OverCapacity;
    v.peers = {kept, waiting};
    v.step_failures = 3;
    return v;
}

TEST(Metrics, LimitsReachedAreCountedNotHidden) {
    const std::string text = render_metrics(view_over_limits());
    EXPECT_NE(text.find("dfaas_peers_over_capacity 8"), std::string::npos) << text;
    EXPECT_NE(text.find("dfaas_functions_skipped{reason=\"dataplane_capacity\"} 44"),
              std::string::npos);
    EXPECT_NE(text.find("dfaas_functions_skipped{reason=\"no_port\"} 1"), std::string::npos);
    EXPECT_NE(text.find("dfaas_functions_skipped{reason=\"dataplane_error\"} 0"),
              std::string::npos);
    EXPECT_NE(text.find("dfaas_agent_errors_total{part=\"strategy_step\"} 3"), std::string::npos);
}

TEST(Views, OverCapacityMembersAreShownAsSuch) {
    const AgentView v = view_over_limits();
    const auto peers = peers_json(v);
    ASSERT_EQ(peers.size(), 2u);
    EXPECT_EQ(peers[0]["state"], "alive");
    EXPECT_EQ(peers[1]["state"], "over_capacity");
    EXPECT_EQ(status_json(v)["peers"]["over_capacity"], 8);
}

}  // namespace
}  // namespace dfaas::agent
