#include "dfaas/peers/membership.h"

#include <algorithm>

#include "dfaas/strategy/error.h"

namespace dfaas::peers {

namespace {

void require_positive(Millis value, const char *name) {
    if (value <= Millis{0})
        throw Error(std::string("membership: ") + name + " must be positive, got " +
                    std::to_string(value.count()) + " ms");
}

strategy::PeerMessage strategy_message(const Body &body) {
    return std::visit(
        [](const auto &value) -> strategy::PeerMessage {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, Heartbeat>)
                throw Error("a heartbeat is not a strategy message");
            else
                return value;
        },
        body);
}

}  // namespace

std::string_view to_string(MemberState state) {
    switch (state) {
        case MemberState::Alive:
            return "alive";
        case MemberState::Unreachable:
            return "unreachable";
        case MemberState::Dead:
            return "dead";
        case MemberState::OverCapacity:
            return "over_capacity";
    }
    return "unknown";
}

std::optional<std::string_view> unusable_peer_address(Ipv4 address) {
    const uint32_t a = address.value;  // host byte order
    if (a == 0) return "0.0.0.0 (unspecified)";
    if ((a >> 24) == 127) return "loopback (127.0.0.0/8)";
    if ((a >> 16) == 0xA9FE) return "link-local (169.254.0.0/16)";
    if ((a >> 28) == 0xE) return "multicast (224.0.0.0/4)";
    if (a == 0xFFFFFFFFu) return "broadcast (255.255.255.255)";
    if ((a >> 28) == 0xF) return "reserved (240.0.0.0/4)";
    if ((a >> 24) == 0) return "\"this network\" (0.0.0.0/8)";
    return std::nullopt;
}

Membership::Membership(MembershipSettings settings) : settings_(std::move(settings)) {
    if (!is_valid_peer_id(settings_.self_id))
        throw Error("membership: self id '" + settings_.self_id + "' is not a node id");
    if (settings_.self.addr.is_unspecified() || settings_.self.port == 0)
        throw Error("membership: this node's peer endpoint '" + settings_.self.str() +
                    "' needs an address (node.ip) and a port (peers.listen_port)");
    require_positive(settings_.ttl, "ttl");
    require_positive(settings_.retry_base, "retry_base");
    if (settings_.retry_max < settings_.retry_base)
        throw Error("membership: retry_max must be >= retry_base");
    if (settings_.candidate_ttl < Millis{0} || settings_.unreachable_hold < Millis{0})
        throw Error("membership: candidate_ttl and unreachable_hold must not be negative");
    if (settings_.candidate_ttl == Millis{0}) settings_.candidate_ttl = 5 * settings_.ttl;
    if (settings_.max_members == 0 || settings_.max_members > kMaxGossipPeers)
        throw Error("membership: max_members must be in 1.." + std::to_string(kMaxGossipPeers));
    if (settings_.max_candidates == 0) throw Error("membership: max_candidates must be >= 1");
    if (settings_.max_active == 0) throw Error("membership: max_active must be >= 1");
    for (const auto &seed : settings_.seeds)
        if (seed.addr.is_unspecified() || seed.port == 0)
            throw Error("peers.seeds: '" + seed.str() + "' is not a peer endpoint");
    table_ = strategy::PeerTable(settings_.self_id, settings_.ttl);
}

bool Membership::is_self(const Endpoint &endpoint) const {
    return endpoint == settings_.self || self_aliases_.count(endpoint) != 0;
}

std::optional<std::string> Membership::unusable_address(Ipv4 address) const {
    if (settings_.shared_host) {
        if ((address.value >> 24) == 127) return std::nullopt;
    } else {
        if (address == settings_.self.addr) return "this node's own address";
        if (std::any_of(self_aliases_.begin(), self_aliases_.end(),
                        [&](const Endpoint &alias) { return alias.addr == address; }))
            return "an address of this node";
    }
    if (auto why = unusable_peer_address(address)) return std::string(*why);
    return std::nullopt;
}

size_t Membership::shared_functions(const Member &member) const {
    size_t shared = 0;
    for (const auto &function : member.heartbeat.functions)
        if (!function.remote_only) shared += local_functions_.count(function.name);
    return shared;
}

