// Fast failure detection from the data plane's per-peer counters: a peer whose forwarded SYNs go
// unanswered (no SYN-ACK, no RST) is unreachable now, not one TTL later. Pure: the agent feeds
// it the cumulative counters several times per control tick, with the time of each reading.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "dfaas/net.h"

namespace dfaas::agent {

struct PeerSignal {
    uint64_t syns_forwarded = 0;  // cumulative
    uint64_t answers = 0;         // cumulative SYN-ACKs + RSTs that came back
};

class FailureDetector {
  public:
    using Clock = std::chrono::steady_clock;

    // A peer is declared unreachable at a reading without any answer when at least
    // `min_unanswered` forwarded SYNs are owed an answer, or one has been owed for `max_silence`.
    // SYN-ACKs come back in milliseconds, so a second of silence is already a strong sign.
    explicit FailureDetector(uint64_t min_unanswered = 3,
                             Clock::duration max_silence = std::chrono::seconds(1));

    // One reading of every peer's counters; returns the peers that just became unreachable.
    std::vector<Ipv4> update(const std::map<Ipv4, PeerSignal> &readings, Clock::time_point now);
    // The peer answered (or was removed): start counting afresh.
    void reset(Ipv4 peer);

  private:
    struct State {
        PeerSignal last;
        // SYNs owed an answer. A reading with answers keeps the SYNs it holds beyond them: the
        // answers went to the oldest SYNs, so those sent after the peer died (in the same
        // interval as its last answers) are not forgotten.
        uint64_t unanswered = 0;
        Clock::time_point owed_since{};  // the reading that first saw SYNs owed
        bool reported = false;
    };
    uint64_t min_unanswered_;
    Clock::duration max_silence_;
    std::map<Ipv4, State> peers_;
};

}  // namespace dfaas::agent
