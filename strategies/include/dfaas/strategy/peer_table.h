// What each peer last said, with the reference's time-to-live semantics. Pure: every operation
// that depends on time takes the current instant as a parameter.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dfaas/net.h"
#include "dfaas/strategy/messages.h"
#include "dfaas/strategy/types.h"

namespace dfaas::strategy {

// A value a peer reported and the instant this node received it.
template <class T>
struct Received {
    T value;
    Instant at{};

    bool operator==(const Received &) const = default;
};

struct PeerEntry {
    std::string id;  // stable node id: the sort key of every peer iteration
    Ipv4 address;    // where policies send its traffic
    Instant last_seen{};
    // Set when the data plane reports forwarded connections to this peer going unanswered; the
    // next message from the peer clears it.
    bool unreachable = false;

    // From the agent's membership messages (hello/heartbeat): the peer's functions.
    std::vector<std::string> member_functions;

    // From strategy messages; each counts only while younger than the table's TTL.
    std::optional<Received<std::map<std::string, double>>> recalc_limit_out;  // f -> LimitOut
    std::optional<Received<NmsNodeInfo>> nms_info;
    std::optional<Received<NmsMargin>> nms_margin;
    std::optional<Received<StaticInfo>> static_info;

    bool operator==(const PeerEntry &) const = default;
};

enum class ApplyOutcome {
    Applied,
    OwnMessage,     // the sender is this node: ignored
    UnknownSender,  // a Node Margin margin from a peer without live node info: ignored
};

class PeerTable {
  public:
    PeerTable() = default;
    // `ttl`: how long a peer lives after its last message (see peer_ttl() in strategy.h). Throws
    // Error when the ttl is not positive or an entry is invalid (empty id, address 0.0.0.0,
    // the self id, a duplicate id, an invalid reported value).
    PeerTable(std::string self_id, Millis ttl, std::vector<PeerEntry> entries = {});

    const std::string &self_id() const { return self_id_; }
    Millis ttl() const { return ttl_; }

    // Membership (the agent's hello/heartbeat): creates the entry or refreshes it.
    void record_membership(std::string_view id, Ipv4 address, std::vector<std::string> functions,
                           Instant now);

    // Applies a strategy message received from `sender_id` at `now`. Throws Error (table
    // unchanged) when the message or the sender is invalid.
    ApplyOutcome apply(std::string_view sender_id, Ipv4 sender_address, const PeerMessage &message,
                       Instant now);

    // The data plane saw forwarded connections to this peer go unanswered: dead until it speaks.
    void mark_unreachable(std::string_view id);

    // Removes the entries that are no longer alive at `now`; returns how many.
    size_t expire(Instant now);

    bool alive(const PeerEntry &entry, Instant now) const;
    // A reported value counts when its peer is alive and the value is younger than the TTL.
    template <class T>
    const T *fresh(const PeerEntry &entry, const std::optional<Received<T>> &value,
                   Instant now) const {
        if (!value || !alive(entry, now) || now > value->at + ttl_) return nullptr;
        return &value->value;
    }

    // Live peers, sorted by id.
    std::vector<const PeerEntry *> live(Instant now) const;
    const PeerEntry *find(std::string_view id) const;
    // Every entry, dead ones included, sorted by id.
    const std::map<std::string, PeerEntry, std::less<>> &entries() const { return entries_; }

    bool operator==(const PeerTable &) const = default;

  private:
    PeerEntry &entry_for(std::string_view id, Ipv4 address, Instant now);
    void check_sender(std::string_view id, Ipv4 address) const;

    std::string self_id_;
    Millis ttl_{1};
    std::map<std::string, PeerEntry, std::less<>> entries_;
};

}  // namespace dfaas::strategy
