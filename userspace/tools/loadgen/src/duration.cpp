#include "dfaas/loadgen/duration.h"

#include <time.h>

#include <cctype>
#include <cmath>
#include <cstdio>

#include "dfaas/duration.h"

namespace dfaas::loadgen {
namespace {

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

}  // namespace

Nanos parse_duration(std::string_view text) {
    auto parsed = dfaas::parse_duration(text, dfaas::BareNumber::Refuse);
    if (!parsed) throw UsageError(dfaas::duration_error("", text, parsed.reason));
    return (*parsed).count();
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