bool Membership::is_member_endpoint(const Endpoint &endpoint) const {
    return std::any_of(members_.begin(), members_.end(),
                       [&](const auto &item) { return item.second.endpoint == endpoint; });
}

bool Membership::waiting(const Endpoint &endpoint, Instant now) const {
    auto found = backoff_.find(endpoint);
    return found != backoff_.end() && now < found->second.next_attempt;
}

Admission Membership::receive(const Envelope &envelope, Instant now, std::optional<Ipv4> source) {
    if (envelope.sender_id == settings_.self_id)
        return Admission::reject(RejectReason::SelfSender,
                                 "a message signed with this node's id '" + settings_.self_id +
                                     "' from " + envelope.sender_endpoint().str() +
                                     " (another node with the same id?)");
    if (auto why = unusable_address(envelope.sender_ip))
        return Admission::reject(RejectReason::BadAddress,
                                 "'" + envelope.sender_id + "' claims the address " +
                                     envelope.sender_ip.str() + ": " + *why);
    // The cluster key proves membership of the cluster, not ownership of an address: without
    // this check any key holder could make this node forward traffic to an address of its
    // choice, or speak for another member.
    if (!source)
        return Admission::reject(RejectReason::SourceMismatch,
                                 "'" + envelope.sender_id + "' claims " + envelope.sender_ip.str() +
                                     " but the message's source address is unknown");
    if (*source != envelope.sender_ip)
        return Admission::reject(RejectReason::SourceMismatch,
                                 "'" + envelope.sender_id + "' claims " + envelope.sender_ip.str() +
                                     " but the message came from " + source->str());
    try {
        if (const auto *heartbeat = std::get_if<Heartbeat>(&envelope.body)) {
            auto admission = receive_heartbeat(envelope, *heartbeat, now);
            if (admission.accepted && rebalance(now)) admission.changed = true;
            return admission;
        }
        return receive_strategy(envelope, strategy_message(envelope.body), now);
    } catch (const strategy::Error &error) {
        return Admission::reject(RejectReason::InvalidBody, error.what());
    } catch (const std::exception &error) {
        return Admission::reject(RejectReason::InternalError, error.what());
    }
}

void Membership::touch(Member &member, const Envelope &envelope, Instant now) {
    member.endpoint = envelope.sender_endpoint();
    member.last_seen = std::max(member.last_seen, now);
    ++member.messages;
    if (member.unreachable) {
        if (now >= member.unreachable_until)
            member.unreachable = false;
        else
            table_.mark_unreachable(member.id);  // the table cleared it; the hold is not over
    }
}

Admission Membership::receive_heartbeat(const Envelope &envelope, const Heartbeat &heartbeat,
                                        Instant now) {
    auto found = members_.find(envelope.sender_id);
    const bool is_new = found == members_.end();
    if (is_new && members_.size() >= settings_.max_members)
        return Admission::reject(RejectReason::Refused,
                                 "member table full (" + std::to_string(members_.size()) +
                                     " members): '" + envelope.sender_id + "' not admitted");

    // First the only step that can throw: on error nothing has changed. A member without a
    // data-plane slot stays out of the peer table (rebalance() adds it when it gets one).
    if (!is_new && !found->second.over_capacity) {
        std::vector<std::string> names;
        names.reserve(heartbeat.functions.size());
        for (const auto &function : heartbeat.functions)
            if (!function.remote_only) names.push_back(function.name);  // runners only
        table_.record_membership(envelope.sender_id, envelope.sender_ip, std::move(names), now);
    }

    if (is_new) {
        Member member;
        member.id = envelope.sender_id;
        member.joined = now;
        found = members_.emplace(member.id, std::move(member)).first;
    }
    Member &member = found->second;
    const bool changed = is_new || member.endpoint != envelope.sender_endpoint() ||
                         member.heartbeat.functions != heartbeat.functions ||
                         member.heartbeat.node_type != heartbeat.node_type;
    member.heartbeat = heartbeat;
    member.last_heartbeat = std::max(member.last_heartbeat, now);
    touch(member, envelope, now);

    // The member speaks for itself now: what gossip said about it is obsolete, and so is the
    // provisional member a restart seeded for its address (receive() rebalances next).
    if (provisional_.erase(provisional_id(member.endpoint.addr)) != 0) rebuild_table();
    candidates_.erase(member.endpoint);
    backoff_.erase(member.endpoint);
    std::erase_if(candidates_, [&](const auto &item) { return item.second.id == member.id; });
    for (const auto &ref : heartbeat.peers)
        learn(ref, now);
    return Admission::accept(changed);
}

