// Peer sync (issue 15: its own file): the data plane's peer table and peer services follow the
// authenticated membership, forwarding follows what each peer admits, and a restart keeps the
// peers the data plane still holds until they speak.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent.h"
#include "conversions.h"

namespace dfaas::agent {

// The peer part of a control tick (mu_ held). Each piece runs on its own through `part`: one
// failing (a peer the data plane refuses) never stops the others.
void Agent::peer_tick(
    strategy::Instant now,
    const std::function<void(const char *, const std::function<void()> &)> &part) {
    part("failure detection", [&] { detect_failures(last_stats_->peers, now); });
    part("peer sync", [&] { sync_peers(now); });
    part("peer capacity", [&] { peers_over_capacity_ = peers_->over_capacity(now); });
    part("peer admission", [&] {
        // A peer's limits for this node opened or closed it: policies follow this tick.
        if (refresh_admissions(now)) install(overrides_.apply(strategy_policies_));
    });
    // After the admissions: a runner that admits nothing from this node is no target.
    part("remote-only functions", [&] { sync_remote_functions(now); });
    part("restored peers", [&] {
        // A peer kept from before a restart spoke: the strategy runs now, so the peer hears
        // this node's step messages (e.g. Recalc's limits, without which it admits nothing
        // from this node) before its own next step instead of a period later.
        // Likewise when a member sent its first limits since it (re)joined: this node's
        // policies still admit nothing from it (limit_in 0 until the strategy hears it).
        const bool replaced = peers_->take_provisional_replaced();
        const bool first_limits = peers_->take_first_limits();
        if (replaced || first_limits) request_recalc();
    });
}

peers::Heartbeat Agent::local_heartbeat() {
    std::lock_guard lock(mu_);
    peers::Heartbeat h;
    h.node_type = cfg_.node.type;
    h.thresholds =
        strategy::Thresholds{cfg_.strategy.nms.cpu, cfg_.strategy.nms.ram, cfg_.strategy.nms.power};
    h.strategy = std::string(to_string(strategy_kind_));
    h.period = cfg_.strategy.period;
    for (const auto &[name, kf] : functions_)
        h.functions.push_back(peers::FunctionPort{name, kf.port});
    // Functions only peers run, flagged: their runners need the port to serve what this node
    // forwards, and nobody must take this node for a runner. A port a local function took since
    // the last tick is left out (ports are unique in a heartbeat); the next tick refuses it.
    std::set<uint16_t> local_ports;
    for (const auto &[name, kf] : functions_)
        local_ports.insert(kf.port);
    for (const auto &[name, kf] : remote_functions_)
        if (!local_ports.count(kf.port))
            h.functions.push_back(peers::FunctionPort{name, kf.port, true});
    std::sort(h.functions.begin(), h.functions.end(),
              [](const auto &a, const auto &b) { return a.name < b.name; });
    return h;
}

// The data plane's peer table follows the authenticated membership only (the members holding a
// slot: the membership keeps the others over capacity), and so do the services that let
// forwarded-in connections reach our gateway: (member address, its port) -> function. Every
// data-plane call is tried on its own: a peer or service the data plane refuses is logged and
// counted, and the others are still synced.
void Agent::sync_peers(strategy::Instant now) {
    std::vector<dp::Service> services = dp_->services();
    const auto plan =
        plan_peer_sync(peers_->authorized(now), services, cfg_.node.ip,
                       [this](const std::string &name) { return functions_.count(name) > 0; });
    const std::set<Ipv4> &wanted = plan.peers;
    std::set<std::string> refused(plan.refused.begin(), plan.refused.end());
    peer_services_refused_ = refused.size();
    if (refused != refused_peer_services_) {
        for (const auto &entry : refused)
            if (!refused_peer_services_.count(entry)) spdlog::warn("peer entry refused: {}", entry);
        refused_peer_services_ = std::move(refused);
    }
    for (const auto &p : dp_->peers()) {
        if (wanted.count(p.addr)) continue;
        try {
            dp_->remove_peer(p.addr);  // rewrites the policies that name it
            spdlog::info("peer {} removed from the data plane", p.addr.str());
        } catch (const std::exception &e) {
            ++peer_sync_failures_;
            spdlog::warn("remove peer {} from the data plane: {}", p.addr.str(), e.what());
            continue;
        }
        for (auto &[name, policy] : installed_)
            for (auto *m : {&policy.peers, &policy.overflow, &policy.limit_in})
                m->erase(p.addr);
        failure_detector_.reset(p.addr);
        unreachable_.erase(p.addr);
    }
    std::set<Ipv4> present;
    for (const auto &p : dp_->peers())
        present.insert(p.addr);
    bool joined = false;
    std::set<Ipv4> refused_peers;
    for (const auto &addr : wanted) {
        if (present.count(addr)) continue;
        try {
            dp_->add_peer(addr);
            joined = true;
        } catch (const std::exception &e) {
            // Should not happen (the membership hands out at most DFAAS_MAX_PEERS slots), but a
            // slot still held by a departing peer must not end the agent: retried next tick.
            ++peer_sync_failures_;
            refused_peers.insert(addr);
            if (!refused_peers_.count(addr))
                spdlog::warn("peer {} not added to the data plane: {}", addr.str(), e.what());
        }
    }
    refused_peers_ = std::move(refused_peers);
    for (const auto &svc : services) {
        if (svc.local || plan.services.count({svc.addr, svc.port})) continue;
        try {
            dp_->delete_service(svc.addr, svc.port);
        } catch (const std::exception &e) {
            ++peer_sync_failures_;
            spdlog::warn("delete peer service {}:{}: {}", svc.addr.str(), svc.port, e.what());
        }
    }
    std::map<std::pair<Ipv4, uint16_t>, std::string> existing;
    for (const auto &svc : services)
        if (!svc.local) existing[{svc.addr, svc.port}] = svc.function;
    for (const auto &[key, function] : plan.services) {
        if (!present.count(key.first) && refused_peers_.count(key.first)) continue;
        auto it = existing.find(key);
        if (it != existing.end() && it->second == function) continue;
        try {
            dp_->set_service(dp::Service{key.first, key.second, function, false});
        } catch (const std::exception &e) {
            ++peer_sync_failures_;
            spdlog::debug("peer service {}:{} ({}): {}", key.first.str(), key.second, function,
                          e.what());
        }
    }
    // A peer (re)joined: policies that name it (an override, the last decision) apply in full
    // again now, not at the next period.
    if (joined) {
        install(overrides_.apply(strategy_policies_));
        // And the strategy runs now: the peer hears this node's step messages (Recalc's limits,
        // without which it admits nothing from this node) at once, not at this node's next step.
        request_recalc();
    }
}

bool Agent::refresh_admissions(strategy::Instant now) {
    PeerAdmissions next = plan_peer_admissions(peers_->authorized(now), peers_->table(now), now);
    if (next == admissions_) return false;
    // One line per kind of change (40 members joining at once make one line, not 40).
    std::vector<std::string> waiting, admitting;
    for (const auto &[address, admission] : next) {
        auto before = admissions_.find(address);
        if (before != admissions_.end() && before->second == admission) continue;
        (admission == PeerAdmission::none() ? waiting : admitting).push_back(address.str());
    }
    auto listed = [](const std::vector<std::string> &addresses) {
        std::string text;
        for (size_t i = 0; i < addresses.size() && i < 5; ++i)
            text += (i ? ", " : "") + addresses[i];
        return addresses.size() > 5 ? text + ", ..." : text;
    };
    if (!waiting.empty())
        spdlog::info(
            "{} peer(s) sent no Recalc limits for this node since they (re)joined: nothing is "
            "forwarded to them until they do: {}",
            waiting.size(), listed(waiting));
    if (!admitting.empty())
        spdlog::info("{} peer(s): forwarding follows the limits they sent for this node: {}",
                     admitting.size(), listed(admitting));
    admissions_ = std::move(next);
    return true;
}

void Agent::admit_promised_limits(const std::vector<strategy::OutgoingMessage> &messages) {
    const bool raised =
        raise_promised_limits(strategy_policies_, messages,
                              [this](const std::string &id) { return peers_->address_of(id); });
    if (raised) install(overrides_.apply(strategy_policies_));
}

// A restart: the new process has heard from no peer yet, and sync_peers() would remove every
// pinned peer (and its weights in every policy) at the first tick. The peers the data plane
// holds stay as provisional members for one TTL; the real member replaces each when it speaks.
// Their functions come from the services the data plane holds for them (member address, its
// port -> function); their peer port is the seed's of the same address, else this node's.
void Agent::seed_peers_from_dataplane() {
    std::vector<dp::Peer> pinned;
    std::vector<dp::Service> services;
    try {
        pinned = dp_->peers();
        services = dp_->services();
    } catch (const std::exception &e) {
        spdlog::warn("restart: cannot read the pinned peers: {}", e.what());
        return;
    }
    auto now = wall_instant(clock_->system_now());
    for (const auto &peer : pinned) {
        std::vector<peers::FunctionPort> functions;
        for (const auto &svc : services)
            if (!svc.local && svc.addr == peer.addr)
                functions.push_back(peers::FunctionPort{svc.function, svc.port});
        std::sort(functions.begin(), functions.end(),
                  [](const auto &a, const auto &b) { return a.name < b.name; });
        Endpoint endpoint{peer.addr, cfg_.peers.listen_port};
        for (const auto &seed : cfg_.peers.seeds)
            if (seed.addr == peer.addr) endpoint = seed;
        if (peers_->seed(endpoint, functions, now))
            spdlog::info("peer {} kept from before the restart ({} function(s)) until it speaks",
                         peer.addr.str(), functions.size());
        else
            spdlog::warn("peer {} in the data plane could not be kept as a member",
                         peer.addr.str());
    }
}

// ---- functions only peers run (issue 19) ----------------------------------------------------

namespace {

// Why a function a peer runs gets no port here (the label of dfaas_remote_functions_refused).
constexpr const char *kRemoteRefusedLimit = "limit";  // kMaxRemoteOnlyFunctions reached
constexpr const char *kRemoteRefusedCapacity = "dataplane_capacity";   // function table full
constexpr const char *kRemoteRefusedPortConflict = "port_conflict";    // a local or reserved port
constexpr const char *kRemoteRefusedPortRange = "port_outside_range";  // not a function port
constexpr const char *kRemoteRefusedDataplaneError = "dataplane_error";

}  // namespace

void Agent::sync_remote_functions(strategy::Instant now) {
    auto members = peers_->authorized(now);
    std::sort(members.begin(), members.end(),
              [](const auto &a, const auto &b) { return a.id < b.id; });
    const auto reserved = reserved_ports(cfg_);
    std::map<uint16_t, std::string> taken;  // port -> function
    for (const auto &[name, kf] : functions_)
        taken[kf.port] = name;
    std::map<std::string, KnownFunction> wanted;
    std::map<std::string, std::string> refused;
    auto refuse = [&](const std::string &name, const char *reason) {
        // Bounded like the functions themselves: a member may list 4096 functions.
        if (refused.size() < kMaxRemoteOnlyFunctions) refused.emplace(name, reason);
    };
    for (const auto &member : members) {
        // A provisional member (kept from before a restart) lists the peer services of functions
        // this node serves: nothing to learn from it.
        if (member.provisional) continue;
        for (const auto &fp : member.functions) {
            if (fp.remote_only || functions_.count(fp.name) || refused.count(fp.name)) continue;
            if (auto it = wanted.find(fp.name); it != wanted.end()) {
                it->second.runners.push_back(member.id);  // ids come sorted
                continue;
            }
            // The port of the first runner by id: the federation's ports agree unless a
            // dfaas.port pins another one somewhere; any runner serves what comes on it, since
            // this node announces the port it chose.
            if (wanted.size() >= kMaxRemoteOnlyFunctions) {
                refuse(fp.name, kRemoteRefusedLimit);
            } else if (!cfg_.dataplane.function_ports.contains(fp.port)) {
                // A peer never opens a port of this node outside the function ports (22, ...).
                refuse(fp.name, kRemoteRefusedPortRange);
            } else if (reserved.count(fp.port) || taken.count(fp.port)) {
                refuse(fp.name, kRemoteRefusedPortConflict);
            } else {
                taken[fp.port] = fp.name;
                KnownFunction kf;
                kf.info.name = fp.name;
                kf.port = fp.port;
                kf.remote_only = true;
                kf.runners = {member.id};
                wanted.emplace(fp.name, std::move(kf));
            }
        }
    }

    // Gone (no member reports it, or it moved to another port): service, policy, function id.
    for (const auto &[name, kf] : remote_functions_) {
        auto it = wanted.find(name);
        if (it != wanted.end() && it->second.port == kf.port) continue;
        remove_remote_function(name, kf.port);
        if (it == wanted.end())
            spdlog::info("function {} removed: no peer reports it any more", name);
    }

    std::set<std::string> registered;
    for (const auto &[id, name] : dp_->functions())
        registered.insert(name);
    size_t used = registered.size();
    std::map<std::string, KnownFunction> kept;
    for (auto &[name, kf] : wanted) {
        const bool is_new = !remote_functions_.count(name) ||
                            remote_functions_.at(name).port != kf.port || !installed_.count(name);
        if (is_new) {
            if (!registered.count(name)) {
                if (used >= DFAAS_MAX_FUNCTIONS) {
                    refuse(name, kRemoteRefusedCapacity);
                    continue;
                }
                ++used;
            }
            // Known from now on, so that install() treats it as remote-only.
            remote_functions_[name] = kf;
            // Policy first, then the service: a port never exists without a policy behind it.
            PolicySet first;
            first[name] = strategy_policies_.count(name) ? strategy_policies_.at(name)
                                                         : remote_fallback_policy(kf);
            install(overrides_.apply(first));
            bool served = installed_.count(name) > 0;
            if (served) {
                try {
                    dp_->set_service(dp::Service{cfg_.node.ip, kf.port, name, true});
                } catch (const std::exception &e) {
                    spdlog::debug("remote-only function {} on port {}: {}", name, kf.port,
                                  e.what());
                    served = false;
                }
            }
            if (!served) {
                remove_remote_function(name, kf.port);
                remote_functions_.erase(name);
                refuse(name, kRemoteRefusedDataplaneError);
                continue;
            }
            std::string runners;
            for (const auto &id : kf.runners)
                runners += (runners.empty() ? "" : ", ") + id;
            spdlog::info("function {} runs only on peers ({}): port {} here, forwarded to them",
                         name, runners, kf.port);
        }
        kept.emplace(name, std::move(kf));
    }
    remote_functions_ = std::move(kept);
    // Runners come and go: a function the strategy gave no policy follows its runners.
    PolicySet fallback;
    for (const auto &[name, kf] : remote_functions_)
        if (!strategy_policies_.count(name)) fallback[name] = remote_fallback_policy(kf);
    if (!fallback.empty()) install(overrides_.apply(fallback));
    note_refused_remote_functions(std::move(refused));
}

FunctionPolicy Agent::remote_fallback_policy(const KnownFunction &function) const {
    FunctionPolicy policy;
    policy.local = 0;
    if (function.runners.empty()) {
        policy.reject = kMaxWeight;
        return policy;
    }
    const auto weight = std::max<uint32_t>(
        1, kMaxWeight / static_cast<uint32_t>(std::min<size_t>(function.runners.size(), 100)));
    for (const auto &id : function.runners)
        if (auto address = peers_->address_of(id)) policy.peers[*address] = weight;
    if (policy.peers.empty()) policy.reject = kMaxWeight;
    return policy;
}

void Agent::remove_remote_function(const std::string &name, uint16_t port) {
    // Each call on its own: what fails is logged and counted, and retried at the next tick
    // (the function is no longer in remote_functions_, but sync_services removes a function id
    // nothing names).
    try {
        for (const auto &svc : dp_->services())
            if (svc.local && svc.addr == cfg_.node.ip && svc.port == port && svc.function == name)
                dp_->delete_service(svc.addr, svc.port);
    } catch (const std::exception &e) {
        ++peer_sync_failures_;
        spdlog::warn("remote-only function {}: delete service port {}: {}", name, port, e.what());
    }
    strategy_policies_.erase(name);
    if (functions_.count(name)) return;  // a local function took the name: its entries stay
    try {
        dp_->remove_function(name);
        installed_.erase(name);
    } catch (const std::exception &e) {
        ++peer_sync_failures_;
        spdlog::warn("remote-only function {}: remove from the data plane: {}", name, e.what());
    }
}

void Agent::note_refused_remote_functions(std::map<std::string, std::string> refused) {
    if (refused == remote_refused_) return;
    // One line per change of the refused set, by reason, naming the first few.
    std::map<std::string, std::vector<std::string>> by_reason;
    for (const auto &[name, reason] : refused)
        if (!remote_refused_.count(name) || remote_refused_.at(name) != reason)
            by_reason[reason].push_back(name);
    for (const auto &[reason, names] : by_reason) {
        std::string listed;
        for (size_t i = 0; i < names.size() && i < 5; ++i)
            listed += (i ? ", " : "") + names[i];
        if (names.size() > 5) listed += ", ...";
        spdlog::warn(
            "{} function(s) peers run get no port on this node: {} (at most {} such functions, "
            "ports {}-{}): {}",
            names.size(), reason, kMaxRemoteOnlyFunctions, cfg_.dataplane.function_ports.first,
            cfg_.dataplane.function_ports.last, listed);
    }
    remote_refused_ = std::move(refused);
}

}  // namespace dfaas::agent
