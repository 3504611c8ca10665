// Fast failure detection from the data plane's per-peer counters: a peer whose forwarded SYNs go
// unanswered (no SYN-ACK, no RST) is unreachable now, not one TTL later; a peer that answers
// every one of them with a RST (its gateway is down, or it is full) takes none of them either.
// Pure: the agent feeds it the cumulative counters several times per control tick, with the time
// of each reading.
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
    uint64_t refusals = 0;        // cumulative RSTs among the answers (a subset of them)
};

// Why a peer takes no forwarded connection now.
enum class PeerFailure {
    Unanswered,  // forwarded SYNs owed an answer (dead, partitioned)
    Refusing,    // every forwarded SYN answered by a RST, none by a SYN-ACK
};

struct PeerVerdict {
    Ipv4 peer;
    PeerFailure failure = PeerFailure::Unanswered;
    auto operator<=>(const PeerVerdict &) const = default;
};

class FailureDetector {
  public:
    using Clock = std::chrono::steady_clock;

    // A peer is declared unreachable at a reading without any answer when at least
    // `min_unanswered` forwarded SYNs are owed an answer, or one has been owed for `max_silence`.
    // SYN-ACKs come back in milliseconds, so a second of silence is already a strong sign.
    // It is declared refusing when `min_refused` RSTs came back since its last SYN-ACK: a peer
    // whose data plane still steers to a gateway that is gone (its agent and gateway killed, the
    // maps left behind) answers every SYN at once, so silence never shows it; a peer that
    // accepts some of them (a SYN-ACK among the RSTs) is taking traffic and is never declared.
    explicit FailureDetector(uint64_t min_unanswered = 3,
                             Clock::duration max_silence = std::chrono::seconds(1),
                             uint64_t min_refused = 3);

    // One reading of every peer's counters; returns the peers that just became unable to take
    // forwarded connections, and why.
    std::vector<PeerVerdict> update(const std::map<Ipv4, PeerSignal> &readings,
                                    Clock::time_point now);
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
        uint64_t refused = 0;  // RSTs since the last SYN-ACK
        bool refusal_reported = false;
    };
    // The unanswered-SYN rule for one reading; true when it declares the peer.
    bool judge_silence(State &s, uint64_t syns, uint64_t answers, Clock::time_point now) const;
    // The refusal rule for one reading; true when it declares the peer.
    bool judge_refusals(State &s, uint64_t accepted, uint64_t refused) const;

    uint64_t min_unanswered_;
    Clock::duration max_silence_;
    uint64_t min_refused_;
    std::map<Ipv4, State> peers_;
};

}  // namespace dfaas::agent
