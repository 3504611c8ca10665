// The open-loop arrival schedule: the exact offset (from the start of the run) at which every
// request is due. It depends only on the configured rates, never on how the server behaves.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dfaas/loadgen/duration.h"

namespace dfaas::loadgen {

// [start, end) at a constant rate in requests per second; 0 pauses the load.
struct Stage {
    Nanos start = 0;
    Nanos end = 0;
    double rate = 0;
};

// Highest rate any stage accepts, to catch typos like "--rate 2e9" before they exhaust memory
// or file descriptors.
inline constexpr double kMaxRate = 1'000'000;

class Schedule {
  public:
    Schedule() = default;
    // Throws UsageError unless rate is in (0, kMaxRate] and duration > 0.
    static Schedule constant(double rate, Nanos duration);
    // Stages must start at 0, be contiguous and non-empty. Throws UsageError.
    static Schedule staged(std::vector<Stage> stages);

    // Inside a stage, request k is due at start + k/rate: evenly spaced, the first at the start,
    // and no request at or after the stage's end. So 100/s for 2 s is exactly 200 requests.
    uint64_t total_requests() const { return total_; }
    Nanos due_offset(uint64_t index) const;
    Nanos duration() const { return stages_.empty() ? 0 : stages_.back().end; }
    // total_requests / duration, the rate a perfect run would achieve.
    double mean_rate() const;
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