Admission Membership::receive_strategy(const Envelope &envelope,
                                       const strategy::PeerMessage &message, Instant now) {
    auto found = members_.find(envelope.sender_id);
    if (found == members_.end())
        return Admission::reject(RejectReason::UnknownSender,
                                 "'" + envelope.sender_id + "' sent " +
                                     std::string(envelope.type()) +
                                     " before any heartbeat: not a member");
    Member &member = found->second;
    if (member.over_capacity) {
        // Valid, but of no use: the member holds no data-plane slot, so no strategy may count on
        // it. Still a sign of life.
        touch(member, envelope, now);
        return Admission::accept(false, true);
    }
    const auto outcome = table_.apply(envelope.sender_id, envelope.sender_ip, message, now);
    const bool changed = member.endpoint != envelope.sender_endpoint();
    touch(member, envelope, now);
    return Admission::accept(changed, outcome != strategy::ApplyOutcome::Applied);
}

void Membership::learn(const PeerRef &ref, Instant now) {
    if (ref.id == settings_.self_id || is_self(ref.endpoint)) return;
    if (unusable_address(ref.endpoint.addr) || ref.endpoint.port == 0) return;
    if (members_.count(ref.id) != 0 || is_member_endpoint(ref.endpoint)) return;
    auto found = candidates_.find(ref.endpoint);
    if (found != candidates_.end()) {
        found->second.id = ref.id;
        found->second.refreshed = std::max(found->second.refreshed, now);
        return;
    }
    if (candidates_.size() >= settings_.max_candidates) return;
    candidates_.emplace(ref.endpoint, Candidate{ref.endpoint, ref.id, now});
}

std::string Membership::provisional_id(Ipv4 address) {
    return "restored@" + address.str();
}

bool Membership::seed(const Endpoint &endpoint, const std::vector<FunctionPort> &functions,
                      Instant now) {
    if (endpoint.addr.is_unspecified() || endpoint.port == 0 || is_self(endpoint) ||
        endpoint.addr == settings_.self.addr)
        return false;
    for (const auto &[id, member] : members_)
        if (member.endpoint.addr == endpoint.addr) return false;
    const std::string id = provisional_id(endpoint.addr);
    if (provisional_.count(id) != 0) return false;
    if (members_.size() + provisional_.size() >= settings_.max_members ||
        provisional_.size() >= settings_.max_active)
        return false;
    std::vector<std::string> names;
    names.reserve(functions.size());
    for (const auto &function : functions)
        names.push_back(function.name);
    try {
        table_.record_membership(id, endpoint.addr, std::move(names), now);
    } catch (const std::exception &) {
        return false;  // the table refused the entry: nothing changed
    }
    Member member;
    member.id = id;
    member.endpoint = endpoint;
    member.heartbeat.functions = functions;
    member.joined = now;
    member.last_seen = now;
    member.last_heartbeat = now;
    member.over_capacity = false;  // it holds its data-plane slot already
    provisional_.emplace(id, std::move(member));
    return true;
}

size_t Membership::provisional_slots(Instant now) const {
    size_t held = 0;
    for (const auto &[id, member] : provisional_)
        held += state(member, now) != MemberState::Dead;
    return held;
}

bool Membership::mark_unreachable(std::string_view id, Instant now) {
    auto found = members_.find(id);
    if (found == members_.end()) return false;
    found->second.unreachable = true;
    found->second.unreachable_until = now + settings_.unreachable_hold;
    table_.mark_unreachable(id);
    return true;
}

MemberState Membership::state(const Member &member, Instant now) const {
    if (now > member.last_seen + settings_.ttl) return MemberState::Dead;
    if (member.over_capacity) return MemberState::OverCapacity;
    return member.unreachable ? MemberState::Unreachable : MemberState::Alive;
}

void Membership::set_local_functions(std::set<std::string> functions, Instant now) {
    if (functions == local_functions_) return;
    local_functions_ = std::move(functions);
    rebalance(now);
}

