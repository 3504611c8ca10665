#include "dfaas/peers/receiver.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support.h"

namespace dfaas::peers {
namespace {

using namespace testing;

// A receiver for node "me" whose handler records what reaches it.
class ReceiverTest : public ::testing::Test {
  protected:
    ReceiverTest()
        : receiver_(ReceiverSettings{"me", Millis{30000}}, keyring(),
                    [this](const Envelope &envelope, Instant) {
                        handled_.push_back(envelope);
                        return verdict_;
                    }) {}

    static Envelope heartbeat_from_a(uint64_t seq = 1, Instant sent_at = kNow) {
        return envelope_from("node-a", "10.0.0.1:30090", heartbeat(), seq, sent_at);
    }

    // Expects a rejection for `reason`, counted once, the handler untouched.
    void expect_rejected(const SignedRequest &request, RejectReason reason,
                         const std::string &detail = "", Instant now = kNow) {
        const auto before = receiver_.counters();
        const size_t handled = handled_.size();
        const Reply reply = receiver_.handle(request.view(), now);
        ASSERT_TRUE(reply.rejection.has_value()) << to_string(reason);
        EXPECT_EQ(reply.rejection->reason, reason) << reply.rejection->detail;
        EXPECT_EQ(reply.status, http_status(reason));
        EXPECT_NE(reply.rejection->detail.find(detail), std::string::npos)
            << reply.rejection->detail;
        const auto body = nlohmann::json::parse(reply.body);
        EXPECT_EQ(body["error"], std::string(to_string(reason)));
        EXPECT_EQ(handled_.size(), handled) << "the handler saw a rejected message";
        const auto after = receiver_.counters();
        EXPECT_EQ(after.rejected_for(reason), before.rejected_for(reason) + 1);
        EXPECT_EQ(after.rejected_total(), before.rejected_total() + 1);
        EXPECT_EQ(after.accepted_total(), before.accepted_total());
    }

