// Time values of the load generator: signed 64-bit nanoseconds on CLOCK_MONOTONIC, plus the
// shared duration syntax ("5m", "1h30m", "2.5s", "250ms") every flag and stage uses.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dfaas::loadgen {

using Nanos = std::int64_t;
inline constexpr Nanos kNanosPerMicro = 1'000;
inline constexpr Nanos kNanosPerMilli = 1'000'000;
inline constexpr Nanos kNanosPerSecond = 1'000'000'000;

// A problem with what the user asked for (flags, stages, URLs, files). The CLI prints the message
// and exits with status 1; every message names the offending input.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The shared grammar of dfaas/duration.h: <number><unit> groups, units ns, us, ms, s, m, h
// ("1h30m", "0.5s"). A bare "0" is accepted; any other number without a unit is rejected, because
// "30" could mean seconds or minutes. Throws UsageError naming the text.
Nanos parse_duration(std::string_view text);

// "1.5s", "12.3ms", "850µs", "5m0s": compact and unambiguous, for human-readable reports.
std::string format_duration(Nanos ns);

// The current CLOCK_MONOTONIC time.
Nanos monotonic_now();

}  // namespace dfaas::loadgen
