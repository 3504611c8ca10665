#include "dfaas/duration.h"

#include <cstdint>

namespace dfaas {
namespace {

__extension__ typedef __int128 Wide;

constexpr Wide kMaxNanos = kMaxDuration.count();
constexpr std::string_view kExamples = "e.g. 1h30m, 2s, 1.5s, 500ms; units h, m, s, ms, us, ns";

struct Unit {
    std::string_view suffix;
    std::int64_t nanos;
};

// Longer suffixes first, so "500ms" is not read as 500 minutes followed by "s".
constexpr Unit kUnits[] = {
    {"ms", 1'000'000},        {"us", 1'000},         {"µs", 1'000},        {"ns", 1},
    {"h", 3'600'000'000'000}, {"m", 60'000'000'000}, {"s", 1'000'000'000},
};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

DurationResult refuse(std::string reason) {
    return {std::nullopt, std::move(reason)};
}

DurationResult not_a_duration(const std::string &detail) {
    return refuse("is not a duration (" + detail + "; " + std::string(kExamples) + ")");
}

DurationResult too_long() {
    return refuse("is too long a duration (the maximum is 2562047h47m16.854775807s)");
}

}  // namespace

DurationResult parse_duration(std::string_view text, BareNumber bare) {
    if (text.size() > kMaxDurationTextBytes)
        return refuse("is not a duration (longer than " + std::to_string(kMaxDurationTextBytes) +
                      " characters)");
    if (text.empty()) return not_a_duration("empty");
    if (text.front() == '-') return refuse("is negative: a duration is 0 or more");
    if (text == "0") return {std::chrono::nanoseconds(0), {}};

    bool bare_number = text.find_first_not_of("0123456789.") == std::string_view::npos;
    if (bare_number && bare == BareNumber::Refuse)
        return not_a_duration("a number needs a unit, as in " + std::string(text) +
                              "s: a bare number could mean seconds or minutes");

    Wide total = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
        // <digits>[.<digits>]: the whole part and the fraction as an integer over 10^places.
        Wide whole = 0, fraction = 0, scale = 1;
        size_t i = 0, digits = 0;
        for (; i < rest.size() && is_digit(rest[i]); ++i, ++digits) {
            whole = whole * 10 + (rest[i] - '0');
            if (whole > kMaxNanos) return too_long();
        }
        if (i < rest.size() && rest[i] == '.') {
            for (++i; i < rest.size() && is_digit(rest[i]); ++i, ++digits) {
                // Beyond 18 places only zeros can still give whole nanoseconds.
                if (scale >= Wide(1'000'000'000'000'000'000)) {
                    if (rest[i] != '0') return refuse("is finer than a nanosecond");
                    continue;
                }
                fraction = fraction * 10 + (rest[i] - '0');
                scale *= 10;
            }
        }
        if (digits == 0)
            return not_a_duration("expected a number at \"" + std::string(rest) + "\"");
        std::string_view number = rest.substr(0, i);
        rest.remove_prefix(i);
        if (bare_number && !rest.empty()) return not_a_duration("more than one '.'");

        Wide unit = 0;
        if (bare_number) {
            unit = 1'000'000'000;
        } else {
            for (const Unit &u : kUnits) {
                if (rest.substr(0, u.suffix.size()) == u.suffix) {
                    unit = u.nanos;
                    rest.remove_prefix(u.suffix.size());
                    break;
                }
            }
            if (unit == 0) {
                size_t end = 0;
                while (end < rest.size() && !is_digit(rest[end]) && rest[end] != '.')
                    ++end;
                if (end == 0) return not_a_duration("missing unit after " + std::string(number));
                return not_a_duration("unknown unit \"" + std::string(rest.substr(0, end)) + "\"");
            }
        }
        if ((fraction * unit) % scale != 0) return refuse("is finer than a nanosecond");
        total += whole * unit + fraction * unit / scale;
        if (total > kMaxNanos) return too_long();
    }
    return {std::chrono::nanoseconds(static_cast<std::int64_t>(total)), {}};
}

std::string duration_error(std::string_view what, std::string_view text,
                           const std::string &reason) {
    std::string quoted = "\"" + std::string(text) + "\" " + reason;
    return what.empty() ? quoted : std::string(what) + ": " + quoted;
}

}  // namespace dfaas
