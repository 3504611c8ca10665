#include "peer_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "dfaas/abi.h"

namespace dfaas::agent {

namespace {

// How long a dead member stays listed (state dead) after it was last seen.
constexpr strategy::Millis kDepartedKept{10 * 60 * 1000};

using Clock = std::chrono::system_clock;

strategy::Instant wall_now() {
    return std::chrono::time_point_cast<strategy::Millis>(Clock::now());
}

peers::Keyring load_keys(const Config &cfg) {
    if (cfg.peers.cluster_key_file.empty())
        throw std::runtime_error("peers.cluster_key_file is not set");
    auto secret = read_secret_file(cfg.peers.cluster_key_file);
    if (!secret) throw std::runtime_error("peers.cluster_key_file: " + secret.error());
    return peers::Keyring{peers::ClusterKey(*secret), {}};
}

// Heartbeats every P/4 (a quarter of a TTL of 1.2·P fits four), never faster than the control
// tick; the send deadline stays below it so batches never overlap (messages of one sender then
// arrive in order).
strategy::Millis heartbeat_interval(const Config &cfg) {
    return std::max<strategy::Millis>(cfg.peers.control_tick, cfg.strategy.period / 4);
}

}  // namespace

PeerSyncPlan plan_peer_sync(const std::vector<PeerView> &members,
                            const std::vector<dp::Service> &current, Ipv4 node_ip,
                            const std::function<bool(const std::string &)> &serves) {
    std::set<Ipv4> local_addresses{node_ip};
    std::set<std::pair<Ipv4, uint16_t>> local_services;
    for (const auto &svc : current)
        if (svc.local) {
            local_services.emplace(svc.addr, svc.port);
            local_addresses.insert(svc.addr);
        }
    PeerSyncPlan plan;
    for (const auto &m : members) {
        // The membership refuses such addresses already; the data plane must never get one even
        // if that check were bypassed: a member never stands for this node.
        if (local_addresses.count(m.address)) {
            plan.refused.push_back("member " + m.id + " at " + m.address.str() +
                                   ": an address of this node");
            continue;
        }
        if (auto why = peers::unusable_peer_address(m.address)) {
            plan.refused.push_back("member " + m.id + " at " + m.address.str() + ": " +
                                   std::string(*why));
            continue;
        }
        plan.peers.insert(m.address);
        for (const auto &fp : m.functions) {
            if (!serves(fp.name)) continue;
            std::pair key{m.address, fp.port};
            // A peer's message never overwrites a local service entry.
            if (local_services.count(key)) {
                plan.refused.push_back("service " + m.address.str() + ":" +
                                       std::to_string(fp.port) + " of " + m.id +
                                       ": a local service of this node");
                continue;
            }
            plan.services[key] = fp.name;
        }
    }
    return plan;
}

PeerAdmission PeerAdmission::announced(const std::map<std::string, double> &limits) {
    std::set<std::string> refused;
    for (const auto &[function, limit] : limits)
        if (!(limit > 0.0)) refused.insert(function);
    return PeerAdmission(Kind::Announced, std::move(refused));
}

bool PeerAdmission::admits(const std::string &function) const {
    switch (kind_) {
        case Kind::EveryFunction:
            return true;
        case Kind::None:
            return false;
        case Kind::Announced:
            break;
    }
    return refused_.count(function) == 0;
}

PeerAdmissions plan_peer_admissions(const std::vector<PeerView> &members,
                                    const strategy::PeerTable &table, strategy::Instant now) {
    const std::string recalc(to_string(StrategyKind::Recalc));
    PeerAdmissions admissions;
    for (const auto &member : members) {
        if (member.provisional || member.strategy != recalc) {
            admissions.insert_or_assign(member.address, PeerAdmission::every_function());
            continue;
        }
        // Only limits it sent since it (re)joined count: limits from before it died (its agent
        // restarted, it was partitioned) describe a limit_in it no longer enforces.
        const strategy::PeerEntry *entry = table.find(member.id);
        const auto *limits =
            entry != nullptr ? table.fresh(*entry, entry->recalc_limit_out, now) : nullptr;
        if (limits == nullptr || entry->recalc_limit_out->at < member.joined)
            admissions.insert_or_assign(member.address, PeerAdmission::none());
        else
            admissions.insert_or_assign(member.address, PeerAdmission::announced(*limits));
    }
    return admissions;
}

bool drop_refusing_peers(const std::string &function, FunctionPolicy &policy,
                         const PeerAdmissions &admissions) {
    bool dropped = false;
    for (auto *targets : {&policy.peers, &policy.overflow})
        dropped |= std::erase_if(*targets, [&](const auto &target) {
                       auto admission = admissions.find(target.first);
                       return admission == admissions.end() || !admission->second.admits(function);
                   }) > 0;
    return dropped;
}

bool raise_promised_limits(
    PolicySet &policies, const std::vector<strategy::OutgoingMessage> &messages,
    const std::function<std::optional<Ipv4>(const std::string &)> &address_of) {
    bool raised = false;
    for (const auto &message : messages) {
        const auto *limits = std::get_if<strategy::RecalcLimits>(&message.body);
        if (limits == nullptr || !message.to) continue;
        const auto address = address_of(*message.to);
        if (!address) continue;
        for (const auto &[function, promised] : limits->limits) {
            auto policy = policies.find(function);
            if (policy == policies.end()) continue;
            auto current = policy->second.limit_in.find(*address);
            if (current == policy->second.limit_in.end()) continue;  // the default admits it
            // As Recalc's own conversion (uint()): truncated, and within the data plane's range.
            const auto limit = static_cast<uint32_t>(std::min(promised, double{UINT32_MAX}));
            if (limit <= current->second) continue;
            current->second = limit;
            raised = true;
        }
    }
    return raised;
}

PeerLink::PeerLink(const Config &cfg, const std::string &node_id, strategy::Millis ttl,
                   LocalHeartbeat local)
    : node_id_(node_id),
      heartbeat_every_(heartbeat_interval(cfg)),
      local_(std::move(local)),
      keys_(load_keys(cfg)),
      membership_(peers::MembershipSettings{
          node_id, Endpoint{cfg.node.ip, cfg.peers.listen_port}, cfg.peers.seeds, ttl,
          cfg.peers.control_tick, std::chrono::seconds(30), strategy::Millis{0},
          // A heartbeat already in flight must not undo a fresh data-plane verdict.
          2 * cfg.peers.control_tick, peers::MembershipSettings{}.max_members,
          peers::MembershipSettings{}.max_candidates,
          // Members beyond the data plane's peer slots are kept over capacity, not installed.
          size_t{DFAAS_MAX_PEERS}}),
      outbox_(peers::Identity{node_id, Endpoint{cfg.node.ip, cfg.peers.listen_port}}, keys_,
              peers::Outbox::initial_seq(wall_now())),
      client_(peers::ClientSettings{
          std::min<strategy::Millis>(std::chrono::seconds(1), heartbeat_interval(cfg))}) {
    receiver_ = std::make_unique<peers::Receiver>(
        peers::ReceiverSettings{node_id, cfg.peers.replay_window}, keys_,
        [this](const peers::Envelope &message, strategy::Instant now, std::optional<Ipv4> source) {
            std::lock_guard lock(mu_);  // server threads call this
            const size_t provisional = membership_.provisional().size();
            const bool had_limits = has_recalc_limits_locked(message.sender_id);
            auto admission = membership_.receive(message, now, source);
            // A peer's first Recalc limits since it (re)joined: until the strategy runs again it
            // holds limit_in 0 for that peer (the reference's rule for peers not heard yet), and
            // refuses what the peer forwards. Recalculate now instead of at the next step.
            if (!had_limits && has_recalc_limits_locked(message.sender_id)) first_limits_ = true;
            if (membership_.provisional().size() < provisional) {
                provisional_replaced_ = true;
                spdlog::info(
                    "peer {} ({}) spoke: it replaces the member kept from before the restart",
                    message.sender_id, message.sender_ip.str());
            }
            note_capacity_locked(now);
            return admission;
        });
    // One log line per (reason, sender) per minute: a misconfigured node must not flood the log.
    receiver_->set_reject_observer([this, last = std::map<std::string, strategy::Instant>{}](
                                       const peers::Rejection &r, std::string_view remote) mutable {
        std::string key = std::string(peers::to_string(r.reason)) + "|" + std::string(remote);
        auto now = wall_now();
        auto it = last.find(key);
        if (it != last.end() && now - it->second < std::chrono::minutes(1)) return;
        last[key] = now;
        spdlog::warn("peer message from {} rejected: {} ({})", remote, peers::to_string(r.reason),
                     r.detail);
    });
    server_ = std::make_unique<peers::PeerServer>(
        *receiver_,
        peers::ServerSettings{.address = Ipv4{0},
                              .port = cfg.peers.listen_port,
                              .read_timeout = cfg.peers.read_timeout,
                              .request_deadline = cfg.peers.request_deadline,
                              .max_connections_per_source = cfg.peers.max_connections_per_source,
                              .max_connections = cfg.peers.max_connections});
}

PeerLink::~PeerLink() {
    stop();
}

void PeerLink::start() {
    server_->start();
    heartbeat_thread_ = std::thread([this] { heartbeat_loop(); });
    spdlog::info("peer protocol on port {} (heartbeat every {} ms, {} seed(s))",
                 membership_.settings().self.port, heartbeat_every_.count(),
                 membership_.settings().seeds.size());
}

void PeerLink::stop() {
    {
        std::lock_guard lock(wake_mu_);
        stopping_ = true;
        wake_.notify_all();
    }
    if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
    if (server_) server_->stop();
}

void PeerLink::heartbeat_loop() {
    while (true) {
        try {
            heartbeat_round();
        } catch (const std::exception &e) {
            // A round that fails costs one heartbeat, never the thread (an exception leaving it
            // would end the agent); the next round is a fresh attempt.
            spdlog::error("heartbeat round: {}", e.what());
        }
        std::unique_lock lock(wake_mu_);
        if (wake_.wait_for(lock, heartbeat_every_, [this] { return stopping_; })) return;
    }
}

void PeerLink::heartbeat_round() {
    peers::Heartbeat local = local_();  // the agent's lock, not ours
    auto now = wall_now();
    peers::Batch batch;
    {
        std::lock_guard lock(mu_);
        std::set<std::string> names;
        for (const auto &function : local.functions)
            names.insert(function.name);
        membership_.set_local_functions(std::move(names), now);
        note_capacity_locked(now);
        batch = outbox_.heartbeat(local, membership_, now);
    }
    for (const auto &e : batch.errors)
        spdlog::debug("heartbeat not sent: {}", e);
    auto results = client_.send(batch.deliveries);
    std::lock_guard lock(mu_);
    now = wall_now();
    membership_.record_deliveries(results, now);
    expire_locked(now);
    ++heartbeats_;
}

void PeerLink::expire_locked(strategy::Instant now) {
    std::map<std::string, PeerView> dying;
    for (const auto &[id, m] : membership_.members())
        if (membership_.state(m, now) == peers::MemberState::Dead) dying[id] = view_of(m, now);
    for (const auto &id : membership_.expire(now)) {
        spdlog::info("peer {} left (TTL)", id);
        if (auto it = dying.find(id); it != dying.end()) departed_[id] = it->second;
    }
    note_capacity_locked(now);
    std::erase_if(departed_, [&](const auto &item) {
        return membership_.find(item.first) != nullptr ||
               now > item.second.last_seen + kDepartedKept;
    });
}

void PeerLink::note_capacity_locked(strategy::Instant now) {
    auto over = membership_.over_capacity(now);
    std::set<std::string> current(over.begin(), over.end());
    if (current == over_capacity_) return;
    // One line per change of the set, naming who lost or gained a slot.
    std::vector<std::string> waiting, admitted;
    for (const auto &id : current)
        if (!over_capacity_.count(id)) waiting.push_back(id);
    for (const auto &id : over_capacity_)
        if (!current.count(id) && membership_.find(id)) admitted.push_back(id);
    auto listed = [](const char *label, const std::vector<std::string> &ids) {
        std::string text;
        for (const auto &id : ids)
            text += (text.empty() ? std::string("; ") + label + ": " : std::string(", ")) + id;
        return text;
    };
    if (!waiting.empty() || !admitted.empty())
        spdlog::warn(
            "peer slots: {} member(s) over capacity (the data plane has {} peer slots){}{}",
            current.size(), membership_.settings().max_active, listed("now waiting", waiting),
            listed("now installed", admitted));
    over_capacity_ = std::move(current);
}

size_t PeerLink::over_capacity(strategy::Instant now) {
    std::lock_guard lock(mu_);
    return membership_.over_capacity(now).size();
}

strategy::PeerTable PeerLink::table(strategy::Instant now) {
    std::lock_guard lock(mu_);
    expire_locked(now);
    return membership_.table();
}

void PeerLink::send(const std::vector<strategy::OutgoingMessage> &messages, strategy::Instant now) {
    if (messages.empty()) return;
    peers::Batch batch;
    {
        std::lock_guard lock(mu_);
        batch = outbox_.messages(messages, membership_, now);
    }
    for (const auto &e : batch.errors)
        spdlog::debug("peer message not sent: {}", e);
    auto results = client_.send(batch.deliveries);
    std::vector<std::string> errors = batch.errors;
    for (const auto &r : results)
        if (r.status != peers::SendStatus::Ok)
            errors.push_back(r.type + " to " + r.target.endpoint.str() + ": " + r.reason);
    std::lock_guard lock(mu_);
    membership_.record_deliveries(results, wall_now());
    last_send_errors_ = errors;
}

PeerView PeerLink::view_of(const peers::Member &m, strategy::Instant now) const {
    PeerView v;
    v.id = m.id;
    v.address = m.endpoint.addr;
    v.peer_port = m.endpoint.port;
    v.state = membership_.state(m, now);
    v.last_seen = m.last_seen;
    v.joined = m.joined;
    v.messages = m.messages;
    v.functions = m.heartbeat.functions;
    v.strategy = m.heartbeat.strategy;
    v.node_type = m.heartbeat.node_type;
    v.provisional = membership_.provisional().count(m.id) != 0;
    if (const auto *entry = membership_.table().find(m.id)) {
        if (entry->recalc_limit_out) v.recalc_limit_out = entry->recalc_limit_out->value;
        if (entry->nms_margin) v.nms_margin = entry->nms_margin->value.margin;
    }
    return v;
}

std::vector<PeerView> PeerLink::authorized(strategy::Instant now) {
    std::lock_guard lock(mu_);
    expire_locked(now);  // a dead member's slot goes to a waiting one before the data plane syncs
    std::vector<PeerView> out;
    for (const auto *m : membership_.authorized(now))
        out.push_back(view_of(*m, now));
    return out;
}

std::vector<PeerView> PeerLink::members(strategy::Instant now) {
    std::lock_guard lock(mu_);
    std::vector<PeerView> out;
    for (const auto &[id, m] : membership_.members())
        out.push_back(view_of(m, now));
    for (const auto &[id, v] : departed_)
        if (membership_.find(id) == nullptr) out.push_back(v);
    for (const auto &[id, m] : membership_.provisional())
        out.push_back(view_of(m, now));  // kept from before a restart, until it speaks
    return out;
}

std::vector<peers::Candidate> PeerLink::candidates() {
    std::lock_guard lock(mu_);
    std::vector<peers::Candidate> out;
    for (const auto &[endpoint, c] : membership_.candidates())
        out.push_back(c);
    return out;
}

std::optional<std::string> PeerLink::mark_unreachable(Ipv4 address, strategy::Instant now) {
    std::lock_guard lock(mu_);
    for (const auto &[id, m] : membership_.members()) {
        if (m.endpoint.addr != address) continue;
        if (!membership_.mark_unreachable(id, now)) return std::nullopt;
        flagged_.insert(id);
        return id;
    }
    return std::nullopt;
}

std::vector<Ipv4> PeerLink::take_recovered(strategy::Instant now) {
    std::lock_guard lock(mu_);
    std::vector<Ipv4> back;
    for (auto it = flagged_.begin(); it != flagged_.end();) {
        const auto *m = membership_.find(*it);
        if (!m) {
            it = flagged_.erase(it);  // left altogether
        } else if (membership_.state(*m, now) == peers::MemberState::Alive) {
            back.push_back(m->endpoint.addr);
            it = flagged_.erase(it);
        } else {
            ++it;
        }
    }
    return back;
}

std::optional<Ipv4> PeerLink::address_of(const std::string &id) {
    std::lock_guard lock(mu_);
    const auto *m = membership_.find(id);
    if (!m) return std::nullopt;
    return m->endpoint.addr;
}

PeerLinkStats PeerLink::stats() {
    PeerLinkStats s;
    s.received = receiver_->counters();
    s.sent = client_.counters();
    std::lock_guard lock(mu_);
    s.heartbeats = heartbeats_;
    s.last_send_errors = last_send_errors_;
    return s;
}

bool PeerLink::take_provisional_replaced() {
    std::lock_guard lock(mu_);
    return std::exchange(provisional_replaced_, false);
}

bool PeerLink::take_first_limits() {
    std::lock_guard lock(mu_);
    return std::exchange(first_limits_, false);
}

bool PeerLink::has_recalc_limits_locked(std::string_view id) const {
    const strategy::PeerEntry *entry = membership_.table().find(id);
    return entry != nullptr && entry->recalc_limit_out.has_value();
}

bool PeerLink::seed(const Endpoint &endpoint, const std::vector<peers::FunctionPort> &functions,
                    strategy::Instant now) {
    std::lock_guard lock(mu_);
    return membership_.seed(endpoint, functions, now);
}

}  // namespace dfaas::agent
