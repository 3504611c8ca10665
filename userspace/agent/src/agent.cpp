#include "agent.h"

#include <sys/socket.h>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <nlohmann/json.hpp>

#include "api.h"
#include "conversions.h"
#include "dfaas/abi.h"
#include "dfaas/forecast/http_forecaster.h"
#include "dfaas/forecast/native_forecaster.h"
#include "dfaas/strategy/error.h"
#include "dfaas/strategy/external.h"
#include "dfaas/strategy/json.h"
#include "external_window.h"
#include "state_file.h"

namespace dfaas::agent {

namespace {

using Clock = std::chrono::system_clock;

constexpr const char *kInputOpenFaas = "openfaas";
constexpr const char *kInputPrometheus = "prometheus";
constexpr const char *kInputForecaster = "forecaster";
constexpr const char *kInputExternal = "external_model";
constexpr const char *kInputDataplane = "dataplane";
constexpr const char *kInputStrategy = "strategy";
constexpr size_t kDurationsKept = 256;
// Why a function OpenFaaS lists is not served (the label of dfaas_functions_skipped).
constexpr const char *kSkippedCapacity = "dataplane_capacity";     // function table full
constexpr const char *kSkippedDataplaneError = "dataplane_error";  // the data plane refused it
constexpr const char *kSkippedNoPort = "no_port";                  // the port range is exhausted
constexpr uint64_t kGcEveryTicks = 10;
// The failure detector reads the per-peer counters this many times per control tick (the tick
// being one of them): with the default 1 s tick, every 250 ms.
constexpr uint64_t kFailureChecksPerTick = 4;

}  // namespace

std::set<uint16_t> reserved_ports(const Config &cfg) {
    std::set<uint16_t> r{cfg.api.listen.port, cfg.api.health_listen.port, cfg.peers.listen_port};
    if (cfg.dataplane.gateway.addr == cfg.node.ip) r.insert(cfg.dataplane.gateway.port);
    if (cfg.entry.enabled) r.insert(cfg.entry.port);
    return r;
}

Agent::Agent(Config config, std::string node_id)
    : Agent(config, std::move(node_id), make_production_dependencies(config)) {}

Agent::Agent(Config config, std::string node_id, AgentDependencies deps)
    : cfg_(std::move(config)),
      node_id_(std::move(node_id)),
      deps_(std::move(deps)),
      clock_(deps_.clock ? deps_.clock : std::make_shared<SystemAgentClock>()),
      started_at_(clock_->system_now()),
      ports_(cfg_.dataplane.function_ports.first, cfg_.dataplane.function_ports.last,
             reserved_ports(cfg_)),
      // One control tick of silence with a SYN owed declares a peer (SYN-ACKs take ms).
      failure_detector_(3, cfg_.peers.control_tick) {
    // A missing dependency is a programming error, reported here rather than as a null call
    // from a loop thread.
    for (const auto &[missing, what] : {std::pair{!deps_.functions, "functions (OpenFaaS)"},
                                        std::pair{!deps_.metrics, "metrics (Prometheus)"},
                                        std::pair{!deps_.attach_dataplane, "attach_dataplane"},
                                        std::pair{!deps_.open_peer_link, "open_peer_link"}})
        if (missing) throw std::invalid_argument(std::string("agent dependency missing: ") + what);
    strategy_kind_ = cfg_.strategy.name;
    route_guard_ = RouteGuard(
        GuardSettings{cfg_.strategy.guard.enabled, cfg_.strategy.guard.error_ratio,
                      cfg_.strategy.guard.min_responses, cfg_.strategy.guard.ticks,
                      guard_hold_ticks(cfg_.strategy.guard.hold, cfg_.peers.control_tick)});
    peer_table_ =
        strategy::PeerTable(node_id_, strategy::peer_ttl(strategy_kind_, cfg_.strategy.period));
    health_.require(kInputOpenFaas);
    health_.require(kInputPrometheus);
    health_.require(kInputDataplane);
    readiness_.publish(health_.problems());
}

Agent::~Agent() {
    stop();
}

// ---- lifecycle --------------------------------------------------------------------------------

void Agent::start() {
    prepare();

    // The entry port before the API, so that /metrics never sees it half set.
    if (cfg_.entry.enabled && deps_.start_entry) {
        entry::EntryOptions options;
        options.listen = Endpoint{Ipv4{0}, cfg_.entry.port};
        options.max_connections = cfg_.entry.max_connections;
        options.head_timeout =
            std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.entry.head_timeout);
        options.max_head_bytes = cfg_.entry.max_head_bytes;
        options.idle_timeout =
            std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.entry.idle_timeout);
        options.connect_timeout =
            std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.openfaas.timeout);
        // The address the data plane sends local connections to: the same gateway, as ip:port.
        options.gateway = cfg_.dataplane.gateway;
        options.node_id = node_id_;
        options.local_admission = entry_local_admission();
        entry_ = deps_.start_entry(options, [this] { return entry_routing(); });
        spdlog::info("entry port on 0.0.0.0:{} (local gateway {})", cfg_.entry.port,
                     cfg_.dataplane.gateway.str());
    }

    // Both listeners bound before either serves: a busy port is an error at start.
    api_ = std::make_unique<peers::GuardedServer>(api_guard_settings(cfg_));
    register_api(*api_, *this, cfg_);
    if (!api_->bind_listener(cfg_.api.listen.addr.str(), cfg_.api.listen.port))
        throw std::runtime_error("api.listen: cannot listen on " + cfg_.api.listen.str());
    health_api_ = std::make_unique<peers::GuardedServer>(health_guard_settings(cfg_));
    register_health_api(*health_api_, *this);
    if (!health_api_->bind_listener(cfg_.api.health_listen.addr.str(), cfg_.api.health_listen.port))
        throw std::runtime_error("api.health_listen: cannot listen on " +
                                 cfg_.api.health_listen.str());
    api_thread_ = std::thread([this] { api_->listen_after_bind(); });
    health_thread_ = std::thread([this] { health_api_->listen_after_bind(); });
    spdlog::info("API on http://{}, health on http://{} (node {}, strategy {}, period {} ms)",
                 cfg_.api.listen.str(), cfg_.api.health_listen.str(), node_id_,
                 to_string(cfg_.strategy.name), cfg_.strategy.period.count());
    if (cfg_.api.listen.addr.value != 0x7f000001 && cfg_.api.token_file.empty())
        spdlog::warn(
            "api.listen {} without api.token_file: reads are open to the network, "
            "mutations only from loopback",
            cfg_.api.listen.str());

    strategy_thread_ = std::thread([this] { strategy_loop(); });
    control_thread_ = std::thread([this] { control_loop(); });
}

