#include "route_guard.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace dfaas::agent {

namespace {

using dp::HttpCode;

// The failure kinds a tick's cause names, in the order a tie is broken.
constexpr std::pair<HttpCode, const char *> kFailureCodes[] = {
    {HttpCode::Unavailable503, "503s"}, {HttpCode::Error500, "500s"},
    {HttpCode::BadGateway502, "502s"},  {HttpCode::Timeout504, "504s"},
    {HttpCode::Other5xx, "5xxs"},       {HttpCode::TooMany429, "429s"},
};

// Responses in the buckets whose lower bound is at least timeout_ms (see judge_tick).
uint64_t slower_than(const std::array<uint64_t, dp::kHttpBuckets> &buckets, uint32_t timeout_ms) {
    const double timeout_s = double(timeout_ms) / 1000.0;
    uint64_t slow = 0;
    // Bucket 0 starts at 0 s and timeout_ms is at least 1: never counted.
    for (size_t i = 1; i < buckets.size(); ++i)
        if (dp::http_bucket_upper_seconds(i - 1) >= timeout_s) slow += buckets[i];
    return slow;
}

bool went_down(const dp::HttpCounters &before, const dp::HttpCounters &now) {
    for (size_t i = 0; i < now.codes.size(); ++i)
        if (now.codes[i] < before.codes[i]) return true;
    for (size_t i = 0; i < now.buckets.size(); ++i)
        if (now.buckets[i] < before.buckets[i]) return true;
    return now.latency_sum_ns < before.latency_sum_ns || now.untimed < before.untimed ||
           now.opaque_connections < before.opaque_connections;
}

}  // namespace

uint32_t guard_hold_ticks(std::chrono::nanoseconds hold, std::chrono::nanoseconds control_tick) {
    if (control_tick.count() <= 0) return 1;
    const auto ticks = (hold.count() + control_tick.count() - 1) / control_tick.count();
    return uint32_t(std::clamp<int64_t>(ticks, 1, int64_t(UINT32_MAX)));
}

std::string route_label(const Route &route) {
    return route ? route->str() : "local";
}

std::optional<double> TickVerdict::error_ratio() const {
    if (final_responses == 0) return std::nullopt;
    return double(failed) / double(final_responses);
}

TickVerdict judge_tick(const dp::HttpCounters &growth, std::optional<uint32_t> timeout_ms) {
    TickVerdict v;
    v.final_responses = growth.final_responses();
    uint64_t largest = 0;
    for (const auto &[code, cause] : kFailureCodes) {
        uint64_t n = growth.codes[size_t(code)];
        v.failed += n;
        if (n > largest) {
            largest = n;
            v.cause = cause;
        }
    }
    if (timeout_ms && *timeout_ms > 0) {
        uint64_t slow = slower_than(growth.buckets, *timeout_ms);
        v.failed += slow;
        if (slow > largest) v.cause = "timeouts";
    }
    v.failed = std::min(v.failed, v.final_responses);
    return v;
}

dp::HttpCounters counter_growth(const dp::HttpCounters &before, const dp::HttpCounters &now) {
    if (went_down(before, now)) return now;
    dp::HttpCounters g;
    for (size_t i = 0; i < now.codes.size(); ++i)
        g.codes[i] = now.codes[i] - before.codes[i];
    for (size_t i = 0; i < now.buckets.size(); ++i)
        g.buckets[i] = now.buckets[i] - before.buckets[i];
    g.latency_sum_ns = now.latency_sum_ns - before.latency_sum_ns;
    g.untimed = now.untimed - before.untimed;
    g.opaque_connections = now.opaque_connections - before.opaque_connections;
    return g;
}

RouteGuard::RouteGuard(GuardSettings settings) : settings_(settings) {}

std::vector<GuardChange> RouteGuard::update(const std::vector<RouteReading> &readings) {
    std::vector<GuardChange> changes;
    std::map<RouteKey, dp::HttpCounters> current;
    for (const auto &r : readings) {
        current[r.key] = r.counters;
        auto before = previous_.find(r.key);
        // The first reading of a route is its baseline: what it answered before the agent
        // watched it says nothing about this tick.
        if (before == previous_.end() || !settings_.enabled) continue;
        if (auto guarded = guarded_.find(r.key); guarded != guarded_.end()) {
            ++guarded->second.age_ticks;  // guarded until a strategy step after its hold
            continue;
        }
        auto verdict = judge_tick(counter_growth(before->second, r.counters), r.timeout_ms);
        auto ratio = verdict.error_ratio();
        bool failing = verdict.final_responses >= settings_.min_responses && ratio &&
                       *ratio > settings_.error_ratio;
        if (!failing) {
            failing_ticks_.erase(r.key);  // a good (or too quiet) tick ends the streak
            continue;
        }
        if (++failing_ticks_[r.key] < settings_.ticks) continue;
        failing_ticks_.erase(r.key);
        GuardedRoute detail{*ratio, verdict.cause};
        guarded_[r.key] = detail;
        ++adjustments_[r.key];
        changes.push_back(GuardChange{r.key, true, detail});
    }
    // Routes gone from the data plane: forgotten, and lifted if guarded.
    for (auto it = guarded_.begin(); it != guarded_.end();) {
        if (current.count(it->first)) {
            ++it;
            continue;
        }
        changes.push_back(GuardChange{it->first, false, it->second});
        it = guarded_.erase(it);
    }
    std::erase_if(failing_ticks_, [&](const auto &kv) { return !current.count(kv.first); });
    std::erase_if(adjustments_, [&](const auto &kv) { return !current.count(kv.first); });
    previous_ = std::move(current);
    return changes;
}

