// Why an inbound peer message was refused. Every rejection has one reason, a counter and an HTTP
// status; the names are stable (metric labels, the "error" field of the reply, the docs).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace dfaas::peers {

// Configuration and programming errors of the library (invalid settings, a key too short, an
// envelope that cannot be encoded). Never thrown on the receive path: bad input is a Rejection.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class RejectReason : uint8_t {
    BadRequest,          // not POST /v1/peer/message, or no Content-Length
    TooLarge,            // body larger than the limit
    MissingAuth,         // X-Dfaas-Node, X-Dfaas-Timestamp or X-Dfaas-Signature absent
    BadAuthHeader,       // one of them malformed (not an id, not an integer, not 64 hex digits)
    StaleTimestamp,      // timestamp outside now ± Replay window
    BadSignature,        // HMAC mismatch (wrong key, tampered method, path, timestamp or body)
    MalformedJson,       // not JSON, nested too deep, or not an object
    UnsupportedVersion,  // "v" is not this protocol's version
    InvalidEnvelope,     // an envelope field missing, of the wrong type or out of range
    UnknownType,         // "type" is not a known message type
    InvalidBody,         // the body does not match its type
    HeaderMismatch,      // headers disagree with the signed body (sender id, timestamp)
    SelfSender,          // the sender claims this node's id
    WrongReceiver,       // a directed message ("to") for another node
    Replay,              // (sender, seq) already seen within the window
    ReplayCapacity,      // too many senders tracked: Refused rather than forgetting one
    UnknownSender,       // a strategy message from a node that is not a member yet
    Refused,             // the membership Refused a valid message (e.g. member table full)
    InternalError,       // the handler failed unexpectedly
    SourceMismatch,      // the signed sender_ip is not the TCP source address of the message
    BadAddress,          // the sender's address can never be a member's: this node's own,
                         // 0.0.0.0, loopback, link-local, multicast or broadcast
};

inline constexpr size_t kRejectReasonCount = static_cast<size_t>(RejectReason::BadAddress) + 1;

std::string_view to_string(RejectReason reason);
// The HTTP status of the reply: 400, 401, 403, 409, 413, 422, 500 or 503.
int http_status(RejectReason reason);
// Every reason, in enum order (for exporters).
const std::array<RejectReason, kRejectReasonCount> &all_reject_reasons();

// A refused message: the reason and a human-readable detail naming the offending input (the JSON
// path, the header). The detail may quote received text; never the key.
struct Rejection {
    RejectReason reason = RejectReason::BadRequest;
    std::string detail;

    bool operator==(const Rejection &) const = default;
};

// What the membership (or any handler) made of a message that passed every transport check.
struct Admission {
    bool accepted = false;
    Rejection rejection;   // when not accepted
    bool changed = false;  // a member joined, or a member's address, node type or functions changed
    bool ignored = false;  // accepted, but the peer table had no use for it (a Node Margin margin
                           // from a peer whose node info is unknown)

    static Admission accept(bool changed = false, bool ignored = false) {
        return Admission{true, {}, changed, ignored};
    }
    static Admission reject(RejectReason reason, std::string detail) {
        return Admission{false, Rejection{reason, std::move(detail)}, false, false};
    }
};

}  // namespace dfaas::peers