void Agent::prepare() {
    dp::AttachOptions opts;
    const auto interfaces = cfg_.dataplane.attach_interfaces();
    opts.interface = interfaces.front();  // the uplink
    opts.client_interfaces.assign(interfaces.begin() + 1, interfaces.end());
    opts.bpffs = cfg_.dataplane.bpffs;
    opts.ct_entries = cfg_.dataplane.ct_entries;
    opts.ct_half_open_entries = cfg_.dataplane.ct_half_open_entries;
    opts.settings = dataplane_settings(cfg_);
    // Reuses the pinned maps when a previous agent left them: policies, counters and
    // connections carry over, and the programs are replaced atomically.
    dp_ = deps_.attach_dataplane(opts);
    last_status_ = dp_->status();
    health_.ok(kInputDataplane, clock_->system_now());
    spdlog::info("data plane attached on {} (ingress prog {}, egress prog {}), pins under {}",
                 fmt::join(interfaces, ","), last_status_->ingress_prog_id,
                 last_status_->egress_prog_id, cfg_.dataplane.bpffs);

    // Functions and policies the data plane already has (a restart) stay as they are until the
    // strategy decides; functions never seen get All-Local.
    for (const auto &[id, name] : dp_->functions())
        if (auto p = dp_->policy(name)) installed_[name] = p->policy;
    // An empty function list applies once it has persisted for two periods: gathers run at each
    // period's start, so the third consecutive empty answer applies; the quarter period absorbs
    // the scheduling jitter of "two periods later".
    empty_list_guard_ =
        EmptyFunctionListGuard(std::chrono::duration_cast<std::chrono::milliseconds>(
            2 * cfg_.strategy.period - cfg_.strategy.period / 4));
    seed_functions_from_dataplane();
    load_state();
    ensure_strategy();
    gather_functions();
    install_defaults();
    // Overrides read back from the state file apply now (the pinned policies usually hold them
    // already: then nothing is written).
    if (!overrides_.all().empty()) install(overrides_.apply(strategy_policies_));

    if (!cfg_.peers.cluster_key_file.empty()) {
        peers_ = deps_.open_peer_link(cfg_, node_id_,
                                      strategy::peer_ttl(strategy_kind_, cfg_.strategy.period),
                                      [this] { return local_heartbeat(); });
        seed_peers_from_dataplane();
        peers_->start();
    } else {
        spdlog::info("peer protocol off (no peers.cluster_key_file): this node runs alone");
    }
}

void Agent::request_stop() {
    std::lock_guard lock(wake_mu_);
    stopping_ = true;
    wake_.notify_all();
}

void Agent::wait() {
    std::unique_lock lock(wake_mu_);
    wake_.wait(lock, [this] { return stopping_; });
}

void Agent::stop() {
    request_stop();
    if (entry_) entry_->stop();
    if (api_) api_->stop();
    if (health_api_) health_api_->stop();
    if (peers_) peers_->stop();
    for (auto *t : {&strategy_thread_, &control_thread_, &api_thread_, &health_thread_})
        if (t->joinable()) t->join();
}

// ---- strategy loop ----------------------------------------------------------------------------

void Agent::strategy_loop() {
    // First decision right away (the reference waits for the next boundary; a node that just
    // started should not serve a whole period on defaults).
    bool first = true;
    while (true) {
        size_t step = 0;
        bool run_all = first;
        if (!first) {
            auto next = strategy::next_step(*strategy_, wall_instant(clock_->system_now()),
                                            cfg_.strategy.period);
            std::unique_lock lock(wake_mu_);
            wake_.wait_until(lock, Clock::time_point(next.at),
                             [this] { return stopping_ || recalc_requested_; });
            if (stopping_) return;
            run_all = recalc_requested_;
            recalc_requested_ = false;
            step = next.index;
        }
        first = false;
        if (run_all) {
            // An immediate recalculation runs every step of a period back to back.
            size_t steps = strategy_->step_offsets(cfg_.strategy.period).size();
            for (size_t i = 0; i < steps; ++i)
                guarded_period_step(i);
        } else {
            guarded_period_step(step);
        }
    }
}

void Agent::guarded_period_step(size_t step) {
    // The last line of defence: every known failure is handled (and counted) where it happens;
    // anything else costs this step, never the thread (an exception leaving it would end the
    // agent). The installed policies stay.
    try {
        run_period_step(step);
    } catch (const std::exception &e) {
        std::lock_guard lock(mu_);
        ++step_failures_;
        note(kInputStrategy, health_.failed(kInputStrategy, e.what(), clock_->system_now()),
             e.what());
    } catch (...) {
        std::lock_guard lock(mu_);
        ++step_failures_;
        note(kInputStrategy,
             health_.failed(kInputStrategy, "unknown exception", clock_->system_now()),
             "unknown exception");
    }
}

