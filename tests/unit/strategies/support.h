// Builders shared by the strategy tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "dfaas/strategy/peer_table.h"
#include "dfaas/strategy/snapshot.h"
#include "dfaas/strategy/strategy.h"

namespace dfaas::strategy::testing {

inline Instant at_ms(int64_t milliseconds) {
    return Instant{Millis{milliseconds}};
}

// A fixed, arbitrary wall-clock instant: 2021-06-01T12:00:00Z, a multiple of one minute.
inline const Instant kNow = at_ms(1622548800000);

inline Ipv4 ip(const char *text) {
    return *Ipv4::parse(text);
}

inline LocalFunction function(std::string name, std::map<std::string, std::string> labels = {},
                              uint16_t port = 31000) {
    return LocalFunction{std::move(name), port, std::move(labels)};
}

inline LocalFunction with_max_rate(std::string name, uint32_t max_rate) {
    return function(std::move(name), {{"dfaas.maxrate", std::to_string(max_rate)}});
}

// A snapshot of `node_id` at kNow whose peer table has the TTL of `kind` for `period`.
inline Snapshot make_snapshot(std::string node_id, StrategyKind kind,
                              Millis period = std::chrono::minutes(1)) {
    Snapshot snapshot;
    snapshot.node_id = node_id;
    snapshot.period = period;
    snapshot.now = kNow;
    snapshot.peers = PeerTable(node_id, peer_ttl(kind, period));
    return snapshot;
}

// Applies a message from `peer` received at `at`.
inline void receive(Snapshot &snapshot, const std::string &peer, Ipv4 address,
                    const PeerMessage &message, Instant at = kNow) {
    snapshot.peers.apply(peer, address, message, at);
}

}  // namespace dfaas::strategy::testing
