#include "failure_detector.h"

namespace dfaas::agent {

FailureDetector::FailureDetector(uint64_t min_unanswered, uint32_t min_silent_ticks)
    : min_unanswered_(min_unanswered), min_silent_ticks_(min_silent_ticks) {}

std::vector<Ipv4> FailureDetector::update(const std::map<Ipv4, PeerSignal> &readings) {
    std::vector<Ipv4> newly;
    for (const auto &[peer, now] : readings) {
        auto [it, fresh] = peers_.try_emplace(peer);
        State &s = it->second;
        if (fresh || now.syns_forwarded < s.last.syns_forwarded || now.answers < s.last.answers) {
            s = State{now};  // first reading, or the counters were reset (peer slot reused)
            continue;
        }
        uint64_t syns = now.syns_forwarded - s.last.syns_forwarded;
        uint64_t answers = now.answers - s.last.answers;
        s.last = now;
        if (answers > 0) {
            s.unanswered = 0;
            s.silent_ticks = 0;
            s.reported = false;
            continue;
        }
        if (syns == 0 && s.unanswered == 0) continue;  // idle: nothing to judge
        s.unanswered += syns;
        s.silent_ticks += 1;
        if (!s.reported &&
            (s.unanswered >= min_unanswered_ || s.silent_ticks >= min_silent_ticks_)) {
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