void Agent::run_period_step(size_t step) {
    auto started = clock_->steady_now();
    if (step == 0) {
        ensure_strategy();
        gather_functions();
        gather_node_metrics();
    }
    strategy::Snapshot snapshot;
    {
        std::lock_guard lock(mu_);
        if (step == 0) {
            // The user rate the strategy sees: requests per second averaged over the period
            // that just ended (the reference sampled one second: its issue #45).
            try {
                auto stats = dp_->stats();
                auto now = clock_->steady_now();
                if (period_baseline_) {
                    double seconds =
                        std::chrono::duration<double>(now - period_baseline_at_).count();
                    period_user_rates_ = user_rates_since(*period_baseline_, stats, seconds);
                    period_start_stats_ = std::move(period_baseline_);
                    period_seconds_ = seconds;
                }
                period_baseline_ = stats;
                period_baseline_at_ = now;
            } catch (const std::exception &e) {
                // The strategy runs on the last period's rates; the control tick reports the
                // data plane's state.
                spdlog::debug("period rates: {}", e.what());
            }
            previous_step_.reset();
        }
        snapshot = build_snapshot(clock_->system_now());
    }
    if (step == 0 && strategy_kind_ == StrategyKind::External) ask_external_model(snapshot);

    strategy::Decision decision;
    try {
        std::lock_guard lock(mu_);
        const strategy::Decision *previous = previous_step_ ? &*previous_step_ : nullptr;
        decision = strategy_->step(snapshot, step, previous);
    } catch (const std::exception &e) {
        std::lock_guard lock(mu_);
        note(kInputStrategy, health_.failed(kInputStrategy, e.what(), clock_->system_now()),
             e.what());
        return;  // keep the installed policies
    }

    // Peers hear of the step first (the send is bounded by its deadline and needs no lock). A
    // failed send costs the messages, not the decision. What the messages promise (Recalc's
    // limits) is installed before they leave: a peer may forward at once on the news.
    if (peers_) {
        {
            std::lock_guard lock(mu_);
            admit_promised_limits(decision.messages);
        }
        try {
            peers_->send(decision.messages, wall_instant(clock_->system_now()));
        } catch (const std::exception &e) {
            spdlog::warn("peer messages of step {} not sent: {}", step, e.what());
        }
    }
    std::lock_guard lock(mu_);
    apply_decision(decision);
    previous_step_ = decision;
    last_snapshot_ = std::move(snapshot);
    auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(clock_->steady_now() - started);
    last_recalc_.at = clock_->system_now();
    last_recalc_.duration = elapsed;
    last_recalc_.step = step;
    last_recalc_.iterations += 1;
    last_recalc_.warnings = decision.warnings;
    last_recalc_.degraded = decision.degraded;
    step_durations_.observe(elapsed.count() / 1e6);
    recalc_durations_s_.push_back(elapsed.count() / 1e6);
    if (recalc_durations_s_.size() > kDurationsKept)
        recalc_durations_s_.erase(recalc_durations_s_.begin());
    for (const auto &w : decision.warnings)
        spdlog::debug("strategy: {}", w);
}

void Agent::ensure_strategy() {
    // Node Margin needs its forecaster; until it loads, the node runs All-Local and says why.
    if (strategy_ && (strategy_kind_ != StrategyKind::NodeMargin || forecaster_)) return;
    if (strategy_kind_ == StrategyKind::NodeMargin && !forecaster_) {
        try {
            if (cfg_.forecaster.mode == ForecasterMode::Http)
                forecaster_ = std::make_unique<forecast::HttpForecaster>(
                    cfg_.forecaster.url ? cfg_.forecaster.url->str() : "", cfg_.forecaster.timeout);
            else
                forecaster_ =
                    std::make_unique<forecast::NativeForecaster>(forecast::NativeForecaster::load(
                        cfg_.forecaster.models_dir, cfg_.forecaster.variant));
            std::lock_guard lock(mu_);
            note(kInputForecaster, health_.ok(kInputForecaster, clock_->system_now()));
        } catch (const std::exception &e) {
            std::lock_guard lock(mu_);
            note(kInputForecaster, health_.failed(kInputForecaster, e.what(), clock_->system_now()),
                 e.what());
        }
    }
    if (strategy_kind_ == StrategyKind::NodeMargin && !forecaster_) {
        if (!strategy_) strategy_ = strategy::make_strategy(StrategyKind::AllLocal);
        return;
    }
    strategy_ = strategy::make_strategy(strategy_kind_, forecaster_.get());
}

// ---- inputs -----------------------------------------------------------------------------------

void Agent::gather_functions() {
    auto listed = deps_.functions->list_functions();  // outside the lock: it may take the timeout
    std::lock_guard lock(mu_);
    auto now = clock_->system_now();
    if (!listed) {
        note(kInputOpenFaas, health_.failed(kInputOpenFaas, listed.error(), now), listed.error());
        return;  // keep the last known functions and their policies
    }
    note(kInputOpenFaas, health_.ok(kInputOpenFaas, now));
    // A gateway that restarts answers [] for a while: tearing down every service and policy on
    // that would cut the connections through them (issue 14). Non-empty lists apply at once.
    if (!empty_list_guard_.accept(listed->empty(), !functions_.empty(), now)) {
        ++empty_function_lists_held_;
        if (empty_list_guard_.empty_since() == now)
            spdlog::warn(
                "openfaas lists no function while this node serves {}: keeping them until the "
                "empty list persists for 2 periods",
                functions_.size());
        return;
    }

    std::vector<PortRequest> requests;
    std::set<std::string> timeout_labelled;
    for (const auto &f : *listed) {
        requests.push_back(PortRequest{f.name, f.dfaas.port});
        for (const auto &problem : f.dfaas.problems)
            spdlog::debug("function {}: label {}={} {}", f.name, problem.label, problem.value,
                          problem.reason);
        // The feedback guard counts responses slower than it as failed; nothing cuts a request
        // off. Said once per function, not at every poll.
        if (!f.dfaas.timeout_ms) continue;
        timeout_labelled.insert(f.name);
        if (timeout_label_noted_.count(f.name)) continue;
        spdlog::info(
            "{}={} on {}: the feedback guard counts slower responses as failed (requests are not "
            "cut off)",
            kLabelTimeoutMs, *f.dfaas.timeout_ms, f.name);
    }
    // Only functions listed now stay remembered (bounded by the list); one that loses the label
    // and gets it again is logged about again.
    timeout_label_noted_ = std::move(timeout_labelled);
    std::map<std::string, uint16_t> current;
    for (const auto &svc : dp_->services())
        if (svc.local && svc.addr == cfg_.node.ip) current[svc.function] = svc.port;
    auto assignment = ports_.assign(requests, current);
    for (const auto &problem : assignment.problems)
        spdlog::warn("function port: {}", problem);
    port_problems_ = assignment.problems;  // counted by sync_services (issue 14, B1)

    std::map<std::string, KnownFunction> functions;
    for (const auto &f : *listed) {
        auto port = assignment.ports.find(f.name);
        if (port == assignment.ports.end()) continue;
        functions[f.name] = KnownFunction{f, port->second};
    }
    for (const auto &[name, kf] : functions)
        if (!functions_.count(name))
            spdlog::info("function {} on port {} (maxrate {}, group {})", name, kf.port,
                         kf.info.dfaas.max_rate ? std::to_string(*kf.info.dfaas.max_rate) : "-",
                         kf.info.dfaas.group ? std::string(to_string(*kf.info.dfaas.group)) : "-");
    for (const auto &[name, kf] : functions_)
        if (!functions.count(name)) spdlog::info("function {} removed", name);
    // A function only peers ran that this node now runs itself: it keeps its port (the
    // allocator saw its service), and its peers-only policy makes way for All-Local until the
    // strategy decides.
    for (const auto &[name, kf] : functions) {
        if (!remote_functions_.erase(name)) continue;
        spdlog::info("function {} now runs on this node (peers ran it alone until now)", name);
        installed_.erase(name);
        strategy_policies_.erase(name);
    }
    functions_ = std::move(functions);
    sync_services(assignment.ports);
    install_defaults();
}

