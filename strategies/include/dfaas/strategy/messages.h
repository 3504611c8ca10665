// Strategy messages between peers. The envelope (sender id and address, sequence, signature) is
// the agent's peer protocol; these are the bodies. JSON forms are in dfaas/strategy/json.h.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dfaas/strategy/types.h"

namespace dfaas::strategy {

// Recalc step 1, sent to one peer: for each function of the sender, the rate in req/s the
// receiver may forward to the sender (the sender's LimitIn, the receiver's LimitOut). The keys
// tell the receiver which functions the sender runs.
struct RecalcLimits {
    std::map<std::string, double> limits;

    bool operator==(const RecalcLimits &) const = default;
};

// Node Margin, broadcast every period: what the sender is and runs.
struct NmsNodeInfo {
    NodeType node_type = NodeType::Mid;
    Thresholds thresholds;
    std::vector<std::string> functions;  // sorted

    bool operator==(const NmsNodeInfo &) const = default;
};

// Node Margin, broadcast when the sender has common neighbours: the share of its capacity each
// neighbour may use (percent points of usage) and the load it currently serves (zeros when the
// margin is 0, as the reference).
struct NmsMargin {
    double margin = 0.0;
    GroupLoad load;

    bool operator==(const NmsMargin &) const = default;
};

// Static, broadcast every period: the sender's functions.
struct StaticInfo {
    std::vector<std::string> functions;  // sorted

    bool operator==(const StaticInfo &) const = default;
};

using PeerMessage = std::variant<RecalcLimits, NmsNodeInfo, NmsMargin, StaticInfo>;

// The wire type names: "recalc_limits", "nms_node_info", "nms_margin", "static_info".
std::string_view message_type(const PeerMessage &message);

// Throws Error when a number is NaN, infinite or negative, a threshold is not positive, or a
// function name is empty.
void validate(const PeerMessage &message);

// A message this node must send. `to` names the receiving peer; nullopt means every live peer.
struct OutgoingMessage {
    std::optional<std::string> to;
    PeerMessage body;

    bool operator==(const OutgoingMessage &) const = default;
};

}  // namespace dfaas::strategy
