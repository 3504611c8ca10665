// The feedback guard (issue 19): between two strategy steps, a route of a function's policy
// (this node or one peer) whose HTTP responses keep failing loses its share to the function's
// other routes. Pure and I/O-free: the agent feeds it the data plane's cumulative per-(function,
// route) counters once per control tick and installs what guard_policy() makes of the strategy's
// policies; the strategy's next step decides again from fresh inputs (clear()).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dfaas/dataplane/types.h"
#include "dfaas/net.h"
#include "dfaas/policy.h"

namespace dfaas::agent {

struct GuardSettings {
    bool enabled = true;
    double error_ratio = 0.5;    // a tick above this ratio is a failing tick (0..1)
    uint64_t min_responses = 5;  // ... when it has at least this many final responses
    uint32_t ticks = 2;          // consecutive failing ticks that guard the route
    // Control ticks a guard lasts at least: a strategy step lifts only the guards this old. A
    // strategy that decides every period from the same inputs (Static; Recalc before its peers'
    // limits change) gives a failing route its weight back at every step; without a hold a
    // short period would hand it traffic again every period (strategy.guard.hold).
    uint32_t hold_ticks = 20;
};

// strategy.guard.hold in control ticks, rounded up (at least one tick).
uint32_t guard_hold_ticks(std::chrono::nanoseconds hold, std::chrono::nanoseconds control_tick);

// A route of a function's policy: this node (nullopt) or a peer's address.
using Route = std::optional<Ipv4>;
// "local" or the peer's address, as the metrics, the API and the log write it.
std::string route_label(const Route &route);

struct RouteKey {
    std::string function;
    Route route;
    auto operator<=>(const RouteKey &) const = default;
};

// One route's counters as the data plane reads them now (cumulative since the slot was made).
struct RouteReading {
    RouteKey key;
    dp::HttpCounters counters;
    std::optional<uint32_t> timeout_ms;  // the function's dfaas.timeout_ms
};

// What one tick's growth of a route's counters says.
struct TickVerdict {
    uint64_t final_responses = 0;
    uint64_t failed = 0;  // 429 + 5xx + responses slower than timeout_ms, at most final_responses
    std::string cause;    // the largest failure kind: "503s", "5xxs", "429s", "timeouts", ...
    // failed / final_responses; none without a final response.
    std::optional<double> error_ratio() const;
};

// The failures in one tick's growth (`growth` = now - before, counters not cumulative).
// Responses slower than timeout_ms are those in histogram buckets whose lower bound is at least
// timeout_ms: the buckets are log2-wide, so the bucket holding timeout_ms itself (which may hold
// faster responses too) is not counted and the count is a lower bound (conservative: the guard
// never calls a route slow on responses that may have been in time). A response both slow and a
// 5xx counts once per kind; the sum is capped at the final responses.
TickVerdict judge_tick(const dp::HttpCounters &growth, std::optional<uint32_t> timeout_ms);

// `now` - `before`, or `now` when a counter went down (the data plane reused the slot for a new
// function or peer: its counters started from zero).
dp::HttpCounters counter_growth(const dp::HttpCounters &before, const dp::HttpCounters &now);

struct GuardedRoute {
    double error_ratio = 0;  // of the tick that guarded it
    std::string cause;       // e.g. "503s"
    uint32_t age_ticks = 0;  // control ticks since it was guarded
};

// A route guarded or lifted by update() or clear(), for the log, the events and the metrics.
struct GuardChange {
    RouteKey key;
    bool guarded = false;  // false: lifted
    GuardedRoute detail;
};

class RouteGuard {
  public:
    explicit RouteGuard(GuardSettings settings = {});

    // One control tick: every route's cumulative counters. A route absent from `readings` is
    // forgotten (its function or peer is gone) and lifted if it was guarded. Returns the routes
    // guarded by this tick. Disabled: remembers the readings, guards nothing.
    std::vector<GuardChange> update(const std::vector<RouteReading> &readings);
    // The strategy decided again: every guard at least hold_ticks old lifts and every streak
    // starts over (a route lifted and still failing is guarded again `ticks` ticks later; a
    // younger guard stays until a later step). The readings stay: the next tick's growth is
    // measured from them. Returns the routes lifted.
    std::vector<GuardChange> strategy_step();

    const std::map<RouteKey, GuardedRoute> &guarded() const { return guarded_; }
    // The guarded routes of one function.
    std::set<Route> guarded_routes(const std::string &function) const;
    // Times each route was guarded since the start (what dfaas_guard_adjustments_total counts);
    // a route the data plane no longer reports is forgotten, so the map is bounded by the routes
    // that exist.
    const std::map<RouteKey, uint64_t> &adjustments() const { return adjustments_; }
    const GuardSettings &settings() const { return settings_; }

  private:
    GuardSettings settings_;
    std::map<RouteKey, dp::HttpCounters> previous_;
    std::map<RouteKey, uint32_t> failing_ticks_;  // consecutive failing ticks, unguarded routes
    std::map<RouteKey, GuardedRoute> guarded_;
    std::map<RouteKey, uint64_t> adjustments_;
};

// What guard_policy() did with one function's policy.
struct GuardedPolicy {
    FunctionPolicy policy;
    bool adjusted = false;
    // Set when a guarded route kept its weight because no other route could take it.
    std::optional<std::string> kept_because;
};

// The policy with the guarded routes' weights moved to the function's other routes, in
// proportion to their weights. The routes that can take a share: the peers (with weight) not
// guarded, and this node when `local_serves` (it runs the function) and it is not guarded and
// either has weight or is the only route left. A guarded route with no route to take its weight
// keeps it (the policy is left as it was). Overflow weights of a guarded peer go to the other
// overflow peers the same way (none: they stay). Weights are rescaled to stay within
// kMaxWeight; reject and the caps are untouched.
GuardedPolicy guard_policy(const FunctionPolicy &policy, const std::set<Route> &guarded,
                           bool local_serves);

}  // namespace dfaas::agent