void Agent::sync_services(const std::map<std::string, uint16_t> &ports) {
    // Every data-plane call is tried on its own: one function the data plane refuses never keeps
    // the others out, and nothing here throws.
    std::map<std::string, std::string> skipped;  // function -> reason
    auto services = [&] {
        try {
            return dp_->services();
        } catch (const std::exception &e) {
            spdlog::warn("sync services: cannot read the data plane's services: {}", e.what());
            return std::vector<dp::Service>{};
        }
    };
    // Stale local services first, then functions gone from OpenFaaS (their ids become free for
    // new ones in this same pass).
    auto current = services();
    for (const auto &svc : current) {
        if (!svc.local || svc.addr != cfg_.node.ip) continue;
        auto it = ports.find(svc.function);
        if (it != ports.end() && it->second == svc.port) continue;
        // A remote-only function's port (sync_remote_functions keeps those), unless a local
        // function now claims it.
        auto remote = remote_functions_.find(svc.function);
        if (it == ports.end() && remote != remote_functions_.end() &&
            remote->second.port == svc.port)
            continue;
        try {
            dp_->delete_service(svc.addr, svc.port);
        } catch (const std::exception &e) {
            spdlog::warn("delete service {}:{}: {}", svc.addr.str(), svc.port, e.what());
        }
    }
    current = services();
    std::set<std::string> registered;
    try {
        for (const auto &[id, name] : dp_->functions()) {
            bool still_local = ports.count(name) > 0;
            bool served_for_peers =
                std::any_of(current.begin(), current.end(),
                            [&](const auto &svc) { return svc.function == name; });
            if (!still_local && !served_for_peers) {
                try {
                    dp_->remove_function(name);
                    installed_.erase(name);
                    strategy_policies_.erase(name);
                    continue;
                } catch (const std::exception &e) {
                    spdlog::warn("remove function {}: {}", name, e.what());
                }
            }
            registered.insert(name);
        }
    } catch (const std::exception &e) {
        spdlog::warn("sync services: cannot read the data plane's functions: {}", e.what());
    }
    // Functions beyond the data plane's function table are skipped, not thrown: those already in
    // it keep their ids (a restart or a new function never displaces a served one), then new ones
    // in name order while ids are free.
    size_t used = registered.size();
    for (const auto &[name, port] : ports) {
        if (!registered.count(name)) {
            if (used >= DFAAS_MAX_FUNCTIONS) {
                skipped[name] = kSkippedCapacity;
                continue;
            }
            ++used;
        }
        try {
            // Policies first, then services: a port never exists without a policy behind it.
            if (!installed_.count(name)) {
                dp_->set_policy(name, FunctionPolicy::all_local());
                installed_[name] = FunctionPolicy::all_local();
                ++policy_updates_;
            }
            dp_->set_service(dp::Service{cfg_.node.ip, port, name, true});
        } catch (const std::exception &e) {
            spdlog::debug("function {} on port {}: {}", name, port, e.what());
            skipped[name] = kSkippedDataplaneError;
        }
    }
    // Functions the port allocator left without a port ("<function>: why").
    for (const auto &problem : port_problems_)
        skipped.emplace(problem.substr(0, problem.find(": ")), kSkippedNoPort);
    // A skipped function is not served here: not known to the strategy, not announced to peers.
    for (const auto &[name, reason] : skipped)
        functions_.erase(name);
    note_skipped_functions(std::move(skipped));
}

void Agent::note_skipped_functions(std::map<std::string, std::string> skipped) {
    if (skipped == skipped_functions_) return;
    // One line per change of the skipped set, by reason, naming the first few.
    std::map<std::string, std::vector<std::string>> by_reason;
    for (const auto &[name, reason] : skipped)
        by_reason[reason].push_back(name);
    if (by_reason.empty()) spdlog::info("every function is served again (none skipped)");
    for (const auto &[reason, names] : by_reason) {
        std::string listed;
        for (size_t i = 0; i < names.size() && i < 5; ++i)
            listed += (i ? ", " : "") + names[i];
        if (names.size() > 5) listed += ", ...";
        spdlog::warn("{} function(s) not served: {} (the data plane holds {} functions): {}",
                     names.size(), reason, DFAAS_MAX_FUNCTIONS, listed);
    }
    skipped_functions_ = std::move(skipped);
}

