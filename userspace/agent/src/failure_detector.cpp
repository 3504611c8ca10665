#include "failure_detector.h"

namespace dfaas::agent {

FailureDetector::FailureDetector(uint64_t min_unanswered, Clock::duration max_silence)
    : min_unanswered_(min_unanswered), max_silence_(max_silence) {}

std::vector<Ipv4> FailureDetector::update(const std::map<Ipv4, PeerSignal> &readings,
                                          Clock::time_point now) {
    std::vector<Ipv4> newly;
    for (const auto &[peer, reading] : readings) {
        auto [it, fresh] = peers_.try_emplace(peer);
        State &s = it->second;
        if (fresh || reading.syns_forwarded < s.last.syns_forwarded ||
            reading.answers < s.last.answers) {
            s = State{reading};  // first reading, or the counters were reset (peer slot reused)
            continue;
        }
        const uint64_t syns = reading.syns_forwarded - s.last.syns_forwarded;
        const uint64_t answers = reading.answers - s.last.answers;
        s.last = reading;
        if (answers > 0) {
            // The peer is alive. What this interval sent beyond its answers is still owed; more
            // answers than SYNs (a SYN-ACK retransmitted, a RST for an older connection) settle
            // everything.
            s.unanswered = syns > answers ? syns - answers : 0;
            s.owed_since = now;
            s.reported = false;
            continue;
        }
        if (syns == 0 && s.unanswered == 0) continue;  // idle: nothing to judge
        if (s.unanswered == 0) s.owed_since = now;
        s.unanswered += syns;
        if (!s.reported &&
            (s.unanswered >= min_unanswered_ || now - s.owed_since >= max_silence_)) {
            s.reported = true;
            newly.push_back(peer);
        }
    }
    for (auto it = peers_.begin(); it != peers_.end();)
        it = readings.count(it->first) ? std::next(it) : peers_.erase(it);
    return newly;
}

void FailureDetector::reset(Ipv4 peer) {
    peers_.erase(peer);
}

}  // namespace dfaas::agent
