// Failure detection, the peer part of a control tick (issue 15: its own file): the data
// plane's per-peer counters say whether forwarded SYNs are answered; a peer that stops answering
// leaves every policy at once, and comes back when the membership hears from it again.
#include <spdlog/spdlog.h>

#include "agent.h"

namespace dfaas::agent {

// Forwarded SYNs left unanswered: the peer is dead for us now, not one TTL later. Its weights
// leave every policy at once (this tick); it comes back when it speaks again.
void Agent::detect_failures(const std::vector<dp::PeerCounters> &peers, strategy::Instant now) {
    std::map<Ipv4, PeerSignal> readings;
    for (const auto &p : peers)
        readings[p.addr] =
            PeerSignal{p.syn_forwarded, p.synack_returned + p.rst_returned, p.rst_returned};
    bool changed = false;
    for (const auto &[addr, failure] : failure_detector_.update(readings, clock_->steady_now())) {
        auto id = peers_->mark_unreachable(addr, now);
        if (failure == PeerFailure::Refusing)
            spdlog::warn(
                "peer {} ({}) refuses every forwarded connection (RST, no SYN-ACK): removed "
                "from every policy until it speaks again",
                id.value_or("?"), addr.str());
        else
            spdlog::warn(
                "peer {} ({}) unreachable: forwarded connections unanswered; removed from "
                "every policy",
                id.value_or("?"), addr.str());
        unreachable_.insert(addr);
        events_.peer_unreachable(addr, clock_->system_now());
        changed = true;
    }
    for (const auto &addr : peers_->take_recovered(now)) {
        spdlog::info("peer {} answers again", addr.str());
        unreachable_.erase(addr);
        events_.peer_recovered(addr, clock_->system_now());
        failure_detector_.reset(addr);
        changed = true;
        request_recalc();  // the strategy may give it weight again right away
    }
    if (changed) install(overrides_.apply(strategy_policies_));
}

// Between two control ticks (the control loop runs kFailureChecksPerTick readings per tick, the
// tick itself being one): a dead peer leaves the policies within a fraction of a second of its
// third unanswered SYN instead of at the next whole tick. The per-peer counters are a few map
// reads; the rest of the tick (function counters, status, peer sync) keeps its own cadence.
void Agent::guarded_failure_check() {
    if (!peers_) return;
    std::lock_guard lock(mu_);
    try {
        detect_failures(dp_->peer_counters(), wall_instant(clock_->system_now()));
    } catch (const std::exception &e) {
        ++tick_failures_;
        spdlog::error("failure check: {}", e.what());
    }
}

}  // namespace dfaas::agent
