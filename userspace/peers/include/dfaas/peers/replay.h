// Replay protection: a message counts once. Pure, not thread-safe (the Receiver locks it).
//
// A message is fresh when its timestamp is within now ± window and its (sender, seq) has not been
// seen. Seen pairs are kept only while a replay of them would still pass the timestamp check
// (sent_at + window >= now), so memory is bounded by the message rate times the window, and hard
// caps bound it whatever the rate: at most max_per_sender pairs per sender (when full, the lowest
// seq is forgotten and every seq up to it is refused until it is out of the window) and at most
// max_senders senders (when full, a new sender is refused, never an old one forgotten).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "dfaas/strategy/types.h"

namespace dfaas::peers {

using strategy::Instant;
using strategy::Millis;

struct ReplaySettings {
    Millis window{30000};  // peers.replay_window
    size_t max_senders = 4096;
    size_t max_per_sender = 4096;
};

enum class ReplayVerdict { Fresh, Stale, Replay, Capacity };

class ReplayGuard {
  public:
    // Throws Error when the window is not positive or a cap is 0.
    explicit ReplayGuard(ReplaySettings settings);

    const ReplaySettings &settings() const { return settings_; }

    // |now - sent_at| <= window.
    bool in_window(Instant sent_at, Instant now) const;

    // Checks and, when fresh, records the message. Any other verdict changes nothing.
    ReplayVerdict admit(std::string_view sender, uint64_t seq, Instant sent_at, Instant now);

    // Forgets what no replay could use any more (admit() does it incrementally too).
    void prune(Instant now);

    size_t senders() const { return senders_.size(); }
    size_t remembered() const;

  private:
    struct Sender {
        std::map<uint64_t, Instant> seen;  // seq -> sent_at
        uint64_t floor = 0;                // every seq <= floor is refused ...
        Instant floor_until{};             // ... until then
    };
    void prune_sender(Sender &sender, Instant now) const;

    ReplaySettings settings_;
    std::map<std::string, Sender, std::less<>> senders_;
    Instant last_sweep_{};
};

}  // namespace dfaas::peers
