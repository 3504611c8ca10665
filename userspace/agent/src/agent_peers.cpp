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
    part("failure detection", [&] { detect_failures(*last_stats_, now); });
    part("peer sync", [&] { sync_peers(now); });
    part("peer capacity", [&] { peers_over_capacity_ = peers_->over_capacity(now); });
    part("peer admission", [&] {
        // A peer's limits for this node opened or closed it: policies follow this tick.
        if (refresh_admissions(now)) install(overrides_.apply(strategy_policies_));
    });
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

}  // namespace dfaas::agent
