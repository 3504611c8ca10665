// The local cap's rate window read and charged from userspace (Dataplane::admit_local): the
// entry port's local connections and the data plane's share one window per function.
#include <linux/bpf.h>

#include "dfaas/dataplane/dataplane.h"
#include "maps.h"

namespace dfaas::dp {

namespace {

constexpr uint64_t kSecondNs = 1000000000ull;

// The same window arithmetic as bpf/lib/ratelimit.h (rate_roll, rate_estimate): two one-second
// buckets, the previous one weighted by what is left of the current second.
void roll(dfaas_rate &r, uint64_t now) {
    const uint64_t elapsed = now - r.window_start_ns;
    if (elapsed >= 2 * kSecondNs || now < r.window_start_ns) {
        r.previous = 0;
        r.current = 0;
        r.window_start_ns = now;
    } else if (elapsed >= kSecondNs) {
        r.previous = r.current;
        r.current = 0;
        r.window_start_ns += kSecondNs;
    }
}

uint64_t estimate(const dfaas_rate &r, uint64_t now) {
    uint64_t elapsed = now - r.window_start_ns;
    if (elapsed > kSecondNs) elapsed = kSecondNs;
    return uint64_t(r.previous) * (kSecondNs - elapsed) / kSecondNs + r.current;
}

}  // namespace

bool Dataplane::admit_local(const std::string &function, uint32_t cap) {
    auto id = function_id(function);
    if (!id) return true;
    dfaas_rate window{};
    if (!map_lookup(maps_->rate_local, *id, window, BPF_F_LOCK)) return true;
    const uint64_t now = monotonic_ns();
    roll(window, now);
    if (estimate(window, now) >= cap) return false;
    window.current += 1;
    map_update(maps_->rate_local, *id, window, BPF_F_LOCK, "charge the local cap");
    return true;
}

}  // namespace dfaas::dp
