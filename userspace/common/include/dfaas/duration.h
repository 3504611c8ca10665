// The one duration grammar of every DFaaS binary: the agent's configuration, dfaasctl's flags and
// dfaas-loadgen's flags and stages all read durations through parse_duration.
//
// Grammar: one or more <number><unit> groups, no spaces: "1h30m", "2s", "1.5s", "500ms", "250us".
// Units h, m, s, ms, us (or µs), ns; a number has digits with an optional fraction ("0.25m",
// ".5s"). "0" alone is zero. A bare number ("30") is refused unless the caller reads it as seconds
// (BareNumber::Seconds: the configuration and dfaasctl, for compatibility). Negative values, text
// longer than kMaxDurationTextBytes, values finer than a nanosecond and values above
// kMaxDuration are refused.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dfaas {

enum class BareNumber { Refuse, Seconds };

// Checked before anything else is looked at.
inline constexpr std::size_t kMaxDurationTextBytes = 64;
// The longest duration: what signed 64-bit nanoseconds hold, 2562047h47m16.854775807s.
inline constexpr std::chrono::nanoseconds kMaxDuration = std::chrono::nanoseconds::max();

// Either a value or the reason it was refused, phrased to follow the quoted input:
// "\"1h30x\" " + reason -> "\"1h30x\" is not a duration (unknown unit \"x\"; ...)".
struct DurationResult {
    std::optional<std::chrono::nanoseconds> value;
    std::string reason;

    explicit operator bool() const { return value.has_value(); }
    const std::chrono::nanoseconds &operator*() const { return *value; }
};

DurationResult parse_duration(std::string_view text, BareNumber bare = BareNumber::Refuse);

// The message for a refused duration, naming the input: `what: "text" reason`, or `"text" reason`
// when `what` is empty (what = "--ttl", "api.timeout", ...).
std::string duration_error(std::string_view what, std::string_view text, const std::string &reason);

}  // namespace dfaas
