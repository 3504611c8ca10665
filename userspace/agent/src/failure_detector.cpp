#include "failure_detector.h"

namespace dfaas::agent {

FailureDetector::FailureDetector(uint64_t min_unanswered, Clock::duration max_silence,
                                 uint64_t min_refused)
    : min_unanswered_(min_unanswered), max_silence_(max_silence), min_refused_(min_refused) {}

std::vector<PeerVerdict> FailureDetector::update(const std::map<Ipv4, PeerSignal> &readings,
                                                 Clock::time_point now) {
    std::vector<PeerVerdict> newly;
    for (const auto &[peer, reading] : readings) {
        auto [it, fresh] = peers_.try_emplace(peer);
        State &s = it->second;
        if (fresh || reading.syns_forwarded < s.last.syns_forwarded ||
            reading.answers < s.last.answers || reading.refusals < s.last.refusals ||
            reading.refusals - s.last.refusals > reading.answers - s.last.answers) {
            s = State{reading};  // first reading, or the counters were reset (peer slot reused)
            continue;
        }
        const uint64_t syns = reading.syns_forwarded - s.last.syns_forwarded;
        const uint64_t answers = reading.answers - s.last.answers;
        const uint64_t refused = reading.refusals - s.last.refusals;
        s.last = reading;
        if (judge_silence(s, syns, answers, now))
            newly.push_back({peer, PeerFailure::Unanswered});
        else if (judge_refusals(s, answers - refused, refused))
            newly.push_back({peer, PeerFailure::Refusing});
    }
    for (auto it = peers_.begin(); it != peers_.end();)
        it = readings.count(it->first) ? std::next(it) : peers_.erase(it);
    return newly;
}

bool FailureDetector::judge_silence(State &s, uint64_t syns, uint64_t answers,
                                    Clock::time_point now) const {
    if (answers > 0) {
        // The peer is alive. What this interval sent beyond its answers is still owed; more
        // answers than SYNs (a SYN-ACK retransmitted, a RST for an older connection) settle
        // everything.
        s.unanswered = syns > answers ? syns - answers : 0;
        s.owed_since = now;
        s.reported = false;
        return false;
    }
    if (syns == 0 && s.unanswered == 0) return false;  // idle: nothing to judge
    if (s.unanswered == 0) s.owed_since = now;
    s.unanswered += syns;
    if (s.reported || (s.unanswered < min_unanswered_ && now - s.owed_since < max_silence_))
        return false;
    s.reported = true;
    return true;
}

bool FailureDetector::judge_refusals(State &s, uint64_t accepted, uint64_t refused) const {
    if (accepted > 0) {
        s.refused = 0;  // it takes connections: whatever it refused was a momentary limit
        s.refusal_reported = false;
        return false;
    }
    s.refused += refused;
    if (s.refusal_reported || s.refused < min_refused_) return false;
    s.refusal_reported = true;
    return true;
}

void FailureDetector::reset(Ipv4 peer) {
    peers_.erase(peer);
}

}  // namespace dfaas::agent
