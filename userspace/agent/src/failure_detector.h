// Fast failure detection from the data plane's per-peer counters: a peer whose forwarded SYNs go
// unanswered (no SYN-ACK, no RST) is unreachable now, not one TTL later. Pure: the control tick
// feeds it the counters once per tick.
#pragma once

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
    // A peer is declared unreachable when, since its last answer, at least `min_unanswered`
    // forwarded SYNs got none, or some got none for `min_silent_ticks` ticks in a row. SYN-ACKs
    // come back in milliseconds, so one control tick without any answer is already a strong sign.
    explicit FailureDetector(uint64_t min_unanswered = 3, uint32_t min_silent_ticks = 2);

    // One control tick's readings; returns the peers that just became unreachable.
    std::vector<Ipv4> update(const std::map<Ipv4, PeerSignal> &readings);
    // The peer answered (or was removed): start counting afresh.
    void reset(Ipv4 peer);

  private:
    struct State {
        PeerSignal last;
        uint64_t unanswered = 0;  // SYNs forwarded since the last answer
        uint32_t silent_ticks = 0;
        bool reported = false;
    };
    uint64_t min_unanswered_;
    uint32_t min_silent_ticks_;
    std::map<Ipv4, State> peers_;
};

}  // namespace dfaas::agent
