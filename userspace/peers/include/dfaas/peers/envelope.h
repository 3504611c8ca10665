// The peer protocol's messages: the envelope every message travels in, the heartbeat body, and
// their strict JSON encoding. Pure: no I/O, no clock.
//
// {"v":1,"type":"heartbeat","sender_id":"node-a","sender_ip":"10.0.0.1","sender_port":30090,
//  "seq":1718000000123000,"sent_at":1718000000123,"to":"node-b" (directed messages only),
//  "body":{...}}
//
// Bodies: "heartbeat" (Heartbeat below) and the strategy messages of dfaas/strategy/messages.h,
// "recalc_limits", "nms_node_info", "nms_margin", "static_info", in their json.h form without
// the "type" key. Unknown keys are ignored (a newer agent may add fields); everything else is
// checked: required keys, types, ranges, known type names, sizes. docs/peer-protocol.md is the
// reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dfaas/net.h"
#include "dfaas/peers/reject.h"
#include "dfaas/strategy/messages.h"
#include "dfaas/strategy/types.h"

namespace dfaas::peers {

using strategy::Instant;
using strategy::Millis;

inline constexpr int kProtocolVersion = 1;
inline constexpr std::string_view kMessagePath = "/v1/peer/message";
inline constexpr size_t kMaxMessageBytes = 256 * 1024;
inline constexpr size_t kMaxJsonDepth = 16;
inline constexpr size_t kMaxFunctions = 4096;    // per heartbeat or strategy message
inline constexpr size_t kMaxGossipPeers = 1024;  // per heartbeat
inline constexpr size_t kMaxFunctionName = 63;   // the data plane's name field holds 63 + NUL
inline constexpr int64_t kMaxTimestampMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

// The node id rule of the agent's configuration (dfaas::is_valid_node_id): 1..63 characters of
// [A-Za-z0-9._-], the first a letter or a digit.
bool is_valid_peer_id(std::string_view id);
// 1..63 printable ASCII characters without space (OpenFaaS names are DNS labels).
bool is_valid_function_name(std::string_view name);

// A function of the sender and the function port its data plane serves it on. Peers need the
// port to serve connections the sender forwards: the data plane maps (forwarder, port) -> name.
// `remote_only`: the sender does not run it, it only forwards it to the peers that do (they need
// the port all the same); such an entry never makes the sender a runner of the function. On the
// wire `"remote_only": true`, absent otherwise: an older receiver ignores the key (unknown keys
// are ignored) and reads the entry as a function of the sender.
struct FunctionPort {
    std::string name;
    uint16_t port = 0;
    bool remote_only = false;

    bool operator==(const FunctionPort &) const = default;
};

// A member of the sender's view of the federation (gossip).
struct PeerRef {
    std::string id;
    Endpoint endpoint;  // its peer port

    bool operator==(const PeerRef &) const = default;
};

// hello/heartbeat: what the sender is and runs, and whom it knows. The first heartbeat a node
// receives from a sender makes the sender a member.
struct Heartbeat {
    NodeType node_type = NodeType::Mid;
    strategy::Thresholds thresholds;
    std::string strategy;  // the sender's strategy name (diagnostics: mixed federations)
    Millis period{10000};  // the sender's period (diagnostics)
    std::vector<FunctionPort> functions;  // sorted by name, unique names and ports
    std::vector<PeerRef> peers;           // sorted by id, unique, without the sender

    bool operator==(const Heartbeat &) const = default;
};

using Body = std::variant<Heartbeat, strategy::RecalcLimits, strategy::NmsNodeInfo,
                          strategy::NmsMargin, strategy::StaticInfo>;

// "heartbeat", "recalc_limits", "nms_node_info", "nms_margin", "static_info".
std::string_view body_type(const Body &body);
Body to_body(strategy::PeerMessage message);
// The wire type names, in the order of Body's alternatives.
inline constexpr std::string_view kMessageTypes[] = {"heartbeat", "recalc_limits", "nms_node_info",
                                                     "nms_margin", "static_info"};
inline constexpr size_t kMessageTypeCount = std::size(kMessageTypes);
// Index of a body's type in kMessageTypes.
size_t body_type_index(const Body &body);

struct Envelope {
    std::string sender_id;
    Ipv4 sender_ip;
    uint16_t sender_port = 0;       // the sender's peer port
    std::optional<std::string> to;  // the receiver's id for directed messages (recalc_limits)
    uint64_t seq = 0;  // per sender, increasing over the sender's lifetime (restarts included)
    Instant sent_at{};
    Body body;

    Endpoint sender_endpoint() const { return {sender_ip, sender_port}; }
    std::string_view type() const { return body_type(body); }
    bool operator==(const Envelope &) const = default;
};

// nullopt when the envelope can be encoded, else what is wrong ("sender_id: not a node id ...").
std::optional<std::string> validation_error(const Envelope &envelope);

// The canonical JSON text (keys sorted, functions and peers sorted). Throws Error when
// validation_error() reports a problem: the sender must not emit what receivers reject.
std::string encode_envelope(const Envelope &envelope);

struct DecodeResult {
    std::optional<Envelope> envelope;  // set on success
    Rejection rejection;               // meaningful when envelope is empty

    bool ok() const { return envelope.has_value(); }
};

// Strict decoding of untrusted bytes. Never throws, never crashes, linear in the input size.
// Rejections: too_large (> max_bytes), malformed_json, unsupported_version, invalid_envelope,
// unknown_type, invalid_body; the detail names the JSON path.
DecodeResult decode_envelope(std::string_view bytes, size_t max_bytes = kMaxMessageBytes);

}  // namespace dfaas::peers
