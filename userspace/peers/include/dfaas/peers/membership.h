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
    // How many members may be in use at once: the data plane's peer slots (DFAAS_MAX_PEERS).
    // Members beyond it stay known (their heartbeats are accepted and counted) but are over
    // capacity: not authorized, not in the peer table, not a destination of strategy messages.
    size_t max_active = kMaxGossipPeers;
    // Several nodes on one host (tests over 127.0.0.1 only; never the agent): loopback addresses
    // are accepted, and "this node" is its endpoint rather than its address.
    bool shared_host = false;
};

// over_capacity: a valid member that holds no data-plane slot (see Membership::rebalance()).
enum class MemberState { Alive, Unreachable, Dead, OverCapacity };
std::string_view to_string(MemberState state);

// Why `address` can never be a member's or a candidate's address (0.0.0.0, loopback, link-local,
// multicast, reserved, broadcast), or nullopt when it can. This node's own address is checked by
// the membership, which knows it.
std::optional<std::string_view> unusable_peer_address(Ipv4 address);

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
    bool over_capacity = true;  // holds no slot until rebalance() gives it one

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
    //
    // Identity binding: `source` is the TCP source address the message came from (nullopt when
    // the transport could not tell). The signed sender_ip must equal it (source_mismatch
    // otherwise: a member of the cluster cannot speak for an address it does not hold), and must
    // be usable (bad_address: this node's address, 0.0.0.0, loopback, link-local, multicast,
    // broadcast). A strategy message from an over-capacity member is accepted and ignored.
    Admission receive(const Envelope &envelope, Instant now, std::optional<Ipv4> source);

    // This node's functions: members sharing more of them are preferred for the data-plane slots.
    void set_local_functions(std::set<std::string> functions, Instant now);

    // Gives the max_active slots to the members that are not dead: most functions shared with
    // this node first, then members that already hold a slot (a newcomer that is no better never
    // displaces one), then the oldest by join time, then by id. Called by receive(), expire()
    // and set_local_functions(); returns whether any member gained or lost its slot.
    bool rebalance(Instant now);

    // Members that are not dead and hold no slot, sorted.
    std::vector<std::string> over_capacity(Instant now) const;

    // A restart: the data plane still holds this peer (its slot, its policies' weights, the
    // services of its functions), but the new process has heard nothing yet. seed() makes it a
    // provisional member for one TTL from `now`, so the agent keeps it (and what it installed)
    // until the peer speaks. Its id is unknown until then: it is listed as
    // provisional_id(address), a name no node can have ('@' is not allowed in node ids), so it
    // never collides with, nor is gossiped as, a real member. The first valid heartbeat from
    // the address replaces it with the real member; it is not refreshed by anything else, and
    // dies after the TTL like any member (expire() returns its provisional id). It is
    // authorized and in the peer table (as a peer with `functions`), and a heartbeat target
    // (kind seed); it gets no strategy messages (destinations() skips it).
    // False (nothing changes) for this node's address, 0.0.0.0, port 0, an address that is
    // already a member's or already seeded, or a full member table.
    bool seed(const Endpoint &endpoint, const std::vector<FunctionPort> &functions, Instant now);
    static std::string provisional_id(Ipv4 address);
    // Provisional members by id (see seed()).
    const std::map<std::string, Member, std::less<>> &provisional() const { return provisional_; }

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
    std::optional<std::string> unusable_address(Ipv4 address) const;
    size_t shared_functions(const Member &member) const;
    bool is_member_endpoint(const Endpoint &endpoint) const;
    bool waiting(const Endpoint &endpoint, Instant now) const;
    size_t provisional_slots(Instant now) const;  // data-plane slots held by seed()ed peers
    Admission receive_heartbeat(const Envelope &envelope, const Heartbeat &heartbeat, Instant now);
    Admission receive_strategy(const Envelope &envelope, const strategy::PeerMessage &message,
                               Instant now);
    void touch(Member &member, const Envelope &envelope, Instant now);
    void learn(const PeerRef &ref, Instant now);
    void rebuild_table();

    MembershipSettings settings_;
    std::map<std::string, Member, std::less<>> members_;
    std::map<std::string, Member, std::less<>> provisional_;  // seed(): until the peer speaks
    std::map<Endpoint, Candidate> candidates_;
    std::map<Endpoint, Backoff> backoff_;
    std::set<Endpoint> self_aliases_;
    std::set<std::string> local_functions_;
    strategy::PeerTable table_;
};

}  // namespace dfaas::peers
