// The agent's side of the peer protocol (userspace/peers): the signed-message server, the
// membership (seeds + gossip, TTLs), heartbeats on their own thread, and sending a strategy
// step's messages. Thread-safe; it never calls into the agent while holding its own lock (the
// agent takes its lock first, then this one, never the other way round).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "dfaas/config/config.h"
#include "dfaas/dataplane/types.h"
#include "dfaas/peers/client.h"
#include "dfaas/peers/membership.h"
#include "dfaas/peers/outbox.h"
#include "dfaas/peers/receiver.h"
#include "dfaas/peers/server.h"
#include "dfaas/policy.h"
#include "dfaas/strategy/messages.h"
#include "dfaas/strategy/peer_table.h"
#include "dfaas/strategy/strategy.h"

namespace dfaas::agent {

// A member as the agent shows and uses it (a copy: no pointer into the membership escapes).
struct PeerView {
    std::string id;
    Ipv4 address;
    uint16_t peer_port = 0;
    peers::MemberState state = peers::MemberState::Alive;
    strategy::Instant last_seen{};
    strategy::Instant joined{};
    uint64_t messages = 0;
    std::vector<peers::FunctionPort> functions;
    std::string strategy;
    NodeType node_type = NodeType::Mid;
    // What it last reported to the strategies (from the peer table), for `dfaasctl peers`.
    std::optional<std::map<std::string, double>> recalc_limit_out;
    std::optional<double> nms_margin;
    // Kept from before a restart until it speaks (peers::Membership::seed()): nothing it said
    // since is known, and the data plane still does what it did before the restart.
    bool provisional = false;
};

// What the data plane's peer table and peer services should hold, from the authorized members
// (Agent::sync_peers applies it). Pure, for tests.
struct PeerSyncPlan {
    std::set<Ipv4> peers;                                       // addresses holding a slot
    std::map<std::pair<Ipv4, uint16_t>, std::string> services;  // (member, its port) -> function
    std::vector<std::string> refused;  // entries that would replace this node's own, and why
};
// `current`: the data plane's services now (the local ones are this node's own entries);
// `serves`: whether this node serves a function (only those get peer services).
PeerSyncPlan plan_peer_sync(const std::vector<PeerView> &members,
                            const std::vector<dp::Service> &current, Ipv4 node_ip,
                            const std::function<bool(const std::string &)> &serves);

// Whether a peer admits the new connections this node forwards to it, per function. A Recalc
// node refuses what a peer forwards until it has computed that peer's limit_in (0 until it heard
// the peer's own limits), and says what it computed in its limits message to that peer; so this
// node forwards to a Recalc peer only what the peer's limits for this node, received since the
// peer (re)joined and still fresh, admit (> 0). A peer that runs another strategy sets no
// limit_in (the data plane's default admits). Forwarding is never widened by this: a peer that
// lies about its limits only draws traffic this node's own policy already sends it.
class PeerAdmission {
  public:
    // Its strategy sets no limit_in, or it is kept from before a restart (its data plane still
    // holds the limit_in it computed for this node before).
    static PeerAdmission every_function() { return PeerAdmission(Kind::EveryFunction, {}); }
    // A Recalc peer that sent this node no limits since it (re)joined (or none fresh).
    static PeerAdmission none() { return PeerAdmission(Kind::None, {}); }
    // A Recalc peer's limits for this node: function -> its limit_in for this node. A function it
    // does not name is not managed by its Recalc (its policy sets no limit_in). Only which
    // functions it refuses (limit 0) is kept: the values change every period, the admission not.
    static PeerAdmission announced(const std::map<std::string, double> &limits);

    bool admits(const std::string &function) const;
    bool operator==(const PeerAdmission &) const = default;

  private:
    enum class Kind { EveryFunction, None, Announced };
    PeerAdmission(Kind kind, std::set<std::string> refused)
        : kind_(kind), refused_(std::move(refused)) {}
    Kind kind_;
    std::set<std::string> refused_;  // announced: the functions it gives this node 0 for
};
// By peer address. An address not listed (not an authorized member) admits nothing.
using PeerAdmissions = std::map<Ipv4, PeerAdmission>;

// What each authorized member admits (`members`: PeerLink::authorized(), `table`: the strategies'
// peer table, whose Recalc limits are the ones the member sent this node). Pure, for tests.
PeerAdmissions plan_peer_admissions(const std::vector<PeerView> &members,
                                    const strategy::PeerTable &table, strategy::Instant now);
// Takes every peer that would refuse `function` out of the policy's targets (`peers`,
// `overflow`): those connections go where the rest of the policy sends them. `limit_in` is about
// what peers send here and stays. Returns whether a target was removed.
bool drop_refusing_peers(const std::string &function, FunctionPolicy &policy,
                         const PeerAdmissions &admissions);
// Before this node tells peers their limits (Recalc step 1), its own policies must already admit
// them: raises each `limit_in` a message promises above what `policies` hold (a peer that
// forwards at once on the news is not refused while the step that installs the plan is half a
// period away). Lowering waits for that step, so a peer has time to adapt. A peer without a
// limit_in entry is admitted by the data plane's default and is left alone. Returns whether a
// policy changed. Pure, for tests.
bool raise_promised_limits(
    PolicySet &policies, const std::vector<strategy::OutgoingMessage> &messages,
    const std::function<std::optional<Ipv4>(const std::string &)> &address_of);

struct PeerLinkStats {
    peers::ReceiveCounters received;
    peers::ClientCounters sent;
    uint64_t heartbeats = 0;
    std::vector<std::string> last_send_errors;
};

// What the agent asks of the peer protocol (PeerLink in production, a fake in unit tests).
class PeerNetwork {
  public:
    using LocalHeartbeat = std::function<peers::Heartbeat()>;
    virtual ~PeerNetwork() = default;

