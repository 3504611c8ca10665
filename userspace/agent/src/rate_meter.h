// Rates from the data plane's counters. The counters only grow (nothing ever resets them), so a
// rate is the difference of two readings over the time between them.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "dfaas/dataplane/types.h"

namespace dfaas::agent {

using SteadyTime = std::chrono::steady_clock::time_point;

// Per-second rates of one function between two readings.
struct FunctionRates {
    double user_requests = 0;   // requests of non-peer clients (served or forwarded) + rejects
    double local_requests = 0;  // user requests served here
    double reject_connections = 0;
    double forwarded_in_requests = 0;
    double forwarded_in_rejects = 0;
    std::map<Ipv4, double> to_peer_requests;
};

class RateMeter {
  public:
    // Records a reading; returns the rates since the previous one (empty on the first reading
    // or when the clock did not move).
    std::map<std::string, FunctionRates> update(const dp::Stats &stats, SteadyTime now);
    const std::map<std::string, FunctionRates> &latest() const { return latest_; }

  private:
    std::optional<dp::Stats> previous_;
    SteadyTime previous_at_{};
    std::map<std::string, FunctionRates> latest_;
};

// The average user request rate per function since `baseline` (the strategy's "rate[f]",
// averaged over the period). Functions absent from the baseline count from zero requests.
std::map<std::string, double> user_rates_since(const dp::Stats &baseline, const dp::Stats &now,
                                               double seconds);

}  // namespace dfaas::agent
