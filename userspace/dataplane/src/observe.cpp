// Reading counters and conntrack; conntrack garbage collection.
#include <arpa/inet.h>
#include <cstring>
#include <time.h>

#include <unordered_map>

#include "dfaas/dataplane/dataplane.h"
#include "maps.h"

namespace dfaas::dp {

namespace {

PathCounters read_path(int fd, uint32_t function_id, uint32_t path) {
    auto v = percpu_sum<dfaas_path_stats>(fd, function_id * DFAAS_STAT_PATHS + path,
                                          [](dfaas_path_stats &t, const dfaas_path_stats &c) {
                                              t.connections += c.connections;
                                              t.packets += c.packets;
                                              t.bytes += c.bytes;
                                              t.requests += c.requests;
                                          });
    return PathCounters{v.connections, v.packets, v.bytes, v.requests};
}

// One (function, route) of dfaas_http_stats, summed over the CPUs. A missing key (the route has
// not answered yet, or was reset) and a pin set without the map (fd -1) read as zeros.
HttpCounters read_http(int fd, uint32_t function_id, uint32_t path) {
    HttpCounters out;
    if (fd < 0) return out;
    auto v = percpu_sum<dfaas_http_stats>(fd, function_id * DFAAS_STAT_PATHS + path,
                                          [](dfaas_http_stats &t, const dfaas_http_stats &c) {
                                              for (size_t i = 0; i < DFAAS_HTTP_BUCKETS; ++i)
                                                  t.buckets[i] += c.buckets[i];
                                              t.latency_sum_ns += c.latency_sum_ns;
                                              for (size_t i = 0; i < DFAAS_HTTP_CODES; ++i)
                                                  t.codes[i] += c.codes[i];
                                              t.untimed += c.untimed;
                                              t.opaque_connections += c.opaque_connections;
                                          });
    static_assert(DFAAS_HTTP_BUCKETS == kHttpBuckets && DFAAS_HTTP_CODES == kHttpCodes &&
                  DFAAS_HTTP_BUCKET_BASE_US == kHttpBucketBaseUs);
    for (size_t i = 0; i < kHttpBuckets; ++i)
        out.buckets[i] = v.buckets[i];
    out.latency_sum_ns = v.latency_sum_ns;
    for (size_t i = 0; i < kHttpCodes; ++i)
        out.codes[i] = v.codes[i];
    out.untimed = v.untimed;
    out.opaque_connections = v.opaque_connections;
    return out;
}

struct CtRecord {
    dfaas_ct_key key;
    dfaas_ct_entry entry;
};

std::vector<CtRecord> read_ct(int fd, size_t limit) {
    std::vector<CtRecord> out;
    for (const auto &key : map_keys<dfaas_ct_key>(fd, limit)) {
        CtRecord r{key, {}};
        if (map_lookup(fd, key, r.entry)) out.push_back(r);
    }
    return out;
}

}  // namespace

Stats Dataplane::stats() const {
    Stats st;
    std::map<uint32_t, Ipv4> addr_of;
    for (const auto &p : peers())
        addr_of[p.index] = p.addr;

    for (const auto &[id, name] : functions()) {
        FunctionStats f;
        f.name = name;
        f.id = id;
        f.local = read_path(maps_->stats, id, DFAAS_STAT_LOCAL);
        f.reject = read_path(maps_->stats, id, DFAAS_STAT_REJECT);
        f.forwarded_in = read_path(maps_->stats, id, DFAAS_STAT_FORWARDED_IN);
        f.forwarded_in_reject = read_path(maps_->stats, id, DFAAS_STAT_FORWARDED_IN_REJECT);
        // Lookups by computed key for known functions and peers only: bounded by the tables,
        // never by what the map holds.
        f.http_local = read_http(maps_->http_stats, id, DFAAS_STAT_LOCAL);
        f.http_forwarded_in = read_http(maps_->http_stats, id, DFAAS_STAT_FORWARDED_IN);
        for (const auto &[idx, addr] : addr_of) {
            f.to_peer[addr] = read_path(maps_->stats, id, DFAAS_STAT_PEER_BASE + idx);
            f.http_to_peer[addr] = read_http(maps_->http_stats, id, DFAAS_STAT_PEER_BASE + idx);
            auto in = percpu_sum<dfaas_fwd_in_stats>(
                maps_->fwd_in_stats, id * DFAAS_MAX_PEERS + idx,
                [](dfaas_fwd_in_stats &t, const dfaas_fwd_in_stats &c) {
                    t.accepted += c.accepted;
                    t.rejected += c.rejected;
                });
            f.forwarded_in_by_peer[addr] = ForwardedInCounters{in.accepted, in.rejected};
        }
        st.functions.push_back(std::move(f));
    }
    const auto &names = reason_names();
    for (uint32_t r = 0; r < DFAAS_R__COUNT; ++r) {
        auto v =
            percpu_sum<uint64_t>(maps_->reasons, r, [](uint64_t &t, const uint64_t &c) { t += c; });
        st.reasons.emplace_back(names[r], v);
    }
    st.peers = peer_counters();
    return st;
}

std::vector<PeerCounters> Dataplane::peer_counters() const {
    std::map<uint32_t, Ipv4> addr_of;  // by slot, as stats() has always listed them
    for (const auto &p : peers())
        addr_of[p.index] = p.addr;
    std::vector<PeerCounters> out;
    for (const auto &[idx, addr] : addr_of) {
        auto v = percpu_sum<dfaas_peer_stats>(maps_->peer_stats, idx,
                                              [](dfaas_peer_stats &t, const dfaas_peer_stats &c) {
                                                  t.syn_forwarded += c.syn_forwarded;
                                                  t.synack_returned += c.synack_returned;
                                                  t.rst_returned += c.rst_returned;
                                                  t.fwd_in_conns += c.fwd_in_conns;
                                              });
        out.push_back(PeerCounters{addr, idx, v.syn_forwarded, v.synack_returned, v.rst_returned,
                                   v.fwd_in_conns});
    }
    return out;
}

std::vector<CtEntry> Dataplane::conntrack(size_t limit) const {
    const auto &names = function_names(true);
    uint64_t now = monotonic_ns();
    std::vector<CtEntry> out;
    auto records = read_ct(maps_->ct, limit);
    if (records.size() < limit) {
        auto half_open = read_ct(maps_->ct_half_open, limit - records.size());
        records.insert(records.end(), half_open.begin(), half_open.end());
    }
    for (const auto &r : records) {
        CtEntry e;
        e.client = Ipv4::from_network(r.key.client_addr);
        e.client_port = ntohs(r.key.client_port);
        if (r.entry.path == DFAAS_PATH_LOCAL || r.entry.path == DFAAS_PATH_FORWARDED_IN)
            e.gateway_port = ntohs(r.entry.gateway_port);
        e.service = Ipv4::from_network(r.entry.service_addr);
        e.service_port = ntohs(r.entry.service_port);
        e.path = static_cast<CtPath>(r.entry.path);
        e.state = static_cast<TcpState>(r.entry.state);
        e.function = r.entry.function_id < names.size() ? names[r.entry.function_id] : "";
        e.peer = Ipv4::from_network(r.entry.peer_addr);
        e.age = Nanoseconds(now > r.entry.created_ns ? now - r.entry.created_ns : 0);
        e.idle = Nanoseconds(now > r.entry.last_seen_ns ? now - r.entry.last_seen_ns : 0);
        out.push_back(e);
    }
    return out;
}

GcResult Dataplane::collect_garbage() {
    Settings s = settings();
    uint64_t now = monotonic_ns();
    auto timeout_of = [&](const dfaas_ct_entry &e) -> uint64_t {
        if (e.path == DFAAS_PATH_REJECT) return s.ct_timeout_syn.count();
        switch (e.state) {
            case DFAAS_TCP_ESTABLISHED:
                return s.ct_timeout_established.count();
            case DFAAS_TCP_CLOSING:
            case DFAAS_TCP_CLOSED:
                return s.ct_timeout_closing.count();
            default:
                return s.ct_timeout_syn.count();
        }
    };
    GcResult result;
    // Both tables: half-open entries of handshakes that never completed expire with the SYN
    // timeout (the LRU would evict them anyway, but a quiet node keeps them otherwise).
    // Each table with its gateway-side index (bpf/lib/ct.h): an expired LOCAL or FORWARDED_IN
    // entry takes its index entry along, when that still names it (a new connection may have
    // taken the port over since).
    for (auto [fd, index_fd] : {std::pair{maps_->ct, maps_->ct_gw},
                                std::pair{maps_->ct_half_open, maps_->ct_gw_half_open}}) {
        std::vector<CtRecord> doomed;
        for (const auto &r : read_ct(fd, SIZE_MAX)) {
            ++result.scanned;
            uint64_t last = r.entry.last_seen_ns;
            if (now > last && now - last > timeout_of(r.entry))
                doomed.push_back(r);
            else
                ++result.live;
        }
        // Entries last seen before the scan began; one refreshed meanwhile may go too early,
        // and its connection then passes to the stack like any mid-flow miss (counted).
        // Deleting by key keeps the scan lock-free for the data plane.
        for (const auto &r : doomed) {
            if (bpf_map_delete_elem(fd, &r.key) != 0) continue;
            ++result.expired;
            if (r.entry.path != DFAAS_PATH_LOCAL && r.entry.path != DFAAS_PATH_FORWARDED_IN)
                continue;
            dfaas_ct_gw_key gw_key{r.key.client_addr, r.entry.gateway_port, 0};
            dfaas_ct_key named{};
            if (map_lookup(index_fd, gw_key, named) &&
                std::memcmp(&named, &r.key, sizeof(named)) == 0)
                bpf_map_delete_elem(index_fd, &gw_key);
        }
    }
    return result;
}

}  // namespace dfaas::dp