    virtual void start() = 0;
    virtual void stop() = 0;

    // The strategies' peer table, as of now.
    virtual strategy::PeerTable table(strategy::Instant now) = 0;
    // Sends a strategy step's messages (returns within the send deadline).
    virtual void send(const std::vector<strategy::OutgoingMessage> &messages,
                      strategy::Instant now) = 0;
    // Members that may send forwarded-in traffic (not dead), as views.
    virtual std::vector<PeerView> authorized(strategy::Instant now) = 0;
    virtual std::vector<PeerView> members(strategy::Instant now) = 0;
    virtual std::vector<peers::Candidate> candidates() = 0;
    // Data-plane signal: forwarded connections to `address` go unanswered.
    virtual std::optional<std::string> mark_unreachable(Ipv4 address, strategy::Instant now) = 0;
    virtual std::optional<Ipv4> address_of(const std::string &id) = 0;
    virtual PeerLinkStats stats() = 0;
    // Peers flagged unreachable that spoke again since the last call.
    virtual std::vector<Ipv4> take_recovered(strategy::Instant now) = 0;
    // A restart: a peer the data plane still holds stays a (provisional) member for one TTL,
    // until it speaks (peers::Membership::seed()). False when the membership refuses it.
    virtual bool seed(const Endpoint &endpoint, const std::vector<peers::FunctionPort> &functions,
                      strategy::Instant now) = 0;
    // True once after a provisional member was replaced by the real one (it spoke).
    virtual bool take_provisional_replaced() = 0;
    // True once after a member sent its first Recalc limits since it (re)joined.
    virtual bool take_first_limits() = 0;
    // Members that are not dead but hold no data-plane peer slot.
    virtual size_t over_capacity(strategy::Instant now) = 0;
};

class PeerLink final : public PeerNetwork {
  public:
    // Throws (naming the key) when the cluster key cannot be read or the port cannot be bound.
    PeerLink(const Config &cfg, const std::string &node_id, strategy::Millis ttl,
             LocalHeartbeat local);
    ~PeerLink() override;

    // PeerNetwork (documented there).
    void start() override;
    void stop() override;

    strategy::PeerTable table(strategy::Instant now) override;
    void send(const std::vector<strategy::OutgoingMessage> &messages,
              strategy::Instant now) override;
    std::vector<PeerView> authorized(strategy::Instant now) override;
    std::vector<PeerView> members(strategy::Instant now) override;
    std::vector<peers::Candidate> candidates() override;
    std::optional<std::string> mark_unreachable(Ipv4 address, strategy::Instant now) override;
    std::optional<Ipv4> address_of(const std::string &id) override;
    PeerLinkStats stats() override;
    std::vector<Ipv4> take_recovered(strategy::Instant now) override;
    bool seed(const Endpoint &endpoint, const std::vector<peers::FunctionPort> &functions,
              strategy::Instant now) override;
    bool take_provisional_replaced() override;
    bool take_first_limits() override;
    size_t over_capacity(strategy::Instant now) override;

  private:
    void heartbeat_loop();
    void heartbeat_round();
    PeerView view_of(const peers::Member &m, strategy::Instant now) const;
    // Expires dead members, keeping their last view in departed_ (mu_ held).
    void expire_locked(strategy::Instant now);
    // Logs once per change of the over-capacity set (mu_ held).
    void note_capacity_locked(strategy::Instant now);
    // Whether the peer table holds Recalc limits from this member (mu_ held).
    bool has_recalc_limits_locked(std::string_view id) const;

    std::string node_id_;
    strategy::Millis heartbeat_every_;
    LocalHeartbeat local_;
    peers::Keyring keys_;
    std::mutex mu_;
    peers::Membership membership_;
    peers::Outbox outbox_;
    std::unique_ptr<peers::Receiver> receiver_;
    std::unique_ptr<peers::PeerServer> server_;
    peers::PeerClient client_;
    uint64_t heartbeats_ = 0;
    std::vector<std::string> last_send_errors_;
    std::set<std::string> flagged_;      // ids marked unreachable, to report their recovery
    bool provisional_replaced_ = false;  // a seed()ed member spoke: take_provisional_replaced()
    bool first_limits_ = false;          // a member's first Recalc limits: take_first_limits()
    // Members that died, as last seen: operators still see them (state dead) until they come
    // back or kDepartedKept has passed, instead of a peer that silently vanishes from the list.
    std::map<std::string, PeerView> departed_;
    std::set<std::string> over_capacity_;  // as last logged

    std::mutex wake_mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread heartbeat_thread_;
};

}  // namespace dfaas::agent
