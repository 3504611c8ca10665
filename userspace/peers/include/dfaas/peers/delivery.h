// What travels between the pure side (Membership, Outbox) and the transport (PeerClient): whom
// to send to, the signed request, and what happened.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dfaas/net.h"
#include "dfaas/strategy/types.h"

namespace dfaas::peers {

using strategy::Millis;

enum class TargetKind {
    Member,     // authenticated by its own signed message
    Seed,       // peers.seeds, id unknown until it speaks
    Candidate,  // learned from a Member's gossip (or a Member that died), not yet heard from
};
std::string_view to_string(TargetKind kind);

struct Target {
    Endpoint endpoint;
    std::optional<std::string> id;  // known for members; claimed by gossip for candidates
    TargetKind kind = TargetKind::Member;

    bool operator==(const Target &) const = default;
};

// A signed HTTP request, ready to send: POST `path` with the three auth headers and `body`.
struct OutboundRequest {
    std::string path;
    std::string node_id;
    int64_t timestamp_ms = 0;
    std::string signature;
    std::string body;
    std::string type;  // the message type, for counters and logs

    // (name, value) pairs: X-Dfaas-Node, X-Dfaas-Timestamp, X-Dfaas-Signature.
    std::vector<std::pair<std::string, std::string>> auth_headers() const;
};

struct Delivery {
    Target target;
    // Shared: a broadcast signs one request for every destination.
    std::shared_ptr<const OutboundRequest> request;
};

enum class SendStatus {
    Ok,              // 2xx
    Timeout,         // no complete answer before the deadline (or not started in time)
    Refused,         // the connection failed before the deadline: Refused, unreachable, reset
    HttpError,       // the peer answered with a non-2xx status (see reason)
    TransportError,  // anything else: a malformed answer, a local socket error
};
std::string_view to_string(SendStatus status);

struct SendResult {
    Target target;
    std::string type;
    SendStatus status = SendStatus::Ok;
    int http_status = 0;  // when the peer answered
    // On http_error the peer's rejection reason ("bad_signature", "unknown_sender", ... or
    // "HTTP 404" when the answer names none); on other failures what happened ("connection
    // refused", "no answer within 1000 ms"); empty on success.
    std::string reason;
    std::string detail;  // the peer's detail on http_error
    Millis elapsed{0};

    bool ok() const { return status == SendStatus::Ok; }
};

}  // namespace dfaas::peers
