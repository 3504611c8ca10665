// dfaas-agent: the control loop of one node. Every period it gathers its inputs (functions from
// OpenFaaS, request rates from the data plane's counters, node metrics from Prometheus,
// forecasts, what peers reported), runs the strategy, installs the policies in the data plane
// and tells its peers. A control tick (1 s) reads the counters, expires operator overrides and
// collects conntrack garbage. The HTTP API serves status, metrics and operator actions.
//
// Failure of any input never stops the agent: it keeps the last good policies (All-Local for
// functions that never had one), logs once per change of state, counts, and reports not ready.
// Stopping leaves the data plane attached with its last policies, so traffic keeps flowing
// while the agent restarts.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dfaas/clients/openfaas.h"
#include "dfaas/clients/prometheus.h"
#include "dfaas/clients/promql.h"
#include "dfaas/abi.h"
#include "dfaas/config/config.h"
#include "dfaas/dataplane/dataplane.h"
#include "dfaas/strategy/strategy.h"
#include "agent_deps.h"
#include "event_log.h"
#include "step_histogram.h"
#include "failure_detector.h"
#include "function_list_guard.h"
#include "input_health.h"
#include "overrides.h"
#include "peer_link.h"
#include "port_allocator.h"
#include "rate_meter.h"
#include "readiness.h"
#include "route_guard.h"

namespace httplib {
class Server;
}
namespace dfaas::peers {
class GuardedServer;
}

namespace dfaas::agent {

// A function as the agent knows it: OpenFaaS' view plus the port it is served on. A remote-only
// function is one this node does not run but its peers do (issue 19): it gets a port here, its
// connections all go to `runners` (peer ids, sorted), and `info` holds only its name.
struct KnownFunction {
    FunctionInfo info;
    uint16_t port = 0;
    bool remote_only = false;
    std::vector<std::string> runners;
};

// Ports never handed to a function: the API, health and peer ports, and the gateway's when it
// listens on the node's address.
std::set<uint16_t> reserved_ports(const Config &cfg);

// At most this many remote-only functions: what the data plane's function table holds (shared
// with the local functions: a remote-only one gets an id only while one is free).
inline constexpr size_t kMaxRemoteOnlyFunctions = DFAAS_MAX_FUNCTIONS;

// Prometheus' view of the node, refreshed every period.
struct NodeMetrics {
    std::optional<double> cpu_percent;
    std::optional<double> ram_bytes;
    promql::RatesByCode invocation_rates;          // function -> code -> req/s
    std::map<std::string, double> mean_latency_s;  // function -> seconds
    // function_cpu_query: function -> percent of one core; empty when not asked, not answered
    // (cAdvisor not scraped) or malformed: function_cpu_error says why (not an input failure).
    std::map<std::string, double> function_cpu_percent;
    std::string function_cpu_error;
    std::optional<double> node_cores;  // node_cores_query; nullopt: the host's cores are used
};

// The last strategy run.
struct RecalcRecord {
    std::chrono::system_clock::time_point at{};
    std::chrono::microseconds duration{0};
    size_t step = 0;
    uint64_t iterations = 0;
    std::vector<std::string> warnings;
    std::optional<std::string> degraded;
};

// A consistent copy of what the API, the exporter and the CLI show.
struct AgentView {
    std::string node_id;
    Config config;
    std::chrono::system_clock::time_point started_at{};
    bool ready = false;
    std::vector<std::string> not_ready_reasons;
    std::map<std::string, InputState> inputs;
    std::map<std::string, KnownFunction> functions;
    std::map<std::string, KnownFunction> remote_functions;  // functions only peers run
    // Functions peers run that get no port here: function -> reason (kRemoteRefused*).
    std::map<std::string, std::string> remote_functions_refused;
    PolicySet installed;  // what the data plane has now
    std::map<std::string, Override> overrides;
    std::map<std::string, FunctionRates> rates;       // per second, from the last control tick
    std::map<std::string, double> period_user_rates;  // what the strategy saw
    NodeMetrics node_metrics;
    RecalcRecord last_recalc;
    std::vector<double> recalc_durations_s;  // recent durations, for the histogram
    StepDurationHistogram step_durations;    // every step since start (cumulative, /metrics)
    uint64_t policy_updates = 0;
    std::optional<dp::Status> dataplane;
    std::optional<dp::Stats> stats;
    uint64_t ct_entries = 0;
    uint64_t ct_expired_total = 0;
    std::string strategy_name;
    bool peer_protocol = false;                // off when no cluster key is configured
    std::vector<PeerView> peers;               // members, dead ones included
    std::vector<peers::Candidate> candidates;  // endpoints to contact that are not members yet
    std::optional<PeerLinkStats> peer_stats;
    std::set<Ipv4> unreachable;  // peers the data plane found unresponsive
    // The feedback guard: routes guarded now, and times each route was guarded.
    std::map<RouteKey, GuardedRoute> guarded_routes;
    std::map<RouteKey, uint64_t> guard_adjustments;
    // Restarts (issue 14): the state file and the empty-function-list guard.
    uint64_t state_file_refused = 0;         // state files ignored at start (corrupt, too large)
    uint64_t state_file_write_errors = 0;    // failed writes of the state file
    uint64_t empty_function_lists_held = 0;  // empty OpenFaaS answers not applied (yet)
    // Scale limits and contained failures (issue 14).
    size_t peers_over_capacity = 0;                        // members without a data-plane slot
    std::map<std::string, std::string> skipped_functions;  // function -> reason
    size_t peer_services_refused = 0;  // peer services that would overwrite a local one
    uint64_t step_failures = 0;        // strategy steps ended by an unexpected exception
    uint64_t tick_failures = 0;        // parts of control ticks that failed
    uint64_t install_failures = 0;     // policies the data plane refused
    uint64_t peer_sync_failures = 0;   // peer/service updates the data plane refused
    // Where the external model's last cpu_utilization came from ("function", "node", "none");
    // empty before the first observation.
    std::string external_cpu_source;
};

class Agent {
  public:
    // With the real data plane, clients, peer link and clock (make_production_dependencies).
    Agent(Config config, std::string node_id);
    Agent(Config config, std::string node_id, AgentDependencies deps);
    ~Agent();