void Agent::gather_node_metrics() {
    NodeMetrics m;
    std::vector<std::string> errors;
    auto window = cfg_.prometheus.window;
    auto single = [&](const std::string &query) -> std::optional<double> {
        auto r = deps_.metrics->query(promql::expand_window(query, window));
        if (!r) {
            errors.push_back(r.error());
            return std::nullopt;
        }
        auto v = promql::single_value(*r);
        if (!v) {
            errors.push_back(v.error());
            return std::nullopt;
        }
        return *v;
    };
    m.cpu_percent = single(cfg_.prometheus.node_cpu_query);
    m.ram_bytes = single(cfg_.prometheus.node_ram_query);
    // cAdvisor is often not scraped: the function CPU and the cores only refine the external
    // model's cpu_utilization (it falls back to the node's share and the host's cores), so their
    // failures are kept for the log, never counted as the Prometheus input failing.
    if (!cfg_.prometheus.function_cpu_query.empty()) {
        auto r =
            deps_.metrics->query(promql::expand_window(cfg_.prometheus.function_cpu_query, window));
        auto cpu = r ? promql::values_by_function(*r)
                     : Result<std::map<std::string, double>>(Error{r.error()});
        if (!cpu)
            m.function_cpu_error = cpu.error();
        else if (cpu->empty())
            m.function_cpu_error = "no data (is cAdvisor scraped?)";
        else
            m.function_cpu_percent = std::move(*cpu);
    }
    if (!cfg_.prometheus.node_cores_query.empty()) {
        if (auto r = deps_.metrics->query(
                promql::expand_window(cfg_.prometheus.node_cores_query, window)))
            if (auto cores = promql::single_value(*r);
                cores && std::isfinite(*cores) && *cores >= 1)
                m.node_cores = *cores;
    }
    if (auto r = deps_.metrics->query(promql::invocation_rate_by_code(window))) {
        if (auto rates = promql::invocation_rates(*r))
            m.invocation_rates = *rates;
        else
            errors.push_back(rates.error());
    } else {
        errors.push_back(r.error());
    }
    if (auto r = deps_.metrics->query(promql::mean_latency_by_function(window))) {
        if (auto lat = promql::mean_latencies(*r))
            m.mean_latency_s = *lat;
        else
            errors.push_back(lat.error());
    } else {
        errors.push_back(r.error());
    }
    std::lock_guard lock(mu_);
    node_metrics_ = m;
    if (errors.empty())
        note(kInputPrometheus, health_.ok(kInputPrometheus, clock_->system_now()));
    else
        note(kInputPrometheus,
             health_.failed(kInputPrometheus, errors.front(), clock_->system_now()),
             errors.front());
}

strategy::Snapshot Agent::build_snapshot(Clock::time_point now) {
    strategy::Snapshot s;
    s.node_id = node_id_;
    s.node_type = cfg_.node.type;
    s.thresholds =
        strategy::Thresholds{cfg_.strategy.nms.cpu, cfg_.strategy.nms.ram, cfg_.strategy.nms.power};
    s.period = cfg_.strategy.period;
    s.now = wall_instant(now);
    for (const auto &[name, kf] : functions_)
        s.functions.push_back(strategy::LocalFunction{name, kf.port, kf.info.labels});
    for (const auto &[name, rate] : period_user_rates_)
        if (functions_.count(name)) s.user_rates[name] = rate;
    s.groups = to_group_table(cfg_.strategy);
    s.recalc.standby_overflow = cfg_.strategy.recalc_overflow == RecalcOverflow::Standby;
    if (peers_) {
        s.peers = peers_->table(s.now);
    } else {
        peer_table_.expire(s.now);
        s.peers = peer_table_;
    }
    return s;
}

void Agent::ask_external_model(strategy::Snapshot &snapshot) {
    if (!cfg_.strategy.external.url) return;
    {
        std::lock_guard lock(mu_);
        // The period that just ended, between the two data plane readings of run_period_step.
        WindowSources sources;
        sources.start = period_start_stats_ ? &*period_start_stats_ : nullptr;
        sources.end = period_baseline_ ? &*period_baseline_ : nullptr;
        sources.seconds = period_seconds_;
        for (const strategy::PeerEntry *peer : snapshot.peers.live(snapshot.now))
            sources.peer_ids[peer->address] = peer->id;
        sources.mean_latency_s = node_metrics_.mean_latency_s;
        sources.cpu_percent = node_metrics_.cpu_percent;
        sources.function_cpu_percent = node_metrics_.function_cpu_percent;
        // The model's CPUs under faas-sim differ from the host's: prefer what Prometheus says.
        sources.node_cores =
            node_metrics_.node_cores
                ? unsigned(std::min(*node_metrics_.node_cores, double(kMaxNodeCores)))
                : std::max(1u, std::thread::hardware_concurrency());
        for (const auto &[name, kf] : functions_) {
            sources.replicas += double(kf.info.replicas);
            sources.local_functions.insert(name);
        }
        const CpuSource cpu_source = cpu_share(sources).source;
        if (cpu_source_name(cpu_source) != external_cpu_source_) {
            external_cpu_source_ = std::string(cpu_source_name(cpu_source));
            if (cpu_source == CpuSource::Function)
                spdlog::info(
                    "external model: cpu_utilization is the local functions' CPU over {} "
                    "cores (prometheus.function_cpu_query)",
                    sources.node_cores);
            else
                spdlog::warn(
                    "external model: cpu_utilization is {}: no local function's CPU "
                    "from prometheus.function_cpu_query ({})",
                    cpu_source == CpuSource::Node
                        ? fmt::format("the node's CPU over {} cores", sources.node_cores)
                        : std::string("0 (no node CPU either)"),
                    cfg_.prometheus.function_cpu_query.empty() ? std::string("not asked")
                    : node_metrics_.function_cpu_error.empty() ? std::string("no series for them")
                                                               : node_metrics_.function_cpu_error);
        }
        const strategy::NodeWindow current = measure_window(sources);
        snapshot.external.current = current;
        if (external_previous_window_) snapshot.external.previous = *external_previous_window_;
        external_previous_window_ = current;
    }
    const auto &url = *cfg_.strategy.external.url;
    httplib::Client client(url.origin());
    client.set_connection_timeout(cfg_.strategy.external.timeout);
    client.set_read_timeout(cfg_.strategy.external.timeout);
    strategy::Observation observation = strategy::build_observation(snapshot);
    observation.explore = cfg_.strategy.external.explore;
    auto body = strategy::observation_to_json(observation).dump();
    auto res = client.Post(url.path.empty() ? "/" : url.path, body, "application/json");
    std::string error;
    if (!res) {
        error = "POST " + url.str() + ": " + httplib::to_string(res.error());
    } else if (res->status != 200) {
        error = "POST " + url.str() + ": HTTP " + std::to_string(res->status);
    } else {
        try {
            snapshot.external.action =
                strategy::external_answer_from_json(nlohmann::json::parse(res->body), node_id_);
        } catch (const std::exception &e) {
            error = "POST " + url.str() + ": malformed answer: " + e.what();
        }
    }
    std::lock_guard lock(mu_);
    if (error.empty())
        note(kInputExternal, health_.ok(kInputExternal, clock_->system_now()));
    else
        note(kInputExternal, health_.failed(kInputExternal, error, clock_->system_now()), error);
}

