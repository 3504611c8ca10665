// The open-loop arrival schedule: the exact offset (from the start of the run) at which every
// request is due. It depends only on the configured rates, never on how the server behaves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dfaas/loadgen/duration.h"

namespace dfaas::loadgen {

// [start, end) in requests per second: a constant `rate` (0 pauses the load), or with `ramp_to`
// a rate that moves linearly from `rate` at start to `ramp_to` at end (k6's ramping-arrival-rate).
struct Stage {
    Nanos start = 0;
    Nanos end = 0;
    double rate = 0;
    std::optional<double> ramp_to;

    double end_rate() const { return ramp_to.value_or(rate); }
};

// Highest rate any stage accepts, to catch typos like "--rate 2e9" before they exhaust memory
// or file descriptors.
inline constexpr double kMaxRate = 1'000'000;
// Most stages in one schedule, and the longest schedule: bounds checked before anything is built,
// so a runaway file or a typo ("1000h") is refused instead of running for weeks.
inline constexpr size_t kMaxStages = 10'000;
inline constexpr Nanos kMaxScheduleDuration = 7 * 24 * 3600 * kNanosPerSecond;
// "168h", for messages.
std::string max_schedule_text();

class Schedule {
  public:
    Schedule() = default;
    // Throws UsageError unless rate is in (0, kMaxRate] and duration > 0.
    static Schedule constant(double rate, Nanos duration);
    // Stages must start at 0, be contiguous and non-empty, at most kMaxStages of them and
    // kMaxScheduleDuration in all. Throws UsageError naming the stage.
    static Schedule staged(std::vector<Stage> stages);

    // Inside a stage, request k is due when the integral of the rate since the stage's start
    // reaches k: at start + k/rate for a constant rate (evenly spaced), the first at the start,
    // and no request at or after the stage's end. So a stage holds ceil(integral) requests: 100/s
    // for 2 s is exactly 200, a ramp from 0 to 100/s over 10 s is 500.
    uint64_t total_requests() const { return total_; }
    Nanos due_offset(uint64_t index) const;
    Nanos duration() const { return stages_.empty() ? 0 : stages_.back().end; }
    // total_requests / duration, the rate a perfect run would achieve.
    double mean_rate() const;
    // The configured rate at an offset from the start (0 outside the schedule).
    double rate_at(Nanos offset) const;
    const std::vector<Stage> &stages() const { return stages_; }

  private:
    std::vector<Stage> stages_;
    std::vector<uint64_t> first_index_;  // index of the first request of each stage
    uint64_t total_ = 0;
};

// Parses "0-5m:100,5-10m:300". A start without a unit borrows the end's unit ("5-10m" is 5m to
// 10m). Throws UsageError naming the offending stage.
std::vector<Stage> parse_stages(std::string_view text);

}  // namespace dfaas::loadgen