    // Attaches the data plane and starts the loops and the API. Throws on what makes running
    // impossible (the data plane cannot attach, the API port cannot be bound).
    void start();
    // Stops the loops and the API; the data plane stays attached.
    void stop();
    // Blocks until stop() or request_stop().
    void wait();
    void request_stop();

    AgentView view() const;
    // The same with the data plane's counters read now (not at the last control tick).
    AgentView view_with_fresh_stats() const;
    // The snapshot the strategy ran on last (what `dfaasctl simulate` can replay).
    std::optional<strategy::Snapshot> last_snapshot() const;
    // Readiness as last published, read without the state lock (what /readyz answers).
    Readiness readiness() const { return readiness_.current(); }
    // Test seam: runs `work` holding the state lock, as a slow control tick or period step does.
    void with_state_lock_for_test(const std::function<void()> &work);
    // Test seams: what start() does before the API and the loops (attach, restore, first gather,
    // peer link), then one period step or control tick on the caller's thread, as the loops run
    // them (failures contained and counted the same way).
    void start_without_threads_for_test() { prepare(); }
    void run_period_step_for_test(size_t step) { guarded_period_step(step); }
    void control_tick_for_test(uint64_t tick) { guarded_control_tick(tick); }
    // One of the failure detector's readings between control ticks.
    void failure_check_for_test() { guarded_failure_check(); }
    // Whether a step or tick asked for an immediate recalculation (and clears the request).
    bool take_recalc_request_for_test();

