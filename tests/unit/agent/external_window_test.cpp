// The external model's observation from a recorded period: the data plane's counters at two
// control ticks 10 s apart plus the gateway's Prometheus readings, checked field by field against
// figures computed by hand (docs/strategies.md, "The external model's observation").
#include "external_window.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <thread>

#include "dfaas/strategy/external.h"
#include "dfaas/strategy/json.h"
#include "dfaas/strategy/peer_table.h"
#include "agent.h"
#include "agent_fakes.h"
#include "metrics.h"

namespace dfaas::agent {
namespace {

Ipv4 ip(const char *text) {
    return *Ipv4::parse(text);
}

const Ipv4 kPeerB = ip("10.0.0.2");
const Ipv4 kPeerC = ip("10.0.0.3");
const Ipv4 kNotAMember = ip("10.0.0.9");

dp::PathCounters path(uint64_t connections, uint64_t requests) {
    dp::PathCounters counters;
    counters.connections = connections;
    counters.requests = requests;
    return counters;
}

dp::PeerCounters peer(Ipv4 addr, uint64_t rst_returned) {
    dp::PeerCounters counters;
    counters.addr = addr;
    counters.rst_returned = rst_returned;
    return counters;
}

dp::FunctionStats function(std::string name, dp::PathCounters local, uint64_t rejected,
                           std::map<Ipv4, dp::PathCounters> to_peer = {}) {
    dp::FunctionStats f;
    f.name = std::move(name);
    f.local = local;
    f.reject.connections = rejected;
    f.to_peer = std::move(to_peer);
    return f;
}

// One route's HTTP counters: responses by status, `timed` of them timed (all in one histogram
// bucket: the observation uses the count and the sum only), with latencies summing to
// `latency_sum_ms`.
dp::HttpCounters http(std::map<dp::HttpCode, uint64_t> responses, uint64_t timed,
                      uint64_t latency_sum_ms) {
    dp::HttpCounters counters;
    for (const auto &[code, count] : responses)
        counters.codes[size_t(code)] = count;
    counters.buckets[12] = timed;
    counters.latency_sum_ns = latency_sum_ms * 1000000;
    return counters;
}

using enum dp::HttpCode;

// Tick 1, when the period opened.
dp::Stats first_tick() {
    dp::Stats stats;
    stats.functions = {
        function("f", path(100, 150), 10, {{kPeerB, path(20, 30)}, {kPeerC, path(5, 5)}}),
        function("g", path(50, 50), 0)};
    dp::FunctionStats &f = stats.functions[0];
    f.http_local = http({{Ok200, 140}, {Unavailable503, 5}, {Other1xx, 3}}, 140, 7000);
    f.http_to_peer = {{kPeerB, http({{Ok200, 25}, {TooMany429, 2}}, 27, 2700)},
                      {kPeerC, http({{Ok200, 5}}, 5, 150)}};
    stats.functions[1].http_local = http({{Ok200, 50}}, 50, 10000);
    stats.peers = {peer(kPeerB, 5), peer(kPeerC, 0), peer(kNotAMember, 7)};
    return stats;
}

// Tick 2, 10 s later. Growth per function:
//   f: local +60 connections / +100 requests, rejected +20, to B +20 connections / +40 requests,
//      to C +0, to the non-member +10 / +10 (no counters at tick 1)
//      HTTP local: +90 200, +2 other 2xx, +6 503, +1 404 (99 final responses: one request still
//      unanswered), +4 interim 1xx (not final); 95 timed, +3800 ms
//      HTTP to B: +36 200, +3 503, +1 429; 40 timed, +1000 ms; to C: nothing;
//      to the non-member: 10 503, 10 timed, 5000 ms
//   g: local +40 / +40, HTTP local +40 200, 40 timed, +6000 ms; new since tick 1: to B 10 / 10,
//      HTTP to B 10 200, 10 timed, 850 ms
//   h: new since tick 1: local 10 / 10, rejected 10; HTTP local 8 200 + 2 502, none timed
//      (pipelined)
// Peers: B returned 6 more RSTs, C 2, the non-member 2.
dp::Stats second_tick() {
    dp::Stats stats;
    stats.functions = {
        function("f", path(160, 250), 30,
                 {{kPeerB, path(40, 70)}, {kPeerC, path(5, 5)}, {kNotAMember, path(10, 10)}}),
        function("g", path(90, 90), 0, {{kPeerB, path(10, 10)}}), function("h", path(10, 10), 10)};
    dp::FunctionStats &f = stats.functions[0];
    f.http_local =
        http({{Ok200, 230}, {Other2xx, 2}, {Unavailable503, 11}, {NotFound404, 1}, {Other1xx, 7}},
             235, 10800);
    f.http_to_peer = {{kPeerB, http({{Ok200, 61}, {TooMany429, 3}, {Unavailable503, 3}}, 67, 3700)},
                      {kPeerC, http({{Ok200, 5}}, 5, 150)},
                      {kNotAMember, http({{Unavailable503, 10}}, 10, 5000)}};
    dp::FunctionStats &g = stats.functions[1];
    g.http_local = http({{Ok200, 90}}, 90, 16000);
    g.http_to_peer = {{kPeerB, http({{Ok200, 10}}, 10, 850)}};
    dp::FunctionStats &h = stats.functions[2];
    h.http_local = http({{Ok200, 8}, {BadGateway502, 2}}, 0, 0);
    h.http_local.untimed = 10;
    stats.peers = {peer(kPeerB, 11), peer(kPeerC, 2), peer(kNotAMember, 9)};
    return stats;
}

struct Recorded {
    dp::Stats start = first_tick();
    dp::Stats end = second_tick();
    WindowSources sources() const {
        WindowSources s;
        s.start = &start;
        s.end = &end;
        s.seconds = 10;
        s.peer_ids = {{kPeerB, "B"}, {kPeerC, "C"}};
        // h had no request in Prometheus' window: NaN, as the gateway query gives it.
        s.mean_latency_s = {
            {"f", 0.080}, {"g", 0.200}, {"h", std::numeric_limits<double>::quiet_NaN()}};
        s.cpu_percent = 150;  // 1.5 cores busy
        s.node_cores = 4;
        s.replicas = 3;
        return s;
    }
};

TEST(ExternalWindow, RecordedPeriodGivesEveryFieldInTheReferenceUnits) {
    const Recorded recorded;
    const strategy::NodeWindow window = measure_window(recorded.sources());

    // User requests (local requests + rejected connections + requests to peers):
    // f 170, g 50, h 20 = 240 in 10 s.
    EXPECT_DOUBLE_EQ(window.input_rate, 24.0);
    // Requests for this node not answered 2xx: local non-2xx answers f 6 503 + 1 404, h 2 502 =
    // 9, plus the rejected connections f 20 + h 10 = 30. Of: the local route's requests, the
    // larger of its final responses (f 99 + g 40 + h 10 = 149) and its request starts (100 + 40
    // + 10 = 150), plus the 30 rejected: 39 / 180.
    EXPECT_DOUBLE_EQ(window.reject_rate, 39.0 / 180.0);
    // The data plane timed local responses: (f 3800 + g 6000 ms) / (95 + 40) = 72.59 ms; the
    // gateway's means are not used.
    EXPECT_DOUBLE_EQ(window.avg_response_time_local_ms, 9800.0 / 135);
    // 1.5 busy cores of 4.
    EXPECT_DOUBLE_EQ(window.cpu_utilization, 0.375);
    EXPECT_DOUBLE_EQ(window.replicas, 3.0);

    // Only the named peers; the non-member's 10 requests count as input but not as a peer.
    ASSERT_EQ(window.peers.size(), 2u);
    const strategy::PeerWindow &b = window.peers.at("B");
    EXPECT_DOUBLE_EQ(b.forwarded_rate, 5.0);  // f 40 + g 10 requests in 10 s
    // Non-2xx answers f 3 503 + 1 429, plus 11 - 5 RSTs: 10 in 10 s.
    EXPECT_DOUBLE_EQ(b.forwarded_rejected_rate, 1.0);
    // (f 1000 + g 850 ms) / (40 + 10) timed = 37 ms.
    EXPECT_DOUBLE_EQ(b.avg_response_time_ms, 37.0);
    const strategy::PeerWindow &c = window.peers.at("C");
    EXPECT_DOUBLE_EQ(c.forwarded_rate, 0.0);
    EXPECT_DOUBLE_EQ(c.forwarded_rejected_rate, 0.2);  // 2 - 0 RSTs in 10 s
    EXPECT_DOUBLE_EQ(c.avg_response_time_ms, 0.0);     // nothing timed in the window
}

TEST(ExternalWindow, WithoutTimedResponsesTheGatewayMeanAndTheDataPlaneRejectsRemain) {
    // The same period with no HTTP counters (TLS or HTTP/2 functions, or a data plane that
    // records no HTTP): avg_resp_time_loc falls back to the gateway, reject_rate to what this
    // node's data plane refused, and the peers' fields to their RSTs.
    Recorded recorded;
    for (dp::Stats *stats : {&recorded.start, &recorded.end})
        for (dp::FunctionStats &f : stats->functions) {
            f.http_local = {};
            f.http_to_peer.clear();
        }
    const strategy::NodeWindow window = measure_window(recorded.sources());
    // Gateway means weighted by the local requests of the window, h (NaN) left out:
    // (100 x 80 ms + 40 x 200 ms) / 140 = 114.2857 ms.
    EXPECT_DOUBLE_EQ(window.avg_response_time_local_ms, (100 * 80.0 + 40 * 200.0) / 140);
    // Rejected 30 of 150 local requests + 30 rejected.
    EXPECT_DOUBLE_EQ(window.reject_rate, 30.0 / 180.0);
    EXPECT_DOUBLE_EQ(window.peers.at("B").forwarded_rejected_rate, 0.6);  // 6 RSTs in 10 s
    EXPECT_DOUBLE_EQ(window.peers.at("B").avg_response_time_ms, 0.0);
}

TEST(ExternalWindow, ObservationCarriesTheMeasuredWindow) {
    const Recorded recorded;
    strategy::Snapshot snapshot;
    snapshot.node_id = "A";
    snapshot.now = strategy::Instant{strategy::Millis{1622548800000}};
    snapshot.peers = strategy::PeerTable("A", strategy::Millis{60000});
    snapshot.peers.record_membership("B", kPeerB, {"f"}, snapshot.now);
    snapshot.peers.record_membership("C", kPeerC, {"f"}, snapshot.now);
    // The period before: what the model sees as previous_*.
    snapshot.external.previous = measure_window(recorded.sources());
    // The period just ended: nothing moved in the data plane, the node is idle.
    WindowSources idle = recorded.sources();
    idle.start = &recorded.end;
    idle.cpu_percent = 20;
    idle.replicas = 2;
    snapshot.external.current = measure_window(idle);

    const strategy::Json json =
        strategy::observation_to_json(strategy::build_observation(snapshot));
    const strategy::Json &me = json.at("observation").at("node_A");
    EXPECT_DOUBLE_EQ(me.at("input_rate").get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(me.at("previous_input_rate").get<double>(), 24.0);
    EXPECT_DOUBLE_EQ(me.at("previous_fwd_to_node_B").get<double>(), 5.0);
    EXPECT_DOUBLE_EQ(me.at("previous_fwd_to_node_B_rejected").get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(me.at("previous_fwd_to_node_C").get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(me.at("previous_fwd_to_node_C_rejected").get<double>(), 0.2);
    EXPECT_DOUBLE_EQ(me.at("reject_rate").get<double>(), 0.0);  // no connection: 0, not NaN
    EXPECT_DOUBLE_EQ(me.at("previous_reject_rate").get<double>(), 39.0 / 180.0);
    // Nothing timed and no local request in the idle window: no weight for the gateway's means.
    EXPECT_DOUBLE_EQ(me.at("avg_resp_time_loc").get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(me.at("previous_avg_resp_time_loc").get<double>(), 9800.0 / 135);
    EXPECT_DOUBLE_EQ(me.at("previous_avg_resp_time_fwd_to_node_B").get<double>(), 37.0);
    EXPECT_DOUBLE_EQ(me.at("previous_avg_resp_time_fwd_to_node_C").get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(me.at("cpu_utilization").get<double>(), 0.05);  // 0.2 cores of 4
    EXPECT_DOUBLE_EQ(me.at("previous_cpu_utilization").get<double>(), 0.375);
    EXPECT_DOUBLE_EQ(me.at("n_replicas").get<double>(), 2.0);
    EXPECT_DOUBLE_EQ(me.at("previous_n_replicas").get<double>(), 3.0);
    EXPECT_EQ(me.size(), 16u);  // 10 node fields + 3 per peer
    EXPECT_EQ(json.at("agent_parameters").at("explore"), false);
}

TEST(ExternalWindow, ReusedSlotsCountFromZero) {
    // The data plane gave f's id and B's peer slot to new owners: their counters restarted.
    Recorded recorded;
    recorded.start = second_tick();
    recorded.end = first_tick();
    WindowSources s = recorded.sources();
    s.start = &recorded.start;
    s.end = &recorded.end;
    const strategy::NodeWindow window = measure_window(s);
    // Every counter of tick 1 is below tick 2's: each counts in full.
    // User requests: f 150+10+30+5 = 195, g 50 -> 245 in 10 s.
    EXPECT_DOUBLE_EQ(window.input_rate, 24.5);
    // B: 5 RSTs + f's 2 429s.
    EXPECT_DOUBLE_EQ(window.peers.at("B").forwarded_rejected_rate, 0.7);
    // B: f's 2700 ms over 27 timed; local: (f 7000 + g 10000 ms) / (140 + 50).
    EXPECT_DOUBLE_EQ(window.peers.at("B").avg_response_time_ms, 100.0);
    EXPECT_DOUBLE_EQ(window.avg_response_time_local_ms, 17000.0 / 190);
}

TEST(ExternalWindow, WithoutTwoReadingsOnlyThePrometheusFieldsAreSet) {
    const Recorded recorded;
    WindowSources s = recorded.sources();
    s.start = nullptr;
    const strategy::NodeWindow window = measure_window(s);
    EXPECT_EQ(window.input_rate, 0.0);
    EXPECT_EQ(window.reject_rate, 0.0);
    EXPECT_TRUE(window.peers.empty());
    EXPECT_DOUBLE_EQ(window.cpu_utilization, 0.375);
    // A node CPU above its cores (a query that counts more than this node) is capped at 1.
    s.cpu_percent = 900;
    EXPECT_DOUBLE_EQ(measure_window(s).cpu_utilization, 1.0);
}

// ---- cpu_utilization: the local functions' CPU, as the reference, else the node's -------------

// The reference's cpu_utilization: its function's containers' CPU over the machine's cores. Here
// the functions this node serves locally, summed; the node's CPU is not used when they answered.
TEST(ExternalWindow, CpuUtilizationIsTheLocalFunctionsShare) {
    const Recorded recorded;
    WindowSources s = recorded.sources();  // node: 150 % of 4 cores
    s.local_functions = {"f", "g", "h"};
    // f 60 % + g 20 % of one core; h had no series (no container yet): 0. "remote" runs only on
    // peers (its series comes from a Prometheus that also scrapes them): left out.
    s.function_cpu_percent = {{"f", 60}, {"g", 20}, {"remote", 300}};
    EXPECT_DOUBLE_EQ(measure_window(s).cpu_utilization, 0.2);  // 0.8 cores of 4
    const CpuShare share = cpu_share(s);
    EXPECT_EQ(share.source, CpuSource::Function);
    EXPECT_EQ(cpu_source_name(share.source), "function");
    EXPECT_DOUBLE_EQ(share.utilization, 0.2);
    // Without the data plane's readings too (the first period).
    s.start = nullptr;
    EXPECT_DOUBLE_EQ(measure_window(s).cpu_utilization, 0.2);
}

TEST(ExternalWindow, CpuUtilizationFallsBackToTheNodeWhenNoLocalFunctionAnswered) {
    const Recorded recorded;
    WindowSources s = recorded.sources();
    s.local_functions = {"f", "g"};
    // Only a remote-only function, or NaN for the local ones: the node's 150 % of 4 cores.
    for (const std::map<std::string, double> &answered :
         {std::map<std::string, double>{}, std::map<std::string, double>{{"remote", 300}},
          std::map<std::string, double>{{"f", std::numeric_limits<double>::quiet_NaN()}}}) {
        s.function_cpu_percent = answered;
        EXPECT_DOUBLE_EQ(measure_window(s).cpu_utilization, 0.375);
        EXPECT_EQ(cpu_share(s).source, CpuSource::Node);
    }
    // No function serves locally: the node's share as well.
    s.local_functions.clear();
    s.function_cpu_percent = {{"f", 60}};
    EXPECT_EQ(cpu_share(s).source, CpuSource::Node);
    // Neither: 0, from nothing.
    s.cpu_percent.reset();
    EXPECT_DOUBLE_EQ(measure_window(s).cpu_utilization, 0.0);
    EXPECT_EQ(cpu_share(s).source, CpuSource::None);
    EXPECT_EQ(cpu_source_name(CpuSource::None), "none");
    EXPECT_EQ(cpu_source_name(CpuSource::Node), "node");
}

TEST(ExternalWindow, FunctionCpuShareIsClamped) {
    const Recorded recorded;
    WindowSources s = recorded.sources();
    s.local_functions = {"f", "g"};
    s.function_cpu_percent = {{"f", 300}, {"g", 200}};  // 5 cores' worth on 4 (a wrong query)
    EXPECT_DOUBLE_EQ(measure_window(s).cpu_utilization, 1.0);
    s.function_cpu_percent = {{"f", -50}};  // a counter reset read as a negative rate
    EXPECT_DOUBLE_EQ(measure_window(s).cpu_utilization, 0.0);
    EXPECT_EQ(cpu_share(s).source, CpuSource::Function);
    s.node_cores = 0;  // never divides by zero
    s.function_cpu_percent = {{"f", 50}};
    EXPECT_DOUBLE_EQ(measure_window(s).cpu_utilization, 0.5);
}

// ---- the agent: the observation it POSTs after two periods -----------------------------------

// A model service on loopback that records the observations and answers "all local".
class RecordingModel {
  public:
    RecordingModel() {
        server_.Post("/action", [this](const httplib::Request &request, httplib::Response &reply) {
            std::lock_guard lock(mu_);
            bodies_.push_back(request.body);
            reply.set_content(R"({"node_node-a": {"local": 1, "reject": 0}})", "application/json");
        });
        // Bound and listening here: a POST before the accept loop runs waits in the backlog.
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }
    ~RecordingModel() {
        server_.stop();
        thread_.join();
    }
    int port() const { return port_; }
    std::vector<std::string> bodies() {
        std::lock_guard lock(mu_);
        return bodies_;
    }

  private:
    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
    std::mutex mu_;
    std::vector<std::string> bodies_;
};

TEST(ExternalWindow, AgentSendsThePeriodItMeasured) {
    using namespace std::chrono_literals;
    RecordingModel model;
    ASSERT_GT(model.port(), 0);
    const std::string state_file = testing::test_state_file("external_window_test_state");
    Config cfg = testing::loop_test_config(ip("10.0.0.1"), state_file);
    cfg.strategy.name = StrategyKind::External;
    cfg.strategy.period = 10s;
    cfg.strategy.external.url =
        *HttpUrl::parse("http://127.0.0.1:" + std::to_string(model.port()) + "/action");
    cfg.strategy.external.timeout = 2s;
    cfg.strategy.external.explore = true;
    testing::FakeWorld world;
    FunctionInfo f;
    f.name = "f";
    f.replicas = f.available_replicas = 2;
    world.openfaas->functions = {f};
    auto peer_speaks = [&] {
        testing::FakePeerNetwork::heartbeat(*world.peers, "B", kPeerB, {{"f", 31001}}, "external",
                                            world.clock->instant());
    };
    {
        Agent agent(cfg, "node-a", world.dependencies());
        agent.start_without_threads_for_test();
        peer_speaks();
        agent.control_tick_for_test(1);  // B gets its data plane slot
        // Tick 1 of the recorded period (f only; B's counters as at tick 1).
        world.dataplane->function_stats = {first_tick().functions[0]};
        world.dataplane->peer_counters[kPeerB] = peer(kPeerB, 5);
        agent.run_period_step_for_test(0);
        // Tick 2, one period (10 s) later: f grew by 60 local connections / 100 requests, 20
        // rejected, 20 connections / 40 requests to B, 10 / 10 to a non-member; B sent 6 RSTs.
        // HTTP as in second_tick(): local 99 final responses, 7 not 2xx, 95 timed in 3800 ms;
        // B answered 4 non-2xx, 40 timed in 1000 ms.
        world.clock->advance(10s);
        peer_speaks();
        world.dataplane->function_stats = {second_tick().functions[0]};
        world.dataplane->peer_counters[kPeerB] = peer(kPeerB, 11);
        agent.run_period_step_for_test(0);
        // Tick 3, another 10 s later: nothing moved. This observation's previous_* are the
        // recorded period (the peer fields come only as previous_*, as in the reference).
        world.clock->advance(10s);
        peer_speaks();
        agent.run_period_step_for_test(0);
    }
    std::remove(state_file.c_str());

    const auto bodies = model.bodies();
    ASSERT_EQ(bodies.size(), 3u);
    // The first period has one reading only: nothing measured yet.
    const auto first = nlohmann::json::parse(bodies[0]).at("observation").at("node_node-a");
    EXPECT_DOUBLE_EQ(first.at("input_rate").get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(first.at("previous_fwd_to_node_B").get<double>(), 0.0);
    const auto recorded = nlohmann::json::parse(bodies[1]).at("observation").at("node_node-a");
    EXPECT_DOUBLE_EQ(recorded.at("previous_input_rate").get<double>(), 0.0);
    // User requests of f: 170 in 10 s.
    EXPECT_DOUBLE_EQ(recorded.at("input_rate").get<double>(), 17.0);
    // 7 local non-2xx answers + 20 rejected of max(99 answered, 100 requests) + 20.
    EXPECT_DOUBLE_EQ(recorded.at("reject_rate").get<double>(), 27.0 / 120.0);
    EXPECT_DOUBLE_EQ(recorded.at("avg_resp_time_loc").get<double>(), 3800.0 / 95);  // 40 ms
    EXPECT_DOUBLE_EQ(recorded.at("n_replicas").get<double>(), 2.0);
    EXPECT_EQ(nlohmann::json::parse(bodies[1]).at("agent_parameters").at("explore"), true);
    const auto idle = nlohmann::json::parse(bodies[2]).at("observation").at("node_node-a");
    EXPECT_DOUBLE_EQ(idle.at("input_rate").get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(idle.at("previous_input_rate").get<double>(), 17.0);
    EXPECT_DOUBLE_EQ(idle.at("previous_reject_rate").get<double>(), 27.0 / 120.0);
    EXPECT_DOUBLE_EQ(idle.at("previous_fwd_to_node_B").get<double>(), 4.0);  // 40 requests
    // 4 non-2xx answers + 6 RSTs in 10 s.
    EXPECT_DOUBLE_EQ(idle.at("previous_fwd_to_node_B_rejected").get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(idle.at("previous_avg_resp_time_fwd_to_node_B").get<double>(), 25.0);
}

// The agent gathers the function CPU and the cores from Prometheus (cAdvisor's series, as
// faas-sim's node model exports them) and sends the local function's share; when the function
// query gives nothing, the node's share over the same cores, and Prometheus is not failed for it.
TEST(ExternalWindow, AgentSendsTheLocalFunctionsCpuShare) {
    using namespace std::chrono_literals;
    RecordingModel model;
    ASSERT_GT(model.port(), 0);
    const std::string state_file = testing::test_state_file("external_window_cpu_state");
    Config cfg = testing::loop_test_config(ip("10.0.0.1"), state_file);
    cfg.strategy.name = StrategyKind::External;
    cfg.strategy.period = 10s;
    cfg.strategy.external.url =
        *HttpUrl::parse("http://127.0.0.1:" + std::to_string(model.port()) + "/action");
    cfg.strategy.external.timeout = 2s;
    testing::FakeWorld world;
    FunctionInfo f;
    f.name = "f";
    f.replicas = f.available_replicas = 1;
    world.openfaas->functions = {f};
    auto series = [](std::vector<std::pair<std::string, double>> values) {
        PromQueryResult result;
        for (const auto &[name, value] : values) {
            PromSample sample;
            if (!name.empty()) sample.labels = {{"function_name", name}};
            sample.value = value;
            result.samples.push_back(sample);
        }
        return result;
    };
    // f holds 1.2 virtual CPUs of the model's 6; "g" is not served here. The node queries answer
    // 42 % (the fake's default).
    world.prometheus->answers = {
        {"container_cpu_usage_seconds_total", series({{"f", 120}, {"g", 400}})},
        {"machine_cpu_cores", series({{"", 6}})}};
    std::string source_after_first, source_after_second;
    bool prometheus_ok_after_second = false;
    {
        Agent agent(cfg, "node-a", world.dependencies());
        agent.start_without_threads_for_test();
        agent.run_period_step_for_test(0);
        source_after_first = render_metrics(agent.view());
        // cAdvisor stops being scraped: no series.
        world.prometheus->answers = {{"container_cpu_usage_seconds_total", series({})},
                                     {"machine_cpu_cores", series({{"", 6}})}};
        world.clock->advance(10s);
        agent.run_period_step_for_test(0);
        const AgentView view = agent.view();
        source_after_second = render_metrics(view);
        prometheus_ok_after_second = view.inputs.at("prometheus").ok;
        EXPECT_TRUE(view.node_metrics.function_cpu_percent.empty());
        EXPECT_NE(view.node_metrics.function_cpu_error.find("no data"), std::string::npos)
            << view.node_metrics.function_cpu_error;
    }
    std::remove(state_file.c_str());

    const auto bodies = model.bodies();
    ASSERT_EQ(bodies.size(), 2u);
    const auto first = nlohmann::json::parse(bodies[0]).at("observation").at("node_node-a");
    EXPECT_DOUBLE_EQ(first.at("cpu_utilization").get<double>(), 0.2);  // 120 % / 100 / 6
    const auto second = nlohmann::json::parse(bodies[1]).at("observation").at("node_node-a");
    EXPECT_DOUBLE_EQ(second.at("cpu_utilization").get<double>(), 0.07);  // the node's 42 % / 6
    EXPECT_DOUBLE_EQ(second.at("previous_cpu_utilization").get<double>(), 0.2);
    EXPECT_TRUE(prometheus_ok_after_second) << "a missing cAdvisor is no Prometheus failure";
    EXPECT_NE(source_after_first.find("dfaas_external_cpu_source{source=\"function\"} 1\n"),
              std::string::npos)
        << source_after_first;
    EXPECT_NE(source_after_first.find("dfaas_external_cpu_source{source=\"node\"} 0\n"),
              std::string::npos);
    EXPECT_NE(source_after_second.find("dfaas_external_cpu_source{source=\"node\"} 1\n"),
              std::string::npos)
        << source_after_second;
    EXPECT_NE(source_after_second.find("dfaas_external_cpu_source{source=\"function\"} 0\n"),
              std::string::npos);
}

}  // namespace
}  // namespace dfaas::agent