bool Membership::rebalance(Instant now) {
    struct Rank {
        size_t shared;
        bool holds_slot;
        Instant joined;
        Member *member;
    };
    std::vector<Rank> ranks;
    ranks.reserve(members_.size());
    for (auto &[id, member] : members_)
        if (now <= member.last_seen + settings_.ttl)
            ranks.push_back(
                Rank{shared_functions(member), !member.over_capacity, member.joined, &member});
    // members_ is ordered by id, and stable_sort keeps that order among equals.
    std::stable_sort(ranks.begin(), ranks.end(), [](const Rank &a, const Rank &b) {
        if (a.shared != b.shared) return a.shared > b.shared;
        if (a.holds_slot != b.holds_slot) return a.holds_slot;
        return a.joined < b.joined;
    });
    bool changed = false;
    for (size_t i = 0; i < ranks.size(); ++i) {
        Member &member = *ranks[i].member;
        // Peers kept from before a restart (seed()) hold their slots until they speak or die.
        const bool over =
            i + std::min(provisional_slots(now), settings_.max_active) >= settings_.max_active;
        if (member.over_capacity == over) continue;
        member.over_capacity = over;
        changed = true;
    }
    if (!changed) return false;
    // The peer table holds exactly the members with a slot: drop the others, add the promoted
    // ones from their last heartbeat (their reported values arrive with their next messages).
    rebuild_table();
    for (auto &[id, member] : members_) {
        if (member.over_capacity || table_.find(id) != nullptr) continue;
        std::vector<std::string> names;
        for (const auto &function : member.heartbeat.functions)
            if (!function.remote_only) names.push_back(function.name);  // runners only
        try {
            table_.record_membership(id, member.endpoint.addr, std::move(names),
                                     member.last_heartbeat);
        } catch (const std::exception &) {
            member.over_capacity = true;  // the table refuses it: it cannot hold a slot either
        }
    }
    return true;
}

std::vector<std::string> Membership::over_capacity(Instant now) const {
    std::vector<std::string> result;
    for (const auto &[id, member] : members_)
        if (state(member, now) == MemberState::OverCapacity) result.push_back(id);
    return result;
}

std::vector<std::string> Membership::expire(Instant now) {
    std::vector<std::string> removed;
    for (auto it = members_.begin(); it != members_.end();) {
        if (state(it->second, now) != MemberState::Dead) {
            ++it;
            continue;
        }
        removed.push_back(it->first);
        // A dead member may come back: keep contacting it (with back-off) for a while.
        const Endpoint endpoint = it->second.endpoint;
        if (!is_self(endpoint) && candidates_.size() < settings_.max_candidates)
            candidates_[endpoint] = Candidate{endpoint, it->first, now};
        it = members_.erase(it);
    }
    for (auto it = provisional_.begin(); it != provisional_.end();) {
        if (state(it->second, now) != MemberState::Dead) {
            ++it;
            continue;
        }
        // It did not speak within a TTL of the restart: contact it as a candidate (id unknown).
        removed.push_back(it->first);
        const Endpoint endpoint = it->second.endpoint;
        if (candidates_.size() < settings_.max_candidates)
            candidates_[endpoint] = Candidate{endpoint, std::nullopt, now};
        it = provisional_.erase(it);
    }
    std::sort(removed.begin(), removed.end());
    // A slot freed by a dead member goes to the best member waiting for one.
    if (!removed.empty() && !rebalance(now)) rebuild_table();
    std::erase_if(candidates_, [&](const auto &item) {
        return now > item.second.refreshed + settings_.candidate_ttl;
    });
    std::erase_if(backoff_, [&](const auto &item) {
        const bool seed = std::find(settings_.seeds.begin(), settings_.seeds.end(), item.first) !=
                          settings_.seeds.end();
        return !seed && candidates_.count(item.first) == 0;
    });
    return removed;
}

void Membership::rebuild_table() {
    std::vector<strategy::PeerEntry> keep;
    for (const auto &[id, entry] : table_.entries()) {
        auto member = members_.find(id);
        if ((member != members_.end() && !member->second.over_capacity) ||
            provisional_.count(id) != 0)
            keep.push_back(entry);
    }
    table_ = strategy::PeerTable(settings_.self_id, settings_.ttl, std::move(keep));
}