    Admission verdict_ = Admission::accept();
    std::vector<Envelope> handled_;
    Receiver receiver_;
};

TEST_F(ReceiverTest, AcceptsAValidSignedMessage) {
    const Envelope envelope = heartbeat_from_a();
    const Reply reply = receiver_.handle(signed_envelope(envelope).view(), kNow + Millis{250});
    EXPECT_EQ(reply.status, 204);
    EXPECT_FALSE(reply.rejection.has_value());
    EXPECT_EQ(reply.type, "heartbeat");
    ASSERT_EQ(handled_.size(), 1u);
    EXPECT_EQ(handled_[0], envelope);
    const auto counters = receiver_.counters();
    EXPECT_EQ(counters.accepted[0], 1u);
    EXPECT_EQ(counters.accepted_total(), 1u);
    EXPECT_EQ(counters.rejected_total(), 0u);
    EXPECT_GT(counters.accepted_bytes, 100u);
}

TEST_F(ReceiverTest, BadKeyIsRejected) {
    expect_rejected(signed_envelope(heartbeat_from_a(), kOtherKeyText), RejectReason::BadSignature,
                    "does not match");
}

TEST_F(ReceiverTest, TamperedBodyIsRejected) {
    SignedRequest request = signed_envelope(heartbeat_from_a());
    const auto at = request.body.find("figlet");
    ASSERT_NE(at, std::string::npos);
    request.body.replace(at, 6, "evilfn");
    expect_rejected(request, RejectReason::BadSignature);
}

TEST_F(ReceiverTest, TamperedTimestampOrPathIsRejected) {
    SignedRequest request = signed_envelope(heartbeat_from_a());
    request.timestamp = std::to_string(kNow.time_since_epoch().count() + 1);
    expect_rejected(request, RejectReason::BadSignature);

    SignedRequest other_path = signed_envelope(heartbeat_from_a(2));
    other_path.path = "/v1/peer/message/";
    expect_rejected(other_path, RejectReason::BadRequest, "only /v1/peer/message");
}

TEST_F(ReceiverTest, StaleTimestampIsRejectedBeforeTheSignatureIsChecked) {
    const Instant old = kNow - Millis{30001};
    expect_rejected(signed_envelope(heartbeat_from_a(1, old)), RejectReason::StaleTimestamp,
                    "30001 ms behind");
    const Instant future = kNow + Millis{31000};
    expect_rejected(signed_envelope(heartbeat_from_a(1, future)), RejectReason::StaleTimestamp,
                    "31 s ahead");
    // Even with a wrong signature the reason is the clock (nothing else is computed).
    expect_rejected(signed_envelope(heartbeat_from_a(1, old), kOtherKeyText),
                    RejectReason::StaleTimestamp);
    // At the edge of the window it is accepted.
    EXPECT_EQ(
        receiver_.handle(signed_envelope(heartbeat_from_a(1, kNow - Millis{30000})).view(), kNow)
            .status,
        204);
}

TEST_F(ReceiverTest, ReplayIsRejected) {
    const SignedRequest request = signed_envelope(heartbeat_from_a(7));
    ASSERT_EQ(receiver_.handle(request.view(), kNow).status, 204);
    expect_rejected(request, RejectReason::Replay, "seq 7 of 'node-a' already received",
                    kNow + Millis{1000});
    // The same seq signed again at another time is still a replay (seq is per sender).
    expect_rejected(signed_envelope(heartbeat_from_a(7, kNow + Millis{5})), RejectReason::Replay);
    // After the window the replayed request is stale.
    expect_rejected(request, RejectReason::StaleTimestamp, "", kNow + Millis{30001});
    EXPECT_EQ(handled_.size(), 1u);
}

TEST_F(ReceiverTest, UnknownTypeIsRejectedEvenWhenSigned) {
    nlohmann::json document = nlohmann::json::parse(encode_envelope(heartbeat_from_a()));
    document["type"] = "overload_alert";
    expect_rejected(sign_body(document.dump(), "node-a", kNow), RejectReason::UnknownType,
                    "overload_alert");
}

TEST_F(ReceiverTest, MalformedJsonIsRejectedEvenWhenSigned) {
    expect_rejected(sign_body("{\"v\":1,\"type\":", "node-a", kNow), RejectReason::MalformedJson);
    expect_rejected(sign_body("", "node-a", kNow), RejectReason::MalformedJson);
    expect_rejected(sign_body(std::string(1000, '{'), "node-a", kNow), RejectReason::MalformedJson,
                    "nested deeper");
}

TEST_F(ReceiverTest, OversizedBodyIsRejected) {
    std::string body = encode_envelope(heartbeat_from_a());
    body.append(kMaxMessageBytes, ' ');  // still valid JSON, just too big
    expect_rejected(sign_body(body, "node-a", kNow), RejectReason::TooLarge, "262144");
    // The server screens the announced length before reading the body.
    const auto before = receiver_.counters();
    const auto reply = receiver_.screen("POST", kMessagePath, std::to_string(kMaxMessageBytes + 1));
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 413);
    EXPECT_EQ(receiver_.counters().rejected_for(RejectReason::TooLarge),
              before.rejected_for(RejectReason::TooLarge) + 1);
    EXPECT_FALSE(receiver_.screen("POST", kMessagePath, std::string("512")).has_value());
}

TEST_F(ReceiverTest, ScreenRefusesOtherMethodsPathsAndMissingLength) {
    EXPECT_EQ(receiver_.screen("GET", kMessagePath, std::nullopt)->rejection->reason,
              RejectReason::BadRequest);
    EXPECT_EQ(receiver_.screen("POST", "/metrics", std::string("1"))->rejection->reason,
              RejectReason::BadRequest);
    EXPECT_EQ(receiver_.screen("POST", kMessagePath, std::nullopt)->rejection->detail,
              "Content-Length is required");
    EXPECT_EQ(receiver_.screen("POST", kMessagePath, std::string("12x"))->rejection->reason,
              RejectReason::BadRequest);
    EXPECT_EQ(receiver_.counters().rejected_for(RejectReason::BadRequest), 4u);
}

TEST_F(ReceiverTest, MissingOrMalformedAuthHeadersAreRejected) {
    SignedRequest request = signed_envelope(heartbeat_from_a());
    SignedRequest no_signature = request;
    no_signature.signature.reset();
    expect_rejected(no_signature, RejectReason::MissingAuth, "X-Dfaas-Signature");
    SignedRequest none = request;
    none.node.reset();
    none.timestamp.reset();
    none.signature.reset();
    expect_rejected(none, RejectReason::MissingAuth,
                    "X-Dfaas-Node, X-Dfaas-Timestamp, X-Dfaas-Signature");

    SignedRequest bad_node = request;
    bad_node.node = "not a node";
    expect_rejected(bad_node, RejectReason::BadAuthHeader, "X-Dfaas-Node");
    SignedRequest bad_time = request;
    bad_time.timestamp = "-17";
    expect_rejected(bad_time, RejectReason::BadAuthHeader, "X-Dfaas-Timestamp");
    bad_time.timestamp = "99999999999999999999";
    expect_rejected(bad_time, RejectReason::BadAuthHeader, "X-Dfaas-Timestamp");
    SignedRequest bad_signature = request;
    bad_signature.signature = "abc";
    expect_rejected(bad_signature, RejectReason::BadAuthHeader, "64 hex digits");
}

TEST_F(ReceiverTest, HeadersMustMatchTheSignedBody) {
    const Envelope envelope = heartbeat_from_a();
    // Signed correctly, but announced as another node: the body's sender_id is what is signed.
    SignedRequest other_node = sign_body(encode_envelope(envelope), "node-b", kNow);
    expect_rejected(other_node, RejectReason::HeaderMismatch, "node-b");
    SignedRequest other_time = sign_body(encode_envelope(envelope), "node-a", kNow + Millis{1});
    expect_rejected(other_time, RejectReason::HeaderMismatch, "sent_at");
}

TEST_F(ReceiverTest, OwnIdAndOtherReceiversAreRejected) {
    expect_rejected(signed_envelope(envelope_from("me", "10.0.0.9:30090", heartbeat())),
                    RejectReason::SelfSender, "another node with the same id");
    Envelope directed =
        envelope_from("node-a", "10.0.0.1:30090", strategy::RecalcLimits{{{"figlet", 5}}});
    directed.to = "node-b";
    expect_rejected(signed_envelope(directed), RejectReason::WrongReceiver, "node-b");
    directed.to = "me";
    directed.seq = 2;
    EXPECT_EQ(receiver_.handle(signed_envelope(directed).view(), kNow).status, 204);
}

TEST_F(ReceiverTest, HandlerRejectionsAreCountedUnderTheirReason) {
    verdict_ = Admission::reject(RejectReason::UnknownSender, "not a member");
    const Reply reply = receiver_.handle(signed_envelope(heartbeat_from_a()).view(), kNow);
    EXPECT_EQ(reply.status, 403);
    EXPECT_EQ(reply.rejection->reason, RejectReason::UnknownSender);
    EXPECT_EQ(reply.type, "heartbeat");
    EXPECT_EQ(receiver_.counters().rejected_for(RejectReason::UnknownSender), 1u);
    EXPECT_EQ(receiver_.counters().accepted_total(), 0u);
}

TEST_F(ReceiverTest, IgnoredMessagesAreAcceptedAndCountedAsIgnored) {
    verdict_ = Admission::accept(false, true);
    const Envelope margin = envelope_from("node-a", "10.0.0.1:30090", strategy::NmsMargin{10, {}});
    EXPECT_EQ(receiver_.handle(signed_envelope(margin).view(), kNow).status, 204);
    EXPECT_EQ(receiver_.counters().accepted[3], 1u);
    EXPECT_EQ(receiver_.counters().ignored[3], 1u);
}

TEST(Receiver, HandlerExceptionsBecomeInternalErrors) {
    Receiver receiver(
        ReceiverSettings{"me"}, keyring(),
        [](const Envelope &, Instant) -> Admission { throw std::runtime_error("boom"); });
    std::vector<std::string> observed;
    receiver.set_reject_observer([&](const Rejection &rejection, std::string_view remote) {
        observed.push_back(std::string(to_string(rejection.reason)) + "@" + std::string(remote));
    });
    const Reply reply = receiver.handle(
        signed_envelope(envelope_from("node-a", "10.0.0.1:1", heartbeat())).view(), kNow);
    EXPECT_EQ(reply.status, 500);
    EXPECT_EQ(reply.rejection->detail, "boom");
    EXPECT_EQ(observed, std::vector<std::string>{"internal_error@127.0.0.1"});
}

TEST(Receiver, DetailsNeverCarryControlBytes) {
    Receiver receiver(ReceiverSettings{"me"}, keyring(),
                      [](const Envelope &, Instant) { return Admission::accept(); });
    SignedRequest request = sign_body("{\"v\":1,\"type\":\"x\x01\"}", "node-a", kNow);
    const Reply reply = receiver.handle(request.view(), kNow);
    ASSERT_TRUE(reply.rejection.has_value());
    for (char c : reply.rejection->detail)
        EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
}

TEST(Receiver, TheHandlerLearnsTheSourceAddress) {
    std::vector<std::optional<Ipv4>> sources;
    Receiver receiver(ReceiverSettings{"me"}, keyring(),
                      [&](const Envelope &, Instant, std::optional<Ipv4> source) {
                          sources.push_back(source);
                          return Admission::accept();
                      });
    uint64_t seq = 0;
    for (const char *remote : {"10.1.2.3", "::ffff:10.1.2.4", "", "fe80::1"}) {
        const SignedRequest request =
            signed_envelope(envelope_from("node-a", "10.0.0.1:30090", heartbeat(), ++seq));
        InboundRequest inbound = request.view();
        inbound.remote = remote;
        EXPECT_EQ(receiver.handle(inbound, kNow).status, 204) << remote;
    }
    // An address that is not IPv4 is no source: the agent's membership refuses it.
    EXPECT_EQ(sources, (std::vector<std::optional<Ipv4>>{ip("10.1.2.3"), ip("10.1.2.4"),
                                                         std::nullopt, std::nullopt}));
}

TEST(Receiver, InvalidSettingsAreRefused) {
    auto accept = [](const Envelope &, Instant) { return Admission::accept(); };
    EXPECT_THROW(Receiver(ReceiverSettings{""}, keyring(), accept), Error);
    EXPECT_THROW(Receiver(ReceiverSettings{"me", Millis{0}}, keyring(), accept), Error);
    EXPECT_THROW(Receiver(ReceiverSettings{"me"}, keyring(), Receiver::Handler{}), Error);
}

}  // namespace
}  // namespace dfaas::peers
