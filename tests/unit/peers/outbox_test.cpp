#include "dfaas/peers/outbox.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "support.h"

namespace dfaas::peers {
namespace {

using namespace testing;

// One node of an in-memory federation: what the agent wires together, without sockets.
struct Node {
    Node(const std::string &id, const char *address, std::vector<Endpoint> seeds,
         Millis ttl = Millis{12000})
        : membership(MembershipSettings{id, endpoint(address), std::move(seeds), ttl}),
          outbox(Identity{id, endpoint(address)}, keyring(), Outbox::initial_seq(kNow)),
          receiver(ReceiverSettings{id}, keyring(), [this](const Envelope &envelope, Instant now) {
              // In memory: the source is the address the sender claims.
              return membership.receive(envelope, now, envelope.sender_ip);
          }) {}

    Membership membership;
    Outbox outbox;
    Receiver receiver;
};

// Delivers a batch in memory, as PeerClient would over HTTP.
std::vector<SendResult> deliver(const Batch &batch, std::vector<std::unique_ptr<Node>> &nodes,
                                Instant now) {
    std::vector<SendResult> results;
    for (const auto &delivery : batch.deliveries) {
        SendResult result;
        result.target = delivery.target;
        result.type = delivery.request->type;
        Node *to = nullptr;
        for (auto &node : nodes)
            if (node->outbox.identity().endpoint == delivery.target.endpoint) to = node.get();
        if (to == nullptr) {
            result.status = SendStatus::Refused;
            result.reason = "connection refused";
        } else {
            InboundRequest request;
            request.method = "POST";
            request.path = delivery.request->path;
            const auto headers = delivery.request->auth_headers();
            request.node = headers[0].second;
            request.timestamp = headers[1].second;
            request.signature = headers[2].second;
            request.body = delivery.request->body;
            const Reply reply = to->receiver.handle(request, now);
            result.http_status = reply.status;
            if (reply.rejection) {
                result.status = SendStatus::HttpError;
                result.reason = std::string(to_string(reply.rejection->reason));
            }
        }
        results.push_back(result);
    }
    return results;
}

void heartbeat_round(std::vector<std::unique_ptr<Node>> &nodes, Instant now) {
    for (auto &node : nodes) {
        const Batch batch = node->outbox.heartbeat(heartbeat(), node->membership, now);
        EXPECT_TRUE(batch.errors.empty());
        node->membership.record_deliveries(deliver(batch, nodes, now), now);
    }
}

TEST(Outbox, InitialSeqComesFromTheBootClockAndGrows) {
    EXPECT_EQ(Outbox::initial_seq(kNow), 1700000000000000u);
    Outbox outbox(Identity{"node-a", endpoint("10.0.0.1:30090")}, keyring(),
                  Outbox::initial_seq(kNow));
    const Envelope first = outbox.envelope(heartbeat(), std::nullopt, kNow);
    const Envelope second = outbox.envelope(heartbeat(), std::nullopt, kNow);
    EXPECT_EQ(first.seq, 1700000000000000u);
    EXPECT_EQ(second.seq, first.seq + 1);
    // A restart one millisecond later starts above everything the earlier run could have sent
    // at under 1000 messages per millisecond.
    EXPECT_GT(Outbox::initial_seq(kNow + Millis{1}), first.seq + 999);
    EXPECT_EQ(first.sender_endpoint(), endpoint("10.0.0.1:30090"));
}

TEST(Outbox, SealedRequestsVerifyAndDecode) {
    Outbox outbox(Identity{"node-a", endpoint("10.0.0.1:30090")}, keyring(), 5);
    const Envelope envelope = outbox.envelope(heartbeat(), std::nullopt, kNow);
    const auto request = outbox.seal(envelope);
    EXPECT_EQ(request->path, "/v1/peer/message");
    EXPECT_EQ(request->type, "heartbeat");
    EXPECT_EQ(request->timestamp_ms, kNow.time_since_epoch().count());
    EXPECT_TRUE(verify(keyring(), "POST", request->path, request->timestamp_ms, request->body,
                       request->signature));
    EXPECT_EQ(*decode_envelope(request->body).envelope, envelope);
    const auto headers = request->auth_headers();
    ASSERT_EQ(headers.size(), 3u);
    EXPECT_EQ(headers[0], (std::pair<std::string, std::string>{"X-Dfaas-Node", "node-a"}));
    EXPECT_EQ(headers[1].first, "X-Dfaas-Timestamp");
    EXPECT_EQ(headers[1].second, "1700000000000");
    EXPECT_EQ(headers[2].first, "X-Dfaas-Signature");
    EXPECT_EQ(headers[2].second.size(), 64u);
}

TEST(Outbox, HeartbeatIsSignedOnceForEveryTargetAndCarriesTheView) {
    Membership membership(MembershipSettings{
        "me", endpoint("10.0.0.9:30090"), {endpoint("10.0.0.5:30090")}, Millis{12000}});
    ASSERT_TRUE(
        membership
            .receive(envelope_from("node-a", "10.0.0.1:30090", heartbeat()), kNow, ip("10.0.0.1"))
            .accepted);
    Outbox outbox(Identity{"me", endpoint("10.0.0.9:30090")}, keyring(), 1);
    const Batch batch = outbox.heartbeat(heartbeat(), membership, kNow);
    ASSERT_EQ(batch.deliveries.size(), 2u);
    EXPECT_EQ(batch.deliveries[0].request, batch.deliveries[1].request);
    const auto decoded = decode_envelope(batch.deliveries[0].request->body);
    ASSERT_TRUE(decoded.ok());
    EXPECT_FALSE(decoded.envelope->to.has_value());
    EXPECT_EQ(std::get<Heartbeat>(decoded.envelope->body).peers,
              (std::vector<PeerRef>{{"node-a", endpoint("10.0.0.1:30090")}}));

    Membership lonely(MembershipSettings{"me", endpoint("10.0.0.9:30090"), {}, Millis{12000}});
    EXPECT_TRUE(outbox.heartbeat(heartbeat(), lonely, kNow).deliveries.empty());
}

TEST(Outbox, StrategyMessagesGoToTheirMembersAndProblemsAreListed) {
    Membership membership(MembershipSettings{"me", endpoint("10.0.0.9:30090"), {}, Millis{12000}});
    for (const auto &[id, address] :
         {std::pair{"node-a", "10.0.0.1:30090"}, std::pair{"node-b", "10.0.0.2:30090"}}) {
        const Envelope hello = envelope_from(id, address, heartbeat());
        ASSERT_TRUE(membership.receive(hello, kNow, hello.sender_ip).accepted);
    }
    Outbox outbox(Identity{"me", endpoint("10.0.0.9:30090")}, keyring(), 1);
    const std::vector<strategy::OutgoingMessage> messages = {
        {std::nullopt, strategy::StaticInfo{{"figlet"}}},
        {"node-b", strategy::RecalcLimits{{{"figlet", 12}}}},
        {"node-z", strategy::RecalcLimits{{{"figlet", 1}}}},
        {"node-a", strategy::RecalcLimits{{{"figlet", std::nan("")}}}},
    };
    const Batch batch = outbox.messages(messages, membership, kNow);
    ASSERT_EQ(batch.deliveries.size(), 3u);
    EXPECT_EQ(batch.deliveries[0].request, batch.deliveries[1].request);  // one broadcast
    EXPECT_EQ(batch.deliveries[0].request->type, "static_info");
    const auto directed = decode_envelope(batch.deliveries[2].request->body);
    ASSERT_TRUE(directed.ok());
    EXPECT_EQ(directed.envelope->to, "node-b");
    EXPECT_EQ(batch.deliveries[2].target.id, "node-b");
    ASSERT_EQ(batch.errors.size(), 2u);
    EXPECT_EQ(batch.errors[0], "recalc_limits to node-z: not a live member");
    EXPECT_NE(batch.errors[1].find("recalc_limits to node-a: cannot encode"), std::string::npos)
        << batch.errors[1];
}

TEST(Federation, OneSeedIsEnoughToLearnEveryNode) {
    // node-0 knows nobody; every other node knows only node-0.
    std::vector<std::unique_ptr<Node>> nodes;
    const std::vector<std::string> addresses = {"10.0.0.10:30090", "10.0.0.11:30090",
                                                "10.0.0.12:30090", "10.0.0.13:30090",
                                                "10.0.0.14:30090", "10.0.0.15:30090"};
    for (size_t i = 0; i < addresses.size(); ++i)
        nodes.push_back(std::make_unique<Node>(
            "node-" + std::to_string(i), addresses[i].c_str(),
            i == 0 ? std::vector<Endpoint>{} : std::vector<Endpoint>{endpoint("10.0.0.10:30090")}));
    Instant now = kNow;
    int rounds = 0;
    auto complete = [&] {
        for (const auto &node : nodes)
            if (node->membership.members().size() != nodes.size() - 1) return false;
        return true;
    };
    while (!complete() && rounds < 10) {
        heartbeat_round(nodes, now);
        now += Millis{1000};
        ++rounds;
    }
    EXPECT_TRUE(complete()) << "after " << rounds << " rounds";
    EXPECT_LE(rounds, 3);
    for (const auto &node : nodes) {
        EXPECT_EQ(node->membership.table().live(now).size(), nodes.size() - 1);
        EXPECT_TRUE(node->membership.candidates().empty());
        EXPECT_EQ(node->receiver.counters().rejected_total(), 0u);
    }

    // Strategy messages now flow: node-3 tells node-4 its limits.
    const Batch batch = nodes[3]->outbox.messages(
        {{"node-4", strategy::RecalcLimits{{{"figlet", 7}}}}}, nodes[3]->membership, now);
    const auto results = deliver(batch, nodes, now);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(results[0].ok()) << results[0].reason;
    const auto *entry = nodes[4]->membership.table().find("node-3");
    ASSERT_NE(entry, nullptr);
    ASSERT_TRUE(entry->recalc_limit_out.has_value());
    EXPECT_EQ(entry->recalc_limit_out->value.at("figlet"), 7.0);

    // node-5 stops: after the TTL every other node drops it, and nobody re-learns it from gossip
    // as a member (only its own heartbeat would do that).
    nodes.pop_back();
    for (int i = 0; i < 14; ++i) {
        heartbeat_round(nodes, now);
        for (auto &node : nodes)
            node->membership.expire(now);
        now += Millis{1000};
    }
    for (const auto &node : nodes) {
        EXPECT_EQ(node->membership.find("node-5"), nullptr);
        EXPECT_EQ(node->membership.members().size(), nodes.size() - 1);
    }
}

TEST(Federation, AForeignKeyNeverJoins) {
    std::vector<std::unique_ptr<Node>> nodes;
    nodes.push_back(std::make_unique<Node>("node-0", "10.0.0.10:30090", std::vector<Endpoint>{}));
    nodes.push_back(std::make_unique<Node>("node-1", "10.0.0.11:30090",
                                           std::vector<Endpoint>{endpoint("10.0.0.10:30090")}));
    // An intruder with the wrong key knows node-0.
    Outbox intruder(Identity{"intruder", endpoint("10.0.0.66:30090")}, keyring(kOtherKeyText), 1);
    Membership intruder_view(MembershipSettings{
        "intruder", endpoint("10.0.0.66:30090"), {endpoint("10.0.0.10:30090")}, Millis{12000}});
    for (int round = 0; round < 3; ++round) {
        const Instant now = kNow + Millis{1000 * round};
        heartbeat_round(nodes, now);
        const auto results =
            deliver(intruder.heartbeat(heartbeat(), intruder_view, now), nodes, now);
        ASSERT_EQ(results.size(), 1u);
        EXPECT_EQ(results[0].reason, "bad_signature");
    }
    EXPECT_EQ(nodes[0]->membership.find("intruder"), nullptr);
    EXPECT_EQ(nodes[1]->membership.find("intruder"), nullptr);
    EXPECT_EQ(nodes[0]->receiver.counters().rejected_for(RejectReason::BadSignature), 3u);
    EXPECT_NE(nodes[1]->membership.find("node-0"), nullptr);
}

}  // namespace
}  // namespace dfaas::peers