// ---- applying decisions -----------------------------------------------------------------------

void Agent::apply_decision(const strategy::Decision &decision) {
    if (decision.degraded)
        note(kInputStrategy,
             health_.failed(kInputStrategy, *decision.degraded, clock_->system_now()),
             *decision.degraded);
    else
        note(kInputStrategy, health_.ok(kInputStrategy, clock_->system_now()));
    if (!decision.policies) return;  // e.g. Recalc step 1: keep what is installed
    // The strategy decided again from fresh inputs: the guard's adjustments end here (a route
    // still failing is guarded again after strategy.guard.ticks ticks).
    lift_route_guards();
    for (const auto &[name, policy] : *decision.policies)
        if (functions_.count(name) || remote_functions_.count(name))
            strategy_policies_[name] = policy;
    install(overrides_.apply(strategy_policies_));
}

void Agent::install(const PolicySet &policies) {
    std::set<Ipv4> known_peers;
    try {
        for (const auto &p : dp_->peers())
            known_peers.insert(p.addr);
    } catch (const std::exception &e) {
        // Without the peer table no peer can be a target: the policies go in local-only.
        spdlog::warn("install: cannot read the data plane's peers: {}", e.what());
    }
    for (auto [name, policy] : policies) {
        // Only peers the data plane knows (authenticated members) can be targets, and none the
        // data plane found unresponsive (limit_in stays: it is about traffic they send us).
        for (auto *m : {&policy.peers, &policy.overflow, &policy.limit_in})
            std::erase_if(*m, [&](const auto &kv) { return !known_peers.count(kv.first); });
        for (auto *m : {&policy.peers, &policy.overflow})
            std::erase_if(*m, [&](const auto &kv) { return unreachable_.count(kv.first) > 0; });
        // Nor one that would refuse what this node forwards (a peer back from a restart or a
        // partition that has not computed its limit_in for this node yet), overrides included:
        // those connections go where the rest of the policy sends them.
        if (peers_) drop_refusing_peers(name, policy, admissions_);
        // This node cannot serve a remote-only function (its gateway does not run it), whatever
        // a strategy or an override says: what no runner takes is rejected.
        if (remote_functions_.count(name)) {
            policy.local = 0;
            policy.local_cap = 0;
            policy.overflow.clear();
            const bool any_peer = std::any_of(policy.peers.begin(), policy.peers.end(),
                                              [](const auto &kv) { return kv.second > 0; });
            if (!any_peer) policy.reject = kMaxWeight;
        }
        // The feedback guard moves a failing route's share to the function's other routes
        // (those left above: reachable, admitting), never over an operator's override.
        if (!overrides_.find(name)) {
            auto guarded = guard_policy(policy, route_guard_.guarded_routes(name),
                                        !remote_functions_.count(name));
            if (guarded.kept_because && guard_kept_logged_.insert(name).second)
                spdlog::warn("feedback guard: {} keeps its policy: {}", name,
                             *guarded.kept_because);
            policy = std::move(guarded.policy);
        }
        if (policy.validate()) {
            // Local if this node runs the function; a remote-only one has no local fallback.
            policy = FunctionPolicy::all_local();
            if (remote_functions_.count(name)) {
                policy.local = 0;
                policy.reject = kMaxWeight;
            }
        }
        auto it = installed_.find(name);
        if (it != installed_.end() && it->second == policy) continue;
        try {
            dp_->set_policy(name, policy);
            events_.policy_changed(name, it != installed_.end() ? &it->second : nullptr, policy,
                                   clock_->system_now());
            installed_[name] = policy;
            ++policy_updates_;
        } catch (const std::exception &e) {
            ++install_failures_;
            spdlog::error("install policy of {}: {}", name, e.what());
        }
    }
}

void Agent::install_defaults() {
    PolicySet defaults;
    for (const auto &[name, kf] : functions_)
        if (!installed_.count(name)) defaults[name] = FunctionPolicy::all_local();
    if (!defaults.empty()) install(defaults);
}

// ---- control tick -----------------------------------------------------------------------------

void Agent::control_loop() {
    uint64_t tick = 0, reading = 0;
    const auto slice = std::max<std::chrono::steady_clock::duration>(
        cfg_.peers.control_tick / kFailureChecksPerTick, std::chrono::milliseconds(1));
    auto next = clock_->steady_now();
    while (true) {
        next += slice;
        {
            std::unique_lock lock(wake_mu_);
            if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
        }
        if (++reading % kFailureChecksPerTick == 0)
            guarded_control_tick(++tick);
        else
            guarded_failure_check();
    }
}

void Agent::guarded_control_tick(uint64_t tick) {
    try {
        control_tick(tick);
    } catch (const std::exception &e) {
        // Each part of the tick handles its own failures; this keeps the thread alive if one is
        // missed.
        std::lock_guard lock(mu_);
        ++tick_failures_;
        spdlog::error("control tick {}: {}", tick, e.what());
    } catch (...) {
        std::lock_guard lock(mu_);
        ++tick_failures_;
        spdlog::error("control tick {}: unknown exception", tick);
    }
}

