// Functions, services, peers and policies: what the agent writes.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "dfaas/dataplane/dataplane.h"
#include "maps.h"
#include "policy_compiler.h"

namespace dfaas::dp {

namespace {

dfaas_service_key service_key(Ipv4 addr, uint16_t port) {
    dfaas_service_key key{};
    key.addr = addr.network();
    key.port = htons(port);
    return key;
}

// Keeps DFAAS_FN_F_SERVED_LOCALLY of function `id` equal to "some local service names it": the
// data plane accepts forwarded-in connections only for such functions.
void refresh_served_locally(const Maps &maps, uint32_t id) {
    dfaas_function f{};
    if (id >= DFAAS_MAX_FUNCTIONS || !map_lookup(maps.functions, id, f) || !f.in_use) return;
    bool local = false;
    for (const auto &key : map_keys<dfaas_service_key>(maps.services)) {
        dfaas_service value{};
        if (map_lookup(maps.services, key, value) && value.function_id == id &&
            (value.flags & DFAAS_SVC_F_LOCAL)) {
            local = true;
            break;
        }
    }
    uint32_t flags =
        local ? (f.flags | DFAAS_FN_F_SERVED_LOCALLY) : (f.flags & ~DFAAS_FN_F_SERVED_LOCALLY);
    if (flags == f.flags) return;
    f.flags = flags;
    map_update(maps.functions, id, f, BPF_ANY, "update function flags");
}

// Forgets one (function, route) of dfaas_http_stats. The map is a hash whose entries the data
// plane creates at a route's first response: deleting (rather than writing zeros) both resets
// the counters and gives the entry back to the bounded map. Absent key or map: nothing to do.
void forget_http_route(const Maps &maps, uint32_t function_id, uint32_t path) {
    if (maps.http_stats < 0) return;
    uint32_t key = function_id * DFAAS_STAT_PATHS + path;
    bpf_map_delete_elem(maps.http_stats, &key);
}

}  // namespace

// ---- functions --------------------------------------------------------------------------------

const std::vector<std::string> &Dataplane::function_names(bool refresh) const {
    if (!refresh && !names_.empty()) return names_;
    names_.assign(DFAAS_MAX_FUNCTIONS, std::string());
    for (uint32_t id = 0; id < DFAAS_MAX_FUNCTIONS; ++id) {
        dfaas_function f{};
        if (map_lookup(maps_->functions, id, f) && f.in_use)
            names_[id].assign(f.name, strnlen(f.name, sizeof(f.name)));
    }
    return names_;
}

std::optional<uint32_t> Dataplane::cached_function_id(const std::string &name) const {
    for (bool refresh : {false, true}) {
        const auto &names = function_names(refresh);
        for (uint32_t id = 0; id < names.size(); ++id)
            if (!names[id].empty() && names[id] == name) return id;
    }
    return std::nullopt;
}

std::optional<uint32_t> Dataplane::function_id(const std::string &name) const {
    return cached_function_id(name);
}

std::vector<std::pair<uint32_t, std::string>> Dataplane::functions() const {
    std::vector<std::pair<uint32_t, std::string>> out;
    auto names = function_names();
    for (uint32_t id = 0; id < names.size(); ++id)
        if (!names[id].empty()) out.emplace_back(id, names[id]);
    return out;
}

uint32_t Dataplane::ensure_function(const std::string &name) {
    if (name.empty() || name.size() >= DFAAS_FUNCTION_NAME_LEN)
        throw Error("function name \"" + name + "\" must be 1.." +
                    std::to_string(DFAAS_FUNCTION_NAME_LEN - 1) + " characters");
    if (auto id = cached_function_id(name)) return *id;
    const auto &names = function_names(true);
    for (uint32_t id = 0; id < names.size(); ++id) {
        if (!names[id].empty()) continue;
        // A reused id must not inherit a removed function's counters or rate windows.
        zero_function_counters(id);
        dfaas_function f{};
        std::memcpy(f.name, name.data(), name.size());
        f.in_use = 1;
        map_update(maps_->functions, id, f, BPF_ANY, "register function " + name);
        names_[id] = name;
        return id;
    }
    throw Error("register function " + name + ": all " + std::to_string(DFAAS_MAX_FUNCTIONS) +
                " function slots are in use");
}

void Dataplane::zero_function_counters(uint32_t id) {
    for (uint32_t path = 0; path < DFAAS_STAT_PATHS; ++path) {
        percpu_zero<dfaas_path_stats>(maps_->stats, id * DFAAS_STAT_PATHS + path,
                                      "reset counters of a new function");
        forget_http_route(*maps_, id, path);
    }
    dfaas_rate zero_rate{};
    for (uint32_t peer = 0; peer < DFAAS_MAX_PEERS; ++peer) {
        uint32_t idx = id * DFAAS_MAX_PEERS + peer;
        percpu_zero<dfaas_fwd_in_stats>(maps_->fwd_in_stats, idx,
                                        "reset counters of a new function");
        map_update(maps_->rate_fwd_in, idx, zero_rate, BPF_ANY, "reset rate windows");
    }
    map_update(maps_->rate_local, id, zero_rate, BPF_ANY, "reset rate windows");
    dfaas_policy empty{};
    map_update(maps_->policies, id, empty, BPF_F_LOCK, "clear policy");
}

void Dataplane::remove_function(const std::string &name) {
    auto id = function_id(name);
    if (!id) throw Error("function " + name + " not found");
    for (const auto &svc : services())
        if (svc.function == name) delete_service(svc.addr, svc.port);
    clear_policy(name);
    dfaas_function f{};
    map_update(maps_->functions, *id, f, BPF_ANY, "remove function " + name);
    names_[*id].clear();
    // Its HTTP entries go back to the bounded map now (stats() no longer lists the function).
    for (uint32_t path = 0; path < DFAAS_STAT_PATHS; ++path)
        forget_http_route(*maps_, *id, path);
}

// ---- services ---------------------------------------------------------------------------------

void Dataplane::set_service(const Service &service) {
    if (service.addr.is_unspecified() || service.port == 0)
        throw Error("service needs an address and a port (got " + service.addr.str() + ":" +
                    std::to_string(service.port) + ")");
    dfaas_service value{}, previous{};
    value.function_id = ensure_function(service.function);
    value.flags = service.local ? DFAAS_SVC_F_LOCAL : 0;
    auto key = service_key(service.addr, service.port);
    bool replaced = map_lookup(maps_->services, key, previous);
    map_update(maps_->services, key, value, BPF_ANY,
               "write service " + service.addr.str() + ":" + std::to_string(service.port));
    refresh_served_locally(*maps_, value.function_id);
    if (replaced && previous.function_id != value.function_id)
        refresh_served_locally(*maps_, previous.function_id);
}

bool Dataplane::delete_service(Ipv4 addr, uint16_t port) {
    auto key = service_key(addr, port);
    dfaas_service previous{};
    bool existed = map_lookup(maps_->services, key, previous);
    bool deleted = bpf_map_delete_elem(maps_->services, &key) == 0;
    if (existed && deleted) refresh_served_locally(*maps_, previous.function_id);
    return deleted;
}

std::vector<Service> Dataplane::services() const {
    const auto &names = function_names(true);
    std::vector<Service> out;
    for (const auto &key : map_keys<dfaas_service_key>(maps_->services)) {
        dfaas_service value{};
        if (!map_lookup(maps_->services, key, value)) continue;
        Service s;
        s.addr = Ipv4::from_network(key.addr);
        s.port = ntohs(key.port);
        s.function = value.function_id < names.size() ? names[value.function_id] : "";
        s.local = value.flags & DFAAS_SVC_F_LOCAL;
        out.push_back(s);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// ---- peers ------------------------------------------------------------------------------------

const std::map<Ipv4, uint32_t> &Dataplane::peer_indexes(bool refresh) const {
    if (refresh || !peers_loaded_) {
        peer_index_.clear();
        for (uint32_t idx = 0; idx < DFAAS_MAX_PEERS; ++idx) {
            dfaas_peer_addr pa{};
            if (map_lookup(maps_->peer_addrs, idx, pa) && pa.addr)
                peer_index_[Ipv4::from_network(pa.addr)] = idx;
        }
        peers_loaded_ = true;
    }
    return peer_index_;
}

std::vector<Peer> Dataplane::peers() const {
    std::vector<Peer> out;
    for (uint32_t idx = 0; idx < DFAAS_MAX_PEERS; ++idx) {
        dfaas_peer_addr pa{};
        if (map_lookup(maps_->peer_addrs, idx, pa) && pa.addr)
            out.push_back(Peer{Ipv4::from_network(pa.addr), idx});
    }
    return out;
}

uint32_t Dataplane::add_peer(Ipv4 addr) {
    if (addr.is_unspecified()) throw Error("peer address 0.0.0.0 is not valid");
    uint32_t be = addr.network();
    dfaas_peer existing{};
    if (map_lookup(maps_->peers, be, existing)) return existing.index;
    for (uint32_t idx = 0; idx < DFAAS_MAX_PEERS; ++idx) {
        dfaas_peer_addr pa{};
        if (map_lookup(maps_->peer_addrs, idx, pa) && pa.addr) continue;
        zero_peer_counters(idx);
        // Address first: by the time forwarded-in traffic is accepted, replies can be routed.
        pa.addr = be;
        map_update(maps_->peer_addrs, idx, pa, BPF_ANY, "add peer " + addr.str());
        dfaas_peer peer{};
        peer.index = idx;
        map_update(maps_->peers, be, peer, BPF_ANY, "add peer " + addr.str());
        peers_loaded_ = false;
        return idx;
    }
    throw Error("add peer " + addr.str() + ": all " + std::to_string(DFAAS_MAX_PEERS) +
                " peer slots are in use");
}

void Dataplane::zero_peer_counters(uint32_t index) {
    percpu_zero<dfaas_peer_stats>(maps_->peer_stats, index, "reset counters of a new peer");
    for (uint32_t id = 0; id < DFAAS_MAX_FUNCTIONS; ++id) {
        percpu_zero<dfaas_path_stats>(maps_->stats,
                                      id * DFAAS_STAT_PATHS + DFAAS_STAT_PEER_BASE + index,
                                      "reset counters of a new peer");
        forget_http_route(*maps_, id, DFAAS_STAT_PEER_BASE + index);
        percpu_zero<dfaas_fwd_in_stats>(maps_->fwd_in_stats, id * DFAAS_MAX_PEERS + index,
                                        "reset counters of a new peer");
        dfaas_rate zero_rate{};
        map_update(maps_->rate_fwd_in, id * DFAAS_MAX_PEERS + index, zero_rate, BPF_ANY,
                   "reset rate windows");
    }
}

bool Dataplane::remove_peer(Ipv4 addr) {
    uint32_t be = addr.network();
    dfaas_peer peer{};
    if (!map_lookup(maps_->peers, be, peer)) return false;
    // Policies first: once the address is gone, a slot naming it could not be followed.
    for (const auto &[id, name] : functions()) {
        auto installed = policy(name);
        if (!installed) continue;
        FunctionPolicy p = installed->policy;
        bool named = p.peers.erase(addr) + p.overflow.erase(addr) + p.limit_in.erase(addr);
        if (!named) continue;
        // A policy that only weighted this peer would be empty: fall back to serving locally.
        if (p.validate()) p.local = kMaxWeight;
        write_policy(id, p);
    }
    bpf_map_delete_elem(maps_->peers, &be);
    // The routes to this peer are gone: their entries go back to the bounded map now, not when
    // the slot is reused.
    for (uint32_t id = 0; id < DFAAS_MAX_FUNCTIONS; ++id)
        forget_http_route(*maps_, id, DFAAS_STAT_PEER_BASE + peer.index);
    dfaas_peer_addr cleared{};
    map_update(maps_->peer_addrs, peer.index, cleared, BPF_ANY, "remove peer " + addr.str());
    peers_loaded_ = false;
    return true;
}

// ---- policies ---------------------------------------------------------------------------------

void Dataplane::write_policy(uint32_t id, const FunctionPolicy &policy) {
    // Every peer the policy names must be known; refresh the cache once if one is not.
    bool all_known = true;
    for (const auto *m : {&policy.peers, &policy.overflow, &policy.limit_in})
        for (const auto &[addr, v] : *m)
            all_known &= peer_indexes(false).count(addr) > 0;
    const auto &index = peer_indexes(!all_known);
    dfaas_policy value = compile_policy(policy, [&](Ipv4 a) -> std::optional<uint32_t> {
        auto it = index.find(a);
        if (it == index.end()) return std::nullopt;
        return it->second;
    });
    dfaas_policy old{};
    if (map_lookup(maps_->policies, id, old, BPF_F_LOCK)) value.version = old.version + 1;
    // BPF_F_LOCK: the kernel copies the value under the entry's spin lock, the same lock the
    // program holds while it reads; no packet can see half of each policy.
    map_update(maps_->policies, id, value, BPF_F_LOCK, "write policy");
}

void Dataplane::set_policy(const std::string &function, const FunctionPolicy &policy) {
    uint32_t id = ensure_function(function);
    try {
        write_policy(id, policy);
    } catch (const Error &e) {
        throw Error("policy for " + function + ": " + e.what(), e.error_number());
    }
}

std::optional<InstalledPolicy> Dataplane::policy(const std::string &function) const {
    auto id = function_id(function);
    if (!id) return std::nullopt;
    dfaas_policy value{};
    if (!map_lookup(maps_->policies, *id, value, BPF_F_LOCK)) return std::nullopt;
    if (!(value.flags & DFAAS_POL_F_INSTALLED)) return std::nullopt;
    std::map<uint32_t, Ipv4> addr_of;
    for (const auto &p : peers())
        addr_of[p.index] = p.addr;
    InstalledPolicy out;
    out.version = value.version;
    out.policy = decompile_policy(value, [&](uint32_t idx) {
        auto it = addr_of.find(idx);
        return it == addr_of.end() ? Ipv4{} : it->second;
    });
    return out;
}

void Dataplane::clear_policy(const std::string &function) {
    auto id = function_id(function);
    if (!id) throw Error("function " + function + " not found");
    dfaas_policy old{};
    map_lookup(maps_->policies, *id, old, BPF_F_LOCK);
    dfaas_policy empty{};
    empty.version = old.version + 1;
    map_update(maps_->policies, *id, empty, BPF_F_LOCK, "clear policy of " + function);
}

}  // namespace dfaas::dp
