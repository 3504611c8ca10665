#include "dfaas/peers/replay.h"

#include "dfaas/peers/reject.h"

namespace dfaas::peers {

ReplayGuard::ReplayGuard(ReplaySettings settings) : settings_(settings) {
    if (settings_.window <= Millis{0})
        throw Error("peers.replay_window: must be positive, got " +
                    std::to_string(settings_.window.count()) + " ms");
    if (settings_.max_senders == 0 || settings_.max_per_sender == 0)
        throw Error("replay guard: the sender and per-sender caps must be at least 1");
}

bool ReplayGuard::in_window(Instant sent_at, Instant now) const {
    return sent_at >= now - settings_.window && sent_at <= now + settings_.window;
}

void ReplayGuard::prune_sender(Sender &sender, Instant now) const {
    // Lowest seqs are normally the oldest: drop from the front while they are out of the window.
    // An old entry behind a younger one stays until the cap evicts it: memory stays bounded.
    while (!sender.seen.empty() && sender.seen.begin()->second + settings_.window < now)
        sender.seen.erase(sender.seen.begin());
    if (sender.floor != 0 && sender.floor_until < now) sender.floor = 0;
}

void ReplayGuard::prune(Instant now) {
    for (auto it = senders_.begin(); it != senders_.end();) {
        prune_sender(it->second, now);
        if (it->second.seen.empty() && it->second.floor == 0)
            it = senders_.erase(it);
        else
            ++it;
    }
    last_sweep_ = now;
}

ReplayVerdict ReplayGuard::admit(std::string_view sender_id, uint64_t seq, Instant sent_at,
                                 Instant now) {
    if (!in_window(sent_at, now)) return ReplayVerdict::Stale;
    if (now > last_sweep_ + settings_.window || now < last_sweep_) prune(now);

    auto found = senders_.find(sender_id);
    if (found == senders_.end()) {
        if (senders_.size() >= settings_.max_senders) {
            prune(now);
            if (senders_.size() >= settings_.max_senders) return ReplayVerdict::Capacity;
        }
        found = senders_.emplace(std::string(sender_id), Sender{}).first;
    }
    Sender &sender = found->second;
    prune_sender(sender, now);
    if (seq <= sender.floor || sender.seen.count(seq) != 0) return ReplayVerdict::Replay;

    if (sender.seen.size() >= settings_.max_per_sender) {
        // Forget the lowest seq, and refuse everything up to it while it could still be replayed.
        const auto lowest = sender.seen.begin();
        if (seq < lowest->first) return ReplayVerdict::Replay;
        sender.floor = std::max(sender.floor, lowest->first);
        sender.floor_until = std::max(sender.floor_until, lowest->second + settings_.window);
        sender.seen.erase(lowest);
    }
    sender.seen.emplace(seq, sent_at);
    return ReplayVerdict::Fresh;
}

size_t ReplayGuard::remembered() const {
    size_t total = 0;
    for (const auto &[id, sender] : senders_)
        total += sender.seen.size();
    return total;
}

}  // namespace dfaas::peers