void Membership::set_ttl(Millis ttl) {
    require_positive(ttl, "ttl");
    const Millis previous = settings_.ttl;
    settings_.ttl = ttl;
    try {
        rebuild_table();
    } catch (...) {
        settings_.ttl = previous;
        throw;
    }
}

std::vector<Target> Membership::heartbeat_targets(Instant now) const {
    std::map<Endpoint, Target> targets;
    for (const auto &[id, member] : members_)
        if (!is_self(member.endpoint))
            targets.emplace(member.endpoint, Target{member.endpoint, id, TargetKind::Member});
    for (const auto &seed : settings_.seeds)
        if (!is_self(seed) && targets.count(seed) == 0 && !waiting(seed, now))
            targets.emplace(seed, Target{seed, std::nullopt, TargetKind::Seed});
    // A peer kept from before a restart hears that this node is back without waiting for it.
    for (const auto &[id, member] : provisional_)
        if (targets.count(member.endpoint) == 0 && !waiting(member.endpoint, now))
            targets.emplace(member.endpoint,
                            Target{member.endpoint, std::nullopt, TargetKind::Seed});
    for (const auto &[endpoint, candidate] : candidates_) {
        if (is_self(endpoint) || targets.count(endpoint) != 0 || waiting(endpoint, now)) continue;
        if (candidate.id && members_.count(*candidate.id) != 0) continue;
        targets.emplace(endpoint, Target{endpoint, candidate.id, TargetKind::Candidate});
    }
    std::vector<Target> result;
    result.reserve(targets.size());
    for (auto &[endpoint, target] : targets)
        result.push_back(std::move(target));
    return result;
}

std::vector<Target> Membership::destinations(const std::optional<std::string> &to,
                                             Instant now) const {
    std::vector<Target> result;
    for (const auto &[id, member] : members_) {
        if (to && id != *to) continue;
        const auto member_state = state(member, now);
        if (member_state == MemberState::Dead || member_state == MemberState::OverCapacity)
            continue;
        result.push_back(Target{member.endpoint, id, TargetKind::Member});
    }
    return result;
}

void Membership::record_delivery(const SendResult &result, Instant now) {
    const Endpoint &endpoint = result.target.endpoint;
    if (result.status == SendStatus::HttpError && result.reason == "self_sender") {
        // This node under another address (e.g. a seed list shared by every node).
        self_aliases_.insert(endpoint);
        candidates_.erase(endpoint);
        backoff_.erase(endpoint);
        return;
    }
    if (result.target.kind == TargetKind::Member) return;  // the TTL decides about members
    if (result.ok()) {
        backoff_.erase(endpoint);
        return;
    }
    Backoff &backoff = backoff_[endpoint];
    backoff.failures = std::min(backoff.failures + 1, 62u);
    Millis delay = settings_.retry_max;
    if (backoff.failures - 1 < 31) {
        const auto factor = int64_t{1} << (backoff.failures - 1);
        if (settings_.retry_base.count() <= settings_.retry_max.count() / factor)
            delay = settings_.retry_base * factor;
    }
    backoff.next_attempt = now + delay;
}

void Membership::record_deliveries(const std::vector<SendResult> &results, Instant now) {
    for (const auto &result : results)
        record_delivery(result, now);
}

std::vector<PeerRef> Membership::gossip_view(Instant now) const {
    std::vector<PeerRef> view;
    for (const auto &[id, member] : members_)
        if (state(member, now) != MemberState::Dead) view.push_back(PeerRef{id, member.endpoint});
    return view;
}

std::vector<const Member *> Membership::authorized(Instant now) const {
    std::vector<const Member *> result;
    for (const auto &[id, member] : members_) {
        const auto member_state = state(member, now);
        if (member_state != MemberState::Dead && member_state != MemberState::OverCapacity)
            result.push_back(&member);
    }
    for (const auto &[id, member] : provisional_)
        if (state(member, now) != MemberState::Dead) result.push_back(&member);
    return result;
}

const Member *Membership::find(std::string_view id) const {
    auto found = members_.find(id);
    return found == members_.end() ? nullptr : &found->second;
}

std::map<Endpoint, Instant> Membership::backoffs() const {
    std::map<Endpoint, Instant> result;
    for (const auto &[endpoint, backoff] : backoff_)
        result.emplace(endpoint, backoff.next_attempt);
    return result;
}

}  // namespace dfaas::peers
