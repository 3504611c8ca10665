#include "rate_meter.h"

namespace dfaas::agent {

namespace {

double per_second(uint64_t now, uint64_t before, double seconds) {
    // Counters never decrease; a smaller value means the function id was reused for another
    // function (its counters were zeroed): count from zero.
    uint64_t delta = now >= before ? now - before : now;
    return double(delta) / seconds;
}

const dp::FunctionStats *find(const dp::Stats &stats, const std::string &name) {
    for (const auto &f : stats.functions)
        if (f.name == name) return &f;
    return nullptr;
}

}  // namespace

std::map<std::string, FunctionRates> RateMeter::update(const dp::Stats &stats, SteadyTime now) {
    std::map<std::string, FunctionRates> rates;
    if (previous_) {
        double seconds = std::chrono::duration<double>(now - previous_at_).count();
        if (seconds > 0) {
            static const dp::FunctionStats kEmpty{};
            for (const auto &f : stats.functions) {
                const dp::FunctionStats *old = find(*previous_, f.name);
                if (!old) old = &kEmpty;
                FunctionRates r;
                r.user_requests = per_second(f.user_requests(), old->user_requests(), seconds);
                r.local_requests = per_second(f.local.requests, old->local.requests, seconds);
                r.reject_connections =
                    per_second(f.reject.connections, old->reject.connections, seconds);
                r.forwarded_in_requests =
                    per_second(f.forwarded_in.requests, old->forwarded_in.requests, seconds);
                r.forwarded_in_rejects = per_second(f.forwarded_in_reject.connections,
                                                    old->forwarded_in_reject.connections, seconds);
                for (const auto &[peer, c] : f.to_peer) {
                    auto it = old->to_peer.find(peer);
                    uint64_t before = it == old->to_peer.end() ? 0 : it->second.requests;
                    r.to_peer_requests[peer] = per_second(c.requests, before, seconds);
                }
                rates[f.name] = r;
            }
            latest_ = rates;
        }
    }
    previous_ = stats;
    previous_at_ = now;
    return rates;
}

std::map<std::string, double> user_rates_since(const dp::Stats &baseline, const dp::Stats &now,
                                               double seconds) {
    std::map<std::string, double> rates;
    if (seconds <= 0) return rates;
    for (const auto &f : now.functions) {
        const dp::FunctionStats *old = find(baseline, f.name);
        rates[f.name] = per_second(f.user_requests(), old ? old->user_requests() : 0, seconds);
    }
    return rates;
}

}  // namespace dfaas::agent
