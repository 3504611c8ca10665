#include "dfaas/loadgen/duration.h"

#include <time.h>

#include <cctype>
#include <cmath>
#include <cstdio>

namespace dfaas::loadgen {
namespace {

// Longest duration any flag accepts: far beyond any experiment, far below int64 overflow.
constexpr long double kMaxDurationNanos = 1e6L * 3600 * kNanosPerSecond;

long double unit_nanos(std::string_view unit) {
    if (unit == "ns") return 1;
    if (unit == "us" || unit == "µs") return kNanosPerMicro;
    if (unit == "ms") return kNanosPerMilli;
    if (unit == "s") return kNanosPerSecond;
    if (unit == "m") return 60.0L * kNanosPerSecond;
    if (unit == "h") return 3600.0L * kNanosPerSecond;
    return -1;
}

// value with at most `decimals` decimals and no trailing zeros: 1.5, 12, 0.25.
std::string trimmed(long double value, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*Lf", decimals, value);
    std::string text(buf);
    if (text.find('.') != std::string::npos) {
        text.erase(text.find_last_not_of('0') + 1);
        if (text.back() == '.') text.pop_back();
    }
    return text;
}

bool is_number_char(char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
}

std::string invalid(std::string_view text, std::string_view why) {
    return "invalid duration '" + std::string(text) + "': " + std::string(why) +
           " (examples: 30s, 5m, 1h30m, 250ms)";
}

}  // namespace

Nanos parse_duration(std::string_view text) {
    if (text.empty()) throw UsageError(invalid(text, "empty"));
    if (text == "0") return 0;
    long double total = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t number_end = pos;
        while (number_end < text.size() && is_number_char(text[number_end]))
            ++number_end;
        std::string number(text.substr(pos, number_end - pos));
        if (number.empty() || number == "." || number.find('.') != number.rfind('.')) {
            throw UsageError(invalid(text, "expected a number"));
        }
        size_t unit_end = number_end;
        while (unit_end < text.size() && !is_number_char(text[unit_end]))
            ++unit_end;
        std::string_view unit = text.substr(number_end, unit_end - number_end);
        if (unit.empty()) throw UsageError(invalid(text, "missing unit after '" + number + "'"));
        long double scale = unit_nanos(unit);
        if (scale < 0) throw UsageError(invalid(text, "unknown unit '" + std::string(unit) + "'"));
        total += std::strtold(number.c_str(), nullptr) * scale;
        if (total > kMaxDurationNanos) throw UsageError(invalid(text, "too long"));
        pos = unit_end;
    }
    return static_cast<Nanos>(std::llround(total));
}

std::string format_duration(Nanos ns) {
    std::string sign = ns < 0 ? "-" : "";
    long double v = std::fabs(static_cast<long double>(ns));
    if (v < kNanosPerMicro) return sign + trimmed(v, 0) + "ns";
    if (v < kNanosPerMilli) return sign + trimmed(v / kNanosPerMicro, 2) + "µs";
    if (v < kNanosPerSecond) return sign + trimmed(v / kNanosPerMilli, 3) + "ms";
    if (v < 60.0L * kNanosPerSecond) return sign + trimmed(v / kNanosPerSecond, 4) + "s";
    // Rounded to whole milliseconds before splitting, so 179.9999 s reads 3m0s, not 2m60s.
    auto millis = static_cast<long long>(std::llround(v / kNanosPerMilli));
    long long minutes = millis / 60'000;
    long double seconds = static_cast<long double>(millis % 60'000) / 1000;
    return sign + std::to_string(minutes) + "m" + trimmed(seconds, 3) + "s";
}

Nanos monotonic_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<Nanos>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

}  // namespace dfaas::loadgen