void Agent::control_tick(uint64_t tick) {
    std::lock_guard lock(mu_);
    try {
        last_stats_ = dp_->stats();
        rate_meter_.update(*last_stats_, clock_->steady_now());
        last_status_ = dp_->status();
        bool attached = last_status_->ingress_attached && last_status_->egress_attached;
        if (attached)
            note(kInputDataplane, health_.ok(kInputDataplane, clock_->system_now()));
        else
            note(kInputDataplane,
                 health_.failed(kInputDataplane,
                                "programs not attached to " + cfg_.dataplane.interface,
                                clock_->system_now()),
                 "programs not attached");
    } catch (const std::exception &e) {
        note(kInputDataplane, health_.failed(kInputDataplane, e.what(), clock_->system_now()),
             e.what());
        return;
    }
    // Each part on its own: one failing (a map full, a peer the data plane refuses) never stops
    // the others.
    auto part = [&](const char *what, const std::function<void()> &run) {
        try {
            run();
        } catch (const std::exception &e) {
            ++tick_failures_;
            spdlog::error("control tick: {}: {}", what, e.what());
        }
    };
    if (peers_) peer_tick(wall_instant(clock_->system_now()), part);
    part("override expiry", [&] {
        auto ended = overrides_.expire(clock_->system_now());
        if (!ended.empty()) persist_state();
        for (const auto &name : ended) {
            spdlog::info("override of {} expired", name);
            PolicySet back;
            back[name] = strategy_policies_.count(name) ? strategy_policies_[name]
                                                        : FunctionPolicy::all_local();
            install(back);
        }
    });
    part("feedback guard", [&] { run_route_guard(); });
    if (tick % kGcEveryTicks == 0) {
        part("conntrack garbage collection", [&] {
            auto gc = dp_->collect_garbage();
            ct_entries_ = gc.live;
            ct_expired_total_ += gc.expired;
        });
    }
}

// ---- feedback guard ---------------------------------------------------------------------------

void Agent::run_route_guard() {
    std::vector<RouteReading> readings;
    for (const auto &f : last_stats_->functions) {
        const auto local = functions_.find(f.name);
        if (local == functions_.end() && !remote_functions_.count(f.name)) continue;
        std::optional<uint32_t> timeout_ms;
        if (local != functions_.end()) timeout_ms = local->second.info.dfaas.timeout_ms;
        readings.push_back(RouteReading{RouteKey{f.name, std::nullopt}, f.http_local, timeout_ms});
        for (const auto &[peer, counters] : f.http_to_peer)
            readings.push_back(RouteReading{RouteKey{f.name, peer}, counters, timeout_ms});
    }
    auto changes = route_guard_.update(readings);
    if (changes.empty()) return;
    for (const auto &c : changes) {
        if (c.guarded)
            spdlog::warn(
                "feedback guard: route {} of {} fails ({}, error ratio {:.2f} for {} ticks): its "
                "share goes to the function's other routes until the next strategy step",
                route_label(c.key.route), c.key.function, c.detail.cause, c.detail.error_ratio,
                cfg_.strategy.guard.ticks);
        else
            spdlog::info("feedback guard: route {} of {} lifted (the route is gone)",
                         route_label(c.key.route), c.key.function);
    }
    // What install() adjusts: the strategy's policies and, for the remote-only functions it has
    // not decided yet, the fallback sync_remote_functions installs.
    PolicySet base = strategy_policies_;
    for (const auto &[name, kf] : remote_functions_)
        if (!base.count(name)) base[name] = remote_fallback_policy(kf);
    install(overrides_.apply(base));
}

void Agent::lift_route_guards() {
    for (const auto &c : route_guard_.strategy_step())
        spdlog::info("feedback guard: route {} of {} lifted: the strategy decided again",
                     route_label(c.key.route), c.key.function);
    guard_kept_logged_.clear();
}

// ---- restarts ---------------------------------------------------------------------------------

void Agent::load_state() {
    auto loaded = read_state_file(cfg_.node.state_file, node_id_, clock_->system_now());
    switch (loaded.status) {
        case StateLoadStatus::Absent:
            spdlog::info("state file {} absent: no override to restore", cfg_.node.state_file);
            return;
        case StateLoadStatus::Refused:
            // Never fatal: the node runs without the overrides (the operator sets them again);
            // the next change of an override rewrites the file.
            ++state_file_refused_;
            spdlog::error("state file refused, starting without it: {}", loaded.error);
            return;
        case StateLoadStatus::Loaded:
            break;
    }
    for (const auto &[function, o] : loaded.state.overrides)
        overrides_.restore(function, o);
    spdlog::info("state file {}: {} override(s) restored, {} expired while the agent was down",
                 cfg_.node.state_file, loaded.state.overrides.size(), loaded.expired_dropped);
}

void Agent::persist_state() {
    PersistedState state;
    state.overrides = overrides_.all();
    auto error = write_state_file(cfg_.node.state_file, encode_state(node_id_, state));
    if (!error.empty()) {
        ++state_file_write_errors_;
        if (!state_file_failing_)
            spdlog::error("state file not written (overrides will not survive a restart): {}",
                          error);
        state_file_failing_ = true;
        return;
    }
    if (state_file_failing_) spdlog::info("state file {} written again", cfg_.node.state_file);
    state_file_failing_ = false;
}

void Agent::seed_functions_from_dataplane() {
    try {
        for (const auto &svc : dp_->services()) {
            if (!svc.local || svc.addr != cfg_.node.ip) continue;
            FunctionInfo info;
            info.name = svc.function;
            functions_[svc.function] = KnownFunction{info, svc.port};
        }
    } catch (const std::exception &e) {
        spdlog::warn("restart: cannot read the pinned services: {}", e.what());
    }
}

// ---- operator actions and views ---------------------------------------------------------------