    // Operator actions (the API checks who may call them).
    void set_override(const std::string &function, const FunctionPolicy &policy,
                      std::optional<std::chrono::seconds> ttl);
    bool clear_override(const std::string &function);
    void request_recalc();
    // Recent peer and policy events (GET /v1/events, `dfaasctl monitor`); thread-safe.
    const EventLog &events() const { return events_; }
    // The entry port's counters in the Prometheus text format (empty without an entry port).
    std::string entry_metrics() const;

  private:
    // start() up to the API and the loops.
    void prepare();
    void strategy_loop();
    void control_loop();
    void run_period_step(size_t step);
    void gather_functions();
    void gather_node_metrics();
    strategy::Snapshot build_snapshot(std::chrono::system_clock::time_point now);
    void ask_external_model(strategy::Snapshot &snapshot);
    void apply_decision(const strategy::Decision &decision);
    void install(const PolicySet &policies);
    void install_defaults();
    void sync_services(const std::map<std::string, uint16_t> &ports);
    void guarded_control_tick(uint64_t tick);
    void control_tick(uint64_t tick);
    // Between control ticks: the per-peer counters alone, for the failure detector.
    void guarded_failure_check();
    // The peer part of a control tick (agent_peers.cpp); `part` runs each piece on its own.
    void peer_tick(strategy::Instant now,
                   const std::function<void(const char *, const std::function<void()> &)> &part);
    void sync_peers(strategy::Instant now);
    void detect_failures(const std::vector<dp::PeerCounters> &peers, strategy::Instant now);
    peers::Heartbeat local_heartbeat();
    void ensure_strategy();
    void note(const std::string &input, Transition t, const std::string &error = "");

    Config cfg_;
    std::string node_id_;
    AgentDependencies deps_;  // the clients and the factories; the clock is clock_
    std::shared_ptr<const AgentClock> clock_;
    std::chrono::system_clock::time_point started_at_;
    PortAllocator ports_;
    std::unique_ptr<strategy::Forecaster> forecaster_;
    std::unique_ptr<strategy::Strategy> strategy_;
    StrategyKind strategy_kind_ = StrategyKind::AllLocal;
    strategy::PeerTable peer_table_;  // stays empty without the peer protocol
    std::unique_ptr<PeerNetwork> peers_;

    mutable std::mutex mu_;  // everything below, and every call on dp_
    std::unique_ptr<DataplaneControl> dp_;
    InputHealth health_;
    ReadinessBoard readiness_;  // not under mu_: published from health_ by note()
    RateMeter rate_meter_;
    Overrides overrides_;
    std::map<std::string, KnownFunction> functions_;
    PolicySet strategy_policies_;  // the strategy's last word per function
    PolicySet installed_;
    NodeMetrics node_metrics_;
    std::map<std::string, double> period_user_rates_;
    std::optional<dp::Stats> period_baseline_;
    std::chrono::steady_clock::time_point period_baseline_at_{};
    // The reading before period_baseline_ and the seconds between them: the last period's
    // window, which the external model's observation measures.
    std::optional<dp::Stats> period_start_stats_;
    double period_seconds_ = 0;
    std::optional<strategy::Decision> previous_step_;
    std::optional<strategy::Snapshot> last_snapshot_;
    std::optional<strategy::NodeWindow> external_previous_window_;
    std::string external_cpu_source_;  // cpu_source_name() of the last observation
    RecalcRecord last_recalc_;
    std::vector<double> recalc_durations_s_;
    StepDurationHistogram step_durations_;
    uint64_t policy_updates_ = 0;
    uint64_t ct_entries_ = 0;
    uint64_t ct_expired_total_ = 0;
    std::optional<dp::Stats> last_stats_;
    std::optional<dp::Status> last_status_;
    FailureDetector failure_detector_;
    std::set<Ipv4> unreachable_;
    EventLog events_;

    std::mutex wake_mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool recalc_requested_ = false;
    std::thread strategy_thread_, control_thread_, api_thread_, health_thread_;
    // The API and, on its own threads, /healthz and /readyz (api.health_listen).
    std::unique_ptr<peers::GuardedServer> api_, health_api_;

