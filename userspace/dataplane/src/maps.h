// File descriptors of the pinned maps, and typed access helpers over the raw libbpf calls.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dfaas/abi.h"
#include "dfaas/dataplane/types.h"

namespace dfaas::dp {

// "what: strerror(err)" — err may be negative (libbpf style) or positive (errno).
std::string describe(const std::string &what, int err);

// The data plane stamps with dfaas_now() = bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC_COARSE.
uint64_t monotonic_ns();

class Maps {
  public:
    // One pinned map: its name (the file under the pin directory, the same as in
    // bpf/lib/maps.h) and the member holding its descriptor.
    struct Pinned {
        const char *name;
        int Maps::*fd;
        // A map added in place after ABI 3 (docs/architecture.md, "ABI version rule"): pins of
        // an older binary lack it, and readers must still open them (fd stays -1).
        bool added_in_place = false;
    };
    // Every pinned map, the one list that open, unpin and close walk. attach() checks it
    // against the loaded object, so a pinned map added to bpf/lib/maps.h and not here is an
    // error on the first attach, not a pin left behind by detach.
    static std::span<const Pinned> pinned();
    // The entry named `name`, nullptr when the table has no such map.
    static const Pinned *find(std::string_view name);

    // Opens every map pinned under `dir`; throws Error naming the first one missing.
    static std::unique_ptr<Maps> open_pinned(const std::string &dir);

    ~Maps();
    Maps(const Maps &) = delete;
    Maps &operator=(const Maps &) = delete;

    int config = -1, services = -1, functions = -1, policies = -1, peers = -1, peer_addrs = -1,
        peer_stats = -1, stats = -1, fwd_in_stats = -1, reasons = -1, rate_local = -1,
        rate_fwd_in = -1, rate_syn = -1, ct = -1, ct_half_open = -1;
    // Conntrack v2's gateway-side index and port filter (bpf/lib/ct.h).
    int ct_gw = -1, ct_gw_half_open = -1, ct_ports = -1;
    // Monitor events (userspace/dataplane/src/events.cpp).
    int events = -1, event_config = -1;
    // HTTP responses by status and request latencies per (function, route) (bpf/lib/http.h).
    int http_stats = -1;

  private:
    Maps() = default;
};

// Number of values a per-CPU map returns for one key.
int possible_cpus();

template <class K, class V>
bool map_lookup(int fd, const K &key, V &value, uint64_t flags = 0) {
    return bpf_map_lookup_elem_flags(fd, &key, &value, flags) == 0;
}

template <class K, class V>
void map_update(int fd, const K &key, const V &value, uint64_t flags, const std::string &what) {
    if (bpf_map_update_elem(fd, &key, &value, flags) != 0)
        throw Error(describe(what, errno), errno);
}

// Per-CPU values of one key, summed with `add`. V must be a multiple of 8 bytes (the kernel pads
// per-CPU values to 8).
template <class V, class Add>
V percpu_sum(int fd, uint32_t key, Add add) {
    static_assert(sizeof(V) % 8 == 0);
    std::vector<V> values(possible_cpus());
    V total{};
    if (bpf_map_lookup_elem(fd, &key, values.data()) != 0) return total;
    for (const auto &v : values)
        add(total, v);
    return total;
}

template <class V>
void percpu_zero(int fd, uint32_t key, const std::string &what) {
    std::vector<V> zeros(possible_cpus());
    std::memset(static_cast<void *>(zeros.data()), 0, zeros.size() * sizeof(V));
    if (bpf_map_update_elem(fd, &key, zeros.data(), BPF_ANY) != 0)
        throw Error(describe(what, errno), errno);
}

// Every key of a hash map (snapshot; entries may come and go meanwhile).
template <class K>
std::vector<K> map_keys(int fd, size_t limit = SIZE_MAX) {
    std::vector<K> keys;
    K key{}, next{};
    const void *prev = nullptr;
    while (keys.size() < limit && bpf_map_get_next_key(fd, prev, &next) == 0) {
        keys.push_back(next);
        key = next;
        prev = &key;
    }
    return keys;
}

}  // namespace dfaas::dp