void Agent::set_override(const std::string &function, const FunctionPolicy &policy,
                         std::optional<std::chrono::seconds> ttl) {
    std::lock_guard lock(mu_);
    overrides_.set(function, policy, clock_->system_now(), ttl);
    spdlog::info("override of {} set{}", function,
                 ttl ? " for " + std::to_string(ttl->count()) + " s" : " until cleared");
    persist_state();
    install({{function, policy}});
}

bool Agent::clear_override(const std::string &function) {
    std::lock_guard lock(mu_);
    if (!overrides_.clear(function)) return false;
    persist_state();
    PolicySet back;
    back[function] = strategy_policies_.count(function) ? strategy_policies_[function]
                                                        : FunctionPolicy::all_local();
    install(back);
    return true;
}

void Agent::request_recalc() {
    std::lock_guard lock(wake_mu_);
    recalc_requested_ = true;
    wake_.notify_all();
}

std::optional<strategy::Snapshot> Agent::last_snapshot() const {
    std::lock_guard lock(mu_);
    return last_snapshot_;
}

AgentView Agent::view() const {
    std::lock_guard lock(mu_);
    AgentView v;
    v.node_id = node_id_;
    v.config = cfg_;
    v.started_at = started_at_;
    v.not_ready_reasons = health_.problems();
    v.ready = v.not_ready_reasons.empty();
    v.inputs = health_.states();
    v.functions = functions_;
    v.remote_functions = remote_functions_;
    v.remote_functions_refused = remote_refused_;
    v.installed = installed_;
    v.overrides = overrides_.all();
    v.rates = rate_meter_.latest();
    v.period_user_rates = period_user_rates_;
    v.node_metrics = node_metrics_;
    v.external_cpu_source = external_cpu_source_;
    v.last_recalc = last_recalc_;
    v.recalc_durations_s = recalc_durations_s_;
    v.step_durations = step_durations_;
    v.policy_updates = policy_updates_;
    v.dataplane = last_status_;
    v.stats = last_stats_;
    v.ct_entries = ct_entries_;
    v.ct_expired_total = ct_expired_total_;
    v.strategy_name = strategy_ ? std::string(to_string(strategy_->kind())) : "";
    v.unreachable = unreachable_;
    v.guarded_routes = route_guard_.guarded();
    v.guard_adjustments = route_guard_.adjustments();
    v.peers_over_capacity = peers_over_capacity_;
    v.skipped_functions = skipped_functions_;
    v.peer_services_refused = peer_services_refused_;
    v.step_failures = step_failures_;
    v.tick_failures = tick_failures_;
    v.install_failures = install_failures_;
    v.peer_sync_failures = peer_sync_failures_;
    v.state_file_refused = state_file_refused_;
    v.state_file_write_errors = state_file_write_errors_;
    v.empty_function_lists_held = empty_function_lists_held_;
    if (peers_) {
        auto now = wall_instant(clock_->system_now());
        v.peer_protocol = true;
        v.peers = peers_->members(now);
        v.candidates = peers_->candidates();
        v.peer_stats = peers_->stats();
    }
    return v;
}

AgentView Agent::view_with_fresh_stats() const {
    AgentView v = view();
    std::lock_guard lock(mu_);
    try {
        v.stats = dp_->stats();
    } catch (const std::exception &e) {
        spdlog::debug("read counters: {}", e.what());  // the tick's copy stays in the view
    }
    return v;
}

void Agent::note(const std::string &input, Transition t, const std::string &error) {
    // Every ok()/failed() of health_ goes through here: the probes' board follows it (an error
    // text may change without a transition, so it is published every time).
    readiness_.publish(health_.problems());
    // One log line per change of state, never one per failed attempt.
    if (t == Transition::BecameUnhealthy)
        spdlog::warn("{} failing: {}", input, error);
    else if (t == Transition::BecameHealthy)
        spdlog::info("{} ok", input);
}

void Agent::with_state_lock_for_test(const std::function<void()> &work) {
    std::lock_guard lock(mu_);
    work();
}

bool Agent::take_recalc_request_for_test() {
    std::lock_guard lock(wake_mu_);
    return std::exchange(recalc_requested_, false);
}

// ---- the entry port (issue 18) ----------------------------------------------------------------

entry::RoutingSnapshot Agent::entry_routing() const {
    entry::RoutingSnapshot snapshot;
    std::lock_guard lock(mu_);
    // The policy the data plane has for each function this node knows (a function without one
    // yet: what install_defaults would give it).
    for (const auto &[name, function] : functions_) {
        auto it = installed_.find(name);
        snapshot.policies[name] = it != installed_.end() ? it->second : FunctionPolicy::all_local();
    }
    for (const auto &[name, function] : remote_functions_) {
        auto it = installed_.find(name);
        snapshot.policies[name] =
            it != installed_.end() ? it->second : remote_fallback_policy(function);
    }
    // Forwarded-in is honoured from the peers the data plane admits forwarded traffic from.
    if (dp_)
        for (const auto &peer : dp_->peers())
            snapshot.peers.insert(peer.addr);
    return snapshot;
}

entry::LocalAdmission Agent::entry_local_admission() const {
    // A handle of its own on the pinned maps: it is used on the entry's thread only, and a
    // Dataplane caches function ids without a lock.
    std::shared_ptr<dp::Dataplane> maps;
    try {
        maps = dp::Dataplane::open(cfg_.dataplane.bpffs);
    } catch (const std::exception &e) {
        spdlog::warn(
            "entry port: cannot open the data plane's maps under {} ({}): it counts its "
            "own local connections against local_cap",
            cfg_.dataplane.bpffs, e.what());
        return {};
    }
    return [maps, failed_once = false](const std::string &function, uint32_t cap) mutable {
        try {
            return maps->admit_local(function, cap);
        } catch (const std::exception &e) {
            // The window is unreadable: admit, as the data plane does without a window.
            if (!std::exchange(failed_once, true))
                spdlog::warn("entry port: local cap of {}: {}", function, e.what());
            return true;
        }
    };
}

std::string Agent::entry_metrics() const {
    return entry_ ? entry::render_entry_metrics(entry_->counters()) : std::string();
}

}  // namespace dfaas::agent
