#include "dfaas/peers/outbox.h"

namespace dfaas::peers {

Outbox::Outbox(Identity self, Keyring keys, uint64_t first_seq)
    : self_(std::move(self)), keys_(std::move(keys)), next_seq_(first_seq == 0 ? 1 : first_seq) {
    if (!is_valid_peer_id(self_.id))
        throw Error("outbox: node id '" + self_.id + "' is not a node id");
    if (self_.endpoint.addr.is_unspecified() || self_.endpoint.port == 0)
        throw Error("outbox: this node's peer endpoint '" + self_.endpoint.str() +
                    "' needs an address and a port");
}

uint64_t Outbox::initial_seq(Instant boot) {
    const auto ms = boot.time_since_epoch().count();
    return ms <= 0 ? 1 : static_cast<uint64_t>(ms) * 1000;
}

Envelope Outbox::envelope(Body body, std::optional<std::string> to, Instant now) {
    Envelope envelope;
    envelope.sender_id = self_.id;
    envelope.sender_ip = self_.endpoint.addr;
    envelope.sender_port = self_.endpoint.port;
    envelope.to = std::move(to);
    envelope.seq = next_seq_.fetch_add(1);
    envelope.sent_at = now;
    envelope.body = std::move(body);
    return envelope;
}

std::shared_ptr<const OutboundRequest> Outbox::seal(const Envelope &envelope) const {
    auto request = std::make_shared<OutboundRequest>();
    request->path = std::string(kMessagePath);
    request->node_id = envelope.sender_id;
    request->timestamp_ms = envelope.sent_at.time_since_epoch().count();
    request->body = encode_envelope(envelope);
    request->type = std::string(envelope.type());
    request->signature =
        sign(keys_.signing, "POST", request->path, request->timestamp_ms, request->body);
    return request;
}

Batch Outbox::heartbeat(Heartbeat local, const Membership &membership, Instant now) {
    Batch batch;
    const auto targets = membership.heartbeat_targets(now);
    if (targets.empty()) return batch;
    local.peers = membership.gossip_view(now);
    std::erase_if(local.peers, [&](const PeerRef &ref) { return ref.id == self_.id; });
    try {
        const auto request = seal(envelope(std::move(local), std::nullopt, now));
        for (const auto &target : targets)
            batch.deliveries.push_back(Delivery{target, request});
    } catch (const std::exception &error) {
        batch.errors.push_back(std::string("heartbeat: ") + error.what());
    }
    return batch;
}

Batch Outbox::messages(const std::vector<strategy::OutgoingMessage> &messages,
                       const Membership &membership, Instant now) {
    Batch batch;
    for (const auto &message : messages) {
        const std::string type(strategy::message_type(message.body));
        const std::string label = message.to ? type + " to " + *message.to : type;
        const auto targets = membership.destinations(message.to, now);
        if (targets.empty()) {
            if (message.to) batch.errors.push_back(label + ": not a live member");
            continue;  // a broadcast without members reaches nobody, which is not an error
        }
        try {
            const auto request = seal(envelope(to_body(message.body), message.to, now));
            for (const auto &target : targets)
                batch.deliveries.push_back(Delivery{target, request});
        } catch (const std::exception &error) {
            batch.errors.push_back(label + ": " + error.what());
        }
    }
    return batch;
}

}  // namespace dfaas::peers