std::vector<GuardChange> RouteGuard::strategy_step() {
    std::vector<GuardChange> lifted;
    for (auto it = guarded_.begin(); it != guarded_.end();) {
        if (it->second.age_ticks < settings_.hold_ticks) {
            ++it;
            continue;
        }
        lifted.push_back(GuardChange{it->first, false, it->second});
        it = guarded_.erase(it);
    }
    failing_ticks_.clear();
    return lifted;
}

std::set<Route> RouteGuard::guarded_routes(const std::string &function) const {
    std::set<Route> routes;
    for (auto it = guarded_.lower_bound(RouteKey{function, std::nullopt});
         it != guarded_.end() && it->first.function == function; ++it)
        routes.insert(it->first.route);
    return routes;
}

namespace {

// Overflow (beyond the local cap) is weighted among the overflow peers alone: removing the
// guarded ones gives their share to the others in proportion. None left with weight: they stay.
void guard_overflow(FunctionPolicy &policy, const std::set<Route> &guarded) {
    bool other_overflow =
        std::any_of(policy.overflow.begin(), policy.overflow.end(),
                    [&](const auto &kv) { return kv.second > 0 && !guarded.count(kv.first); });
    if (other_overflow)
        std::erase_if(policy.overflow, [&](const auto &kv) { return guarded.count(kv.first) > 0; });
}

}  // namespace

GuardedPolicy guard_policy(const FunctionPolicy &policy, const std::set<Route> &guarded,
                           bool local_serves) {
    GuardedPolicy out{policy, false, std::nullopt};
    if (guarded.empty()) return out;
    guard_overflow(out.policy, guarded);
    out.adjusted = out.policy != policy;

    // The guarded routes' weight, and the routes that can take it.
    uint64_t moved = 0;
    bool local_guarded = guarded.count(std::nullopt) > 0;
    if (local_guarded) moved += policy.local;
    std::vector<Ipv4> receiving_peers;
    uint64_t receiving_weight = 0;
    for (const auto &[peer, weight] : policy.peers) {
        if (guarded.count(peer)) {
            moved += weight;
        } else if (weight > 0) {
            receiving_peers.push_back(peer);
            receiving_weight += weight;
        }
    }
    bool local_receives =
        local_serves && !local_guarded && (policy.local > 0 || receiving_peers.empty());
    if (local_receives) receiving_weight += policy.local;
    if (moved == 0) return out;  // the guarded routes had no weight: nothing to move
    if (receiving_peers.empty() && !local_receives) {
        out.kept_because = "no other route can take its share";
        return out;
    }

    // New weights as real numbers, then rescaled so that none exceeds kMaxWeight (the data
    // plane picks by weight / total: only the proportions matter).
    std::map<Route, double> weights;
    auto share = [&](uint32_t weight) {
        // receiving_weight is 0 only when local (weight 0) is the one receiver: it takes it all.
        return receiving_weight == 0 ? double(moved)
                                     : double(weight) * double(moved) / double(receiving_weight);
    };
    weights[std::nullopt] = local_guarded ? 0.0 : double(policy.local);
    if (local_receives) weights[std::nullopt] += share(policy.local);
    for (const auto &peer : receiving_peers)
        weights[peer] = double(policy.peers.at(peer)) + share(policy.peers.at(peer));
    double reject = policy.reject;
    double largest = reject;
    for (const auto &[route, w] : weights)
        largest = std::max(largest, w);
    double scale = largest > kMaxWeight ? double(kMaxWeight) / largest : 1.0;
    // A route that had weight keeps at least 1 after rescaling (rounding must not remove it).
    auto scaled = [&](double w) -> uint32_t {
        if (w <= 0) return 0;
        return uint32_t(std::clamp<long>(std::lround(w * scale), 1, long(kMaxWeight)));
    };
    out.policy.local = scaled(weights[std::nullopt]);
    out.policy.reject = scaled(reject);
    out.policy.peers.clear();
    for (const auto &peer : receiving_peers)
        out.policy.peers[peer] = scaled(weights[peer]);
    // Peers without weight and not guarded stay listed as they were (weight 0).
    for (const auto &[peer, weight] : policy.peers)
        if (weight == 0 && !guarded.count(peer)) out.policy.peers[peer] = 0;
    out.adjusted = out.policy != policy;
    return out;
}

}  // namespace dfaas::agent
