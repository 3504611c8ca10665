// Who is in the federation, as this node sees it. Pure: every operation that depends on time
// takes the current instant; no I/O, not thread-safe (the agent locks it).
//
// - Seeds (peers.seeds) are endpoints whose ids are unknown until they speak.
// - Candidates are endpoints learned from members' gossip (each heartbeat lists the sender's
//   members), and members that died; they are contacted with exponential back-off and forgotten
//   after candidate_ttl without being gossiped again.
// - Members are nodes that sent this node a valid signed heartbeat. A member is alive while its
//   last authenticated message is younger than the TTL (peer_ttl() of the strategy), unreachable
//   when the agent flags it (data-plane signal: forwarded SYNs unanswered) until it speaks again,
//   and dead after the TTL: expire() then removes it.
//
// Membership owns the strategies' PeerTable and keeps it in step: a heartbeat is
// record_membership(), a strategy message is apply(), mark_unreachable() and expiry reach both,
// so the table never holds a peer the membership does not, and every peer in it authenticated
// itself. The agent copies table() into each Snapshot.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dfaas/net.h"
#include "dfaas/peers/delivery.h"
#include "dfaas/peers/envelope.h"
#include "dfaas/peers/reject.h"
#include "dfaas/strategy/peer_table.h"

namespace dfaas::peers {

struct MembershipSettings {
    std::string self_id;
    Endpoint self;                // this node's peer endpoint: node.ip, peers.listen_port
    std::vector<Endpoint> seeds;  // peers.seeds (this node's own endpoint is skipped)
    Millis ttl{12000};            // strategy::peer_ttl(kind, period)
    Millis retry_base{1000};      // first back-off of a seed or candidate that did not answer
    Millis retry_max{30000};      // back-off cap
    Millis candidate_ttl{0};      // 0 = 5 × ttl
    Millis unreachable_hold{0};   // messages sent within this time after mark_unreachable() do
                                  // not clear the flag (0 = the next message clears it)
    size_t max_members = 1024;    // at most kMaxGossipPeers
    size_t max_candidates = 1024;
};

enum class MemberState { alive, unreachable, dead };
std::string_view to_string(MemberState state);

struct Member {
    std::string id;
    Endpoint endpoint;    // where it listens (from its own signed messages)
    Heartbeat heartbeat;  // its last heartbeat: functions with ports, type, thresholds, view
    Instant joined{};
    Instant last_seen{};       // last authenticated message of any type
    Instant last_heartbeat{};  // last heartbeat
    bool unreachable = false;
    Instant unreachable_until{};
    uint64_t messages = 0;

    bool operator==(const Member &) const = default;
};

struct Candidate {
    Endpoint endpoint;
    std::optional<std::string> id;  // the id gossip claims (unauthenticated)
    Instant refreshed{};            // last gossiped (or when its member died)

    bool operator==(const Candidate &) const = default;
};

class Membership {
  public:
    // Throws Error naming the setting: invalid self id, self address 0.0.0.0 or port 0, a
    // non-positive duration, a seed with address 0.0.0.0, a cap of 0 or above kMaxGossipPeers.
    explicit Membership(MembershipSettings settings);

    const MembershipSettings &settings() const { return settings_; }

    // Applies a message that passed the transport checks (signature, window, replay). Never
    // throws; a rejection changes nothing. A heartbeat makes its sender a member (or refreshes
    // it) and adds the endpoints it gossips as candidates; a strategy message from a member goes
    // to the peer table; one from a non-member is unknown_sender.
    Admission receive(const Envelope &envelope, Instant now);

    // The data plane saw forwarded connections to the member go unanswered. False when unknown.
    bool mark_unreachable(std::string_view id, Instant now);

    // Removes the members dead at `now` (they become candidates) and the candidates not gossiped
    // for candidate_ttl; returns the removed members' ids, sorted.
    std::vector<std::string> expire(Instant now);

    // A new TTL (strategy or period changed): applies to every member and the peer table.
    void set_ttl(Millis ttl);

    // Whom this heartbeat goes to: every member (dead or unreachable ones included: the TTL
    // decides), every seed and candidate that is not a member's endpoint and is not backing off.
    // Sorted by endpoint, no duplicates, never this node.
    std::vector<Target> heartbeat_targets(Instant now) const;

    // Where a strategy message goes: its `to` member when that member is not dead (none
    // otherwise), or every member that is not dead (a broadcast).
    std::vector<Target> destinations(const std::optional<std::string> &to, Instant now) const;

    // Back-off bookkeeping from the transport's results: a seed or candidate that failed waits
    // retry_base · 2^(failures-1) (at most retry_max) before the next attempt; success resets it.
    // An endpoint that answered self_sender is this node under another address: never again.
    void record_delivery(const SendResult &result, Instant now);
    void record_deliveries(const std::vector<SendResult> &results, Instant now);

    // This node's view for its heartbeats: members that are not dead, sorted by id.
    std::vector<PeerRef> gossip_view(Instant now) const;

    // Who may send forwarded-in traffic (the data plane's peer table) and whose function ports
    // to install: members that are not dead. An unreachable member stays authorized: the flag is
    // about forwarding to it, and its connections forwarded to this node must keep working.
    std::vector<const Member *> authorized(Instant now) const;

    MemberState state(const Member &member, Instant now) const;
    const Member *find(std::string_view id) const;
    const std::map<std::string, Member, std::less<>> &members() const { return members_; }
    const std::map<Endpoint, Candidate> &candidates() const { return candidates_; }
    // Endpoints waiting for their back-off: endpoint -> earliest next attempt.
    std::map<Endpoint, Instant> backoffs() const;

    const strategy::PeerTable &table() const { return table_; }

  private:
    struct Backoff {
        unsigned failures = 0;
        Instant next_attempt{};
    };
    bool is_self(const Endpoint &endpoint) const;
    bool is_member_endpoint(const Endpoint &endpoint) const;
    bool waiting(const Endpoint &endpoint, Instant now) const;
    Admission receive_heartbeat(const Envelope &envelope, const Heartbeat &heartbeat, Instant now);
    Admission receive_strategy(const Envelope &envelope, const strategy::PeerMessage &message,
                               Instant now);
    void touch(Member &member, const Envelope &envelope, Instant now);
    void learn(const PeerRef &ref, Instant now);
    void rebuild_table();

    MembershipSettings settings_;
    std::map<std::string, Member, std::less<>> members_;
    std::map<Endpoint, Candidate> candidates_;
    std::map<Endpoint, Backoff> backoff_;
    std::set<Endpoint> self_aliases_;
    strategy::PeerTable table_;
};

}  // namespace dfaas::peers
