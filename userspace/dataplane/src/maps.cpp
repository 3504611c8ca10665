#include "maps.h"

#include <time.h>
#include <unistd.h>

namespace dfaas::dp {

std::string describe(const std::string &what, int err) {
    if (err < 0) err = -err;
    return what + ": " + std::strerror(err);
}

std::span<const Maps::Pinned> Maps::pinned() {
    static constexpr Pinned kPinned[] = {
        {"dfaas_config", &Maps::config},
        {"dfaas_services", &Maps::services},
        {"dfaas_functions", &Maps::functions},
        {"dfaas_policies", &Maps::policies},
        {"dfaas_peers", &Maps::peers},
        {"dfaas_peer_addrs", &Maps::peer_addrs},
        {"dfaas_peer_stats", &Maps::peer_stats},
        {"dfaas_stats", &Maps::stats},
        {"dfaas_fwd_in_stats", &Maps::fwd_in_stats},
        {"dfaas_reasons", &Maps::reasons},
        {"dfaas_rate_local", &Maps::rate_local},
        {"dfaas_rate_fwd_in", &Maps::rate_fwd_in},
        {"dfaas_rate_syn", &Maps::rate_syn},
        {"dfaas_ct", &Maps::ct},
        {"dfaas_ct_half_open", &Maps::ct_half_open},
        // Absent under the pins of an older ABI, which readers then refuse by version.
        {"dfaas_ct_gw", &Maps::ct_gw, true},
        {"dfaas_ct_gw_half_open", &Maps::ct_gw_half_open, true},
        {"dfaas_ct_ports", &Maps::ct_ports, true},
        {"dfaas_events", &Maps::events, true},
        {"dfaas_event_config", &Maps::event_config, true},
        // HTTP responses and latencies (ABI 6, bpf/lib/http.h).
        {"dfaas_http_stats", &Maps::http_stats, true},
    };
    return kPinned;
}

const Maps::Pinned *Maps::find(std::string_view name) {
    for (const auto &entry : pinned())
        if (name == entry.name) return &entry;
    return nullptr;
}

std::unique_ptr<Maps> Maps::open_pinned(const std::string &dir) {
    std::unique_ptr<Maps> maps(new Maps());
    for (const auto &entry : pinned()) {
        std::string path = dir + "/" + entry.name;
        int fd = bpf_obj_get(path.c_str());
        if (fd < 0 && errno == ENOENT && entry.added_in_place) continue;
        if (fd < 0) {
            int err = errno;
            throw Error(describe("open pinned map " + path +
                                     (err == ENOENT ? " (is the data plane attached? "
                                                      "run `dfaasctl dp attach`)"
                                                    : ""),
                                 err),
                        err);
        }
        (*maps).*entry.fd = fd;
    }
    return maps;
}

Maps::~Maps() {
    for (const auto &entry : pinned())
        if (this->*entry.fd >= 0) close(this->*entry.fd);
}

int possible_cpus() {
    static const int n = libbpf_num_possible_cpus();
    return n > 0 ? n : 1;
}

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

}  // namespace dfaas::dp
