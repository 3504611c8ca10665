// The sending side's pure half: numbers, encodes and signs envelopes, and pairs them with their
// destinations from the Membership. The PeerClient sends what it returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dfaas/peers/delivery.h"
#include "dfaas/peers/envelope.h"
#include "dfaas/peers/membership.h"
#include "dfaas/peers/signature.h"
#include "dfaas/strategy/messages.h"

namespace dfaas::peers {

struct Identity {
    std::string id;     // the resolved node id (resolve_node_id)
    Endpoint endpoint;  // node.ip : peers.listen_port
};

struct Batch {
    std::vector<Delivery> deliveries;
    // Messages that could not be addressed or encoded, one line each
    // ("recalc_limits to node-c: not a member").
    std::vector<std::string> errors;
};

class Outbox {
  public:
    // `first_seq`: initial_seq(boot instant) so that a restart never reuses a number. Throws Error
    // on an invalid identity.
    Outbox(Identity self, Keyring keys, uint64_t first_seq);

    // The boot wall-clock milliseconds × 1000: above any seq of an earlier run of the same node
    // that sent fewer than 1000 messages per millisecond, with the clock not set back.
    static uint64_t initial_seq(Instant boot);

    const Identity &identity() const { return self_; }

    // A new envelope with the next seq (thread-safe).
    Envelope envelope(Body body, std::optional<std::string> to, Instant now);
    // Encodes and signs. Throws Error when the envelope is invalid.
    std::shared_ptr<const OutboundRequest> seal(const Envelope &envelope) const;

    // This node's heartbeat to membership.heartbeat_targets(now); `local.peers` is replaced by
    // membership.gossip_view(now). One signed request shared by every target.
    Batch heartbeat(Heartbeat local, const Membership &membership, Instant now);

    // A strategy Decision's messages: a broadcast is signed once for every member that is not
    // dead; a directed message is signed for its member only ("to" set, so that no other node
    // accepts it). Never throws: what cannot be sent is listed in Batch::errors.
    Batch messages(const std::vector<strategy::OutgoingMessage> &messages,
                   const Membership &membership, Instant now);

  private:
    Identity self_;
    Keyring keys_;
    std::atomic<uint64_t> next_seq_;
};

}  // namespace dfaas::peers