    // ---- restarts lose nothing (issue 14) ----
    // Reads node.state_file into overrides_ (mu_ not needed: before the threads start).
    void load_state();
    // Writes overrides_ to node.state_file (mu_ held); logs and counts a failure.
    void persist_state();
    // Makes the peers the data plane still holds provisional members for one TTL.
    void seed_peers_from_dataplane();
    // Functions the data plane serves (a restart) until OpenFaaS answers.
    void seed_functions_from_dataplane();
    uint64_t state_file_refused_ = 0;       // mu_
    uint64_t state_file_write_errors_ = 0;  // mu_
    bool state_file_failing_ = false;       // mu_: one log line per change
    EmptyFunctionListGuard empty_list_guard_{std::chrono::milliseconds(0)};  // set in start()
    uint64_t empty_function_lists_held_ = 0;                                 // mu_

    // ---- scale limits are policies, not crashes (issue 14): counted, never thrown (mu_) ----
    void guarded_period_step(size_t step);
    void note_skipped_functions(std::map<std::string, std::string> skipped);
    std::vector<std::string> port_problems_;                // the allocator's, last period
    std::map<std::string, std::string> skipped_functions_;  // function -> reason
    size_t peers_over_capacity_ = 0;
    size_t peer_services_refused_ = 0;
    std::set<std::string> refused_peer_services_;  // as last logged
    std::set<Ipv4> refused_peers_;                 // the data plane refused them (last tick)
    uint64_t step_failures_ = 0;
    uint64_t tick_failures_ = 0;
    uint64_t install_failures_ = 0;
    uint64_t peer_sync_failures_ = 0;

    // ---- a peer gets forwarded connections only once it admits them (issue 14) (mu_) ----
    // Recomputes admissions_ from the membership and logs what changed; true when it changed.
    bool refresh_admissions(strategy::Instant now);
    // Raises the limit_in a step's messages promise to peers before they are sent.
    void admit_promised_limits(const std::vector<strategy::OutgoingMessage> &messages);
    PeerAdmissions admissions_;  // what each member admits of what this node forwards

    // ---- functions only peers run (issue 19) (mu_) ----
    // Follows what the authorized members report: a function one of them runs and this node
    // does not gets a local port (the port the first runner by id reports) and a peers-only
    // policy; it goes when no member reports it any more. Refusals are counted and logged.
    void sync_remote_functions(strategy::Instant now);
    // The policy of a remote-only function without a strategy policy: its runners, equal weights.
    FunctionPolicy remote_fallback_policy(const KnownFunction &function) const;
    // Removes a remote-only function's service (if it still names it), policy and function id.
    void remove_remote_function(const std::string &name, uint16_t port);
    void note_refused_remote_functions(std::map<std::string, std::string> refused);
    std::map<std::string, KnownFunction> remote_functions_;
    std::map<std::string, std::string> remote_refused_;  // function -> reason, as last logged

    // ---- dfaas.timeout_ms: the feedback guard counts slower responses as failed (mu_) ----
    std::set<std::string> timeout_label_noted_;  // listed functions logged about, once each

    // ---- the entry port (issue 18) ----
    // What the entry routes with: every known function's installed policy (mu_ taken inside).
    entry::RoutingSnapshot entry_routing() const;
    // The data plane's local-cap window for the entry (empty when its maps cannot be opened).
    entry::LocalAdmission entry_local_admission() const;
    std::unique_ptr<entry::EntryServer> entry_;  // set by start(), before the loops

    // ---- the feedback guard (issue 19) (mu_) ----
    // Feeds the guard the last tick's per-route HTTP counters; installs and logs what changed.
    void run_route_guard();
    // The strategy decided again: every guard lifts (logged).
    void lift_route_guards();
    RouteGuard route_guard_;
    // Functions whose guarded route kept its weight (no other route), logged once per guard.
    std::set<std::string> guard_kept_logged_;
};

}  // namespace dfaas::agent
