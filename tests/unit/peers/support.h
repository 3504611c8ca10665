// Builders shared by the peer-protocol tests.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "dfaas/peers/envelope.h"
#include "dfaas/peers/membership.h"
#include "dfaas/peers/outbox.h"
#include "dfaas/peers/receiver.h"
#include "dfaas/peers/signature.h"

namespace dfaas::peers::testing {

inline Instant at_ms(int64_t milliseconds) {
    return Instant{Millis{milliseconds}};
}

// 2023-11-14T22:13:20Z, an arbitrary fixed wall-clock instant.
inline const Instant kNow = at_ms(1700000000000);

inline Ipv4 ip(const char *text) {
    return *Ipv4::parse(text);
}

inline Endpoint endpoint(const char *text) {
    return *Endpoint::parse(text);
}

inline const std::string kKeyText = "0123456789abcdef0123456789abcdef";
inline const std::string kOtherKeyText = "fedcba9876543210fedcba9876543210";

inline Keyring keyring(const std::string &text = kKeyText) {
    return Keyring{ClusterKey(text), {}};
}

inline Heartbeat heartbeat(std::vector<FunctionPort> functions = {{"figlet", 31001}},
                           std::vector<PeerRef> peers = {}) {
    Heartbeat body;
    body.node_type = NodeType::Heavy;
    body.thresholds = {150.0, 8e9, 3e6};
    body.strategy = "recalc";
    body.period = Millis{10000};
    body.functions = std::move(functions);
    body.peers = std::move(peers);
    return body;
}

inline Envelope envelope_from(const std::string &sender, const char *address, Body body,
                              uint64_t seq = 1, Instant sent_at = kNow) {
    Envelope envelope;
    const Endpoint where = endpoint(address);
    envelope.sender_id = sender;
    envelope.sender_ip = where.addr;
    envelope.sender_port = where.port;
    envelope.seq = seq;
    envelope.sent_at = sent_at;
    envelope.body = std::move(body);
    return envelope;
}

// A request as the server would pass it: POST /v1/peer/message, headers signed with `key`.
struct SignedRequest {
    std::string method = "POST";
    std::string path = std::string(kMessagePath);
    std::optional<std::string> node;
    std::optional<std::string> timestamp;
    std::optional<std::string> signature;
    std::string body;

    InboundRequest view() const {
        InboundRequest request;
        request.method = method;
        request.path = path;
        if (node) request.node = *node;
        if (timestamp) request.timestamp = *timestamp;
        if (signature) request.signature = *signature;
        request.body = body;
        request.remote = "127.0.0.1";
        return request;
    }
};

// Signs `body` as sent by `node` at `sent_at`.
inline SignedRequest sign_body(std::string body, const std::string &node, Instant sent_at,
                               const std::string &key = kKeyText) {
    SignedRequest request;
    request.body = std::move(body);
    request.node = node;
    const int64_t ms = sent_at.time_since_epoch().count();
    request.timestamp = std::to_string(ms);
    request.signature = sign(ClusterKey(key), "POST", request.path, ms, request.body);
    return request;
}

inline SignedRequest signed_envelope(const Envelope &envelope, const std::string &key = kKeyText) {
    return sign_body(encode_envelope(envelope), envelope.sender_id, envelope.sent_at, key);
}

}  // namespace dfaas::peers::testing
