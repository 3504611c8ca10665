#include "dfaas/strategy/peer_table.h"

#include <algorithm>

#include "dfaas/strategy/error.h"

namespace dfaas::strategy {

namespace {

std::vector<std::string> sorted_unique(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

// Re-checks what a restored entry claims peers reported, with the same rules as apply().
void validate_reported(const PeerEntry &entry) {
    if (entry.recalc_limit_out) validate(RecalcLimits{entry.recalc_limit_out->value});
    if (entry.nms_info) validate(entry.nms_info->value);
    if (entry.nms_margin) validate(entry.nms_margin->value);
    if (entry.static_info) validate(entry.static_info->value);
}

}  // namespace

PeerTable::PeerTable(std::string self_id, Millis ttl, std::vector<PeerEntry> entries)
    : self_id_(std::move(self_id)), ttl_(ttl) {
    if (ttl_ <= Millis{0})
        throw Error("peer table: ttl must be positive, got " + std::to_string(ttl_.count()) +
                    " ms");
    for (auto &entry : entries) {
        check_sender(entry.id, entry.address);
        try {
            validate_reported(entry);
        } catch (const Error &error) {
            throw Error("peer table: entry '" + entry.id + "': " + error.what());
        }
        std::string id = entry.id;
        if (!entries_.emplace(id, std::move(entry)).second)
            throw Error("peer table: duplicate entry '" + id + "'");
    }
}

void PeerTable::check_sender(std::string_view id, Ipv4 address) const {
    if (id.empty()) throw Error("peer table: empty peer id");
    if (id == self_id_) throw Error("peer table: entry for this node itself ('" + self_id_ + "')");
    if (address.is_unspecified())
        throw Error("peer table: peer '" + std::string(id) + "' has address 0.0.0.0");
}

PeerEntry &PeerTable::entry_for(std::string_view id, Ipv4 address, Instant now) {
    auto found = entries_.find(id);
    if (found == entries_.end()) {
        PeerEntry entry;
        entry.id = std::string(id);
        found = entries_.emplace(entry.id, std::move(entry)).first;
    }
    PeerEntry &entry = found->second;
    entry.address = address;
    entry.last_seen = std::max(entry.last_seen, now);
    entry.unreachable = false;
    return entry;
}

void PeerTable::record_membership(std::string_view id, Ipv4 address,
                                  std::vector<std::string> functions, Instant now) {
    if (id == self_id_) return;
    check_sender(id, address);
    for (const auto &name : functions)
        if (name.empty())
            throw Error("membership of '" + std::string(id) + "': empty function name");
    entry_for(id, address, now).member_functions = sorted_unique(std::move(functions));
}

ApplyOutcome PeerTable::apply(std::string_view sender_id, Ipv4 sender_address,
                              const PeerMessage &message, Instant now) {
    if (sender_id == self_id_) return ApplyOutcome::OwnMessage;
    check_sender(sender_id, sender_address);
    try {
        validate(message);
    } catch (const Error &error) {
        throw Error("message from '" + std::string(sender_id) + "': " + error.what());
    }
    if (const auto *margin = std::get_if<NmsMargin>(&message)) {
        // The reference dereferenced a missing entry here; a margin only means something from a
        // peer whose node info (type, thresholds, functions) this node knows.
        const PeerEntry *known = find(sender_id);
        if (known == nullptr || fresh(*known, known->nms_info, now) == nullptr)
            return ApplyOutcome::UnknownSender;
        entry_for(sender_id, sender_address, now).nms_margin = Received<NmsMargin>{*margin, now};
        return ApplyOutcome::Applied;
    }
    PeerEntry &entry = entry_for(sender_id, sender_address, now);
    if (const auto *limits = std::get_if<RecalcLimits>(&message)) {
        // Functions missing from the message are dropped from the entry, as the reference.
        entry.recalc_limit_out = Received<std::map<std::string, double>>{limits->limits, now};
    } else if (const auto *info = std::get_if<NmsNodeInfo>(&message)) {
        NmsNodeInfo normalized = *info;
        normalized.functions = sorted_unique(std::move(normalized.functions));
        entry.nms_info = Received<NmsNodeInfo>{std::move(normalized), now};
    } else if (const auto *info_static = std::get_if<StaticInfo>(&message)) {
        entry.static_info =
            Received<StaticInfo>{StaticInfo{sorted_unique(info_static->functions)}, now};
    }
    return ApplyOutcome::Applied;
}

void PeerTable::mark_unreachable(std::string_view id) {
    auto found = entries_.find(id);
    if (found != entries_.end()) found->second.unreachable = true;
}

size_t PeerTable::expire(Instant now) {
    return std::erase_if(entries_, [&](const auto &item) { return !alive(item.second, now); });
}

bool PeerTable::alive(const PeerEntry &entry, Instant now) const {
    // The reference purges an entry when TAlive + TTL < now.
    return !entry.unreachable && now <= entry.last_seen + ttl_;
}

std::vector<const PeerEntry *> PeerTable::live(Instant now) const {
    std::vector<const PeerEntry *> result;
    for (const auto &[id, entry] : entries_)
        if (alive(entry, now)) result.push_back(&entry);
    return result;
}

const PeerEntry *PeerTable::find(std::string_view id) const {
    auto found = entries_.find(id);
    return found == entries_.end() ? nullptr : &found->second;
}

}  // namespace dfaas::strategy
