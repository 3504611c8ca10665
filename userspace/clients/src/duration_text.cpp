#include "dfaas/clients/duration_text.h"

namespace dfaas {

std::string format_duration(std::chrono::milliseconds duration) {
    long long ms = duration.count();
    if (ms < 0) return "-" + format_duration(std::chrono::milliseconds(-ms));
    if (ms == 0) return "0s";
    struct Unit {
        long long millis;
        const char *suffix;
    };
    for (Unit unit : {Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1'000, "s"}})
        if (ms % unit.millis == 0) return std::to_string(ms / unit.millis) + unit.suffix;
    return std::to_string(ms) + "ms";
}

}  // namespace dfaas
