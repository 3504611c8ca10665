// Unit tests of the agent's pure parts: port allocation, rates from counters, overrides, input
// health, the API's request parsing, and the exporter's output through promtool.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "api.h"
#include "input_health.h"
#include "metrics.h"
#include "overrides.h"
#include "port_allocator.h"
#include "rate_meter.h"
#include "views.h"

namespace dfaas::agent {
namespace {

using namespace std::chrono_literals;

TEST(PortAllocator, PinnedPortsWinThenCurrentPortsThenHomeSlots) {
    PortAllocator alloc(31000, 31999, {31005});
    std::vector<PortRequest> req{
        {"figlet", std::nullopt}, {"shasum", 31001}, {"env", std::nullopt}};
    auto a = alloc.assign(req, {{"env", 31001}, {"figlet", 31200}});
    EXPECT_TRUE(a.problems.empty());
    EXPECT_EQ(a.ports.at("shasum"), 31001) << "pinned";
    EXPECT_EQ(a.ports.at("figlet"), 31200) << "keeps its current port";
    // env had 31001, now pinned by shasum: it moves to its home slot.
    EXPECT_EQ(a.ports.at("env"), alloc.home_port("env"));
}

TEST(PortAllocator, IsDeterministicAndProbesPastCollisions) {
    PortAllocator alloc(31000, 31002);
    std::vector<PortRequest> req{{"a", std::nullopt}, {"b", std::nullopt}, {"c", std::nullopt}};
    auto first = alloc.assign(req, {});
    auto second = alloc.assign(req, {});
    EXPECT_EQ(first.ports, second.ports);
    std::set<uint16_t> used;
    for (const auto &[f, p] : first.ports)
        used.insert(p);
    EXPECT_EQ(used.size(), 3u) << "three functions, three distinct ports";
}

TEST(PortAllocator, ReportsExhaustionAndBadPins) {
    PortAllocator alloc(31000, 31000, {8080});
    auto a = alloc.assign({{"a", std::nullopt}, {"b", std::nullopt}, {"c", 8080}}, {});
    EXPECT_EQ(a.ports.size(), 1u);
    ASSERT_EQ(a.problems.size(), 2u);
    EXPECT_NE(a.problems[0].find("reserved"), std::string::npos);
    EXPECT_NE(a.problems[1].find("no free port"), std::string::npos);
}

dp::Stats stats_with(uint64_t local_requests, uint64_t peer_requests, uint64_t rejects) {
    dp::Stats s;
    dp::FunctionStats f;
    f.name = "figlet";
    f.local.requests = local_requests;
    f.reject.connections = rejects;
    f.to_peer[*Ipv4::parse("10.0.0.2")].requests = peer_requests;
    s.functions.push_back(f);
    return s;
}

TEST(RateMeter, RatesAreDifferencesOverTime) {
    RateMeter m;
    auto t0 = std::chrono::steady_clock::time_point{} + 100s;
    EXPECT_TRUE(m.update(stats_with(0, 0, 0), t0).empty()) << "first reading: no rate yet";
    auto r = m.update(stats_with(100, 50, 10), t0 + 2s);
    ASSERT_TRUE(r.count("figlet"));
    EXPECT_DOUBLE_EQ(r["figlet"].local_requests, 50);
    EXPECT_DOUBLE_EQ(r["figlet"].user_requests, 80) << "(100 + 50 + 10) / 2";
    EXPECT_DOUBLE_EQ(r["figlet"].to_peer_requests.begin()->second, 25);
}

TEST(RateMeter, ReusedFunctionIdCountsFromZero) {
    RateMeter m;
    auto t0 = std::chrono::steady_clock::time_point{} + 100s;
    m.update(stats_with(1000, 0, 0), t0);
    auto r = m.update(stats_with(10, 0, 0), t0 + 1s);
    EXPECT_DOUBLE_EQ(r["figlet"].local_requests, 10);
}

TEST(RateMeter, PeriodAverage) {
    auto rates = user_rates_since(stats_with(0, 0, 0), stats_with(90, 30, 0), 10.0);
    EXPECT_DOUBLE_EQ(rates["figlet"], 12.0);
    EXPECT_TRUE(user_rates_since(stats_with(0, 0, 0), stats_with(1, 0, 0), 0).empty());
}

TEST(Overrides, ReplaceTheStrategyUntilTheyExpire) {
    Overrides o;
    WallTime now{};
    FunctionPolicy reject;
    reject.local = 0;
    reject.reject = 100;
    o.set("figlet", reject, now, 60s);
    PolicySet strategy{{"figlet", FunctionPolicy::all_local()},
                       {"env", FunctionPolicy::all_local()}};
    auto merged = o.apply(strategy);
    EXPECT_EQ(merged["figlet"], reject);
    EXPECT_EQ(merged["env"], FunctionPolicy::all_local());
    EXPECT_TRUE(o.expire(now + 59s).empty());
    EXPECT_EQ(o.expire(now + 60s), std::vector<std::string>{"figlet"});
    EXPECT_EQ(o.apply(strategy)["figlet"], FunctionPolicy::all_local());
}

TEST(Overrides, WithoutTtlLastUntilCleared) {
    Overrides o;
    o.set("figlet", FunctionPolicy::all_local(), WallTime{}, std::nullopt);
    EXPECT_TRUE(o.expire(WallTime{} + 24h).empty());
    EXPECT_TRUE(o.clear("figlet"));
    EXPECT_FALSE(o.clear("figlet"));
}

TEST(InputHealth, LogsOncePerChangeAndExplainsNotReady) {
    InputHealth h;
    h.require("openfaas");
    EXPECT_EQ(h.problems(), std::vector<std::string>{"openfaas: no answer yet"});
    auto t = std::chrono::system_clock::time_point{};
    EXPECT_EQ(h.ok("openfaas", t), Transition::BecameHealthy);
    EXPECT_EQ(h.ok("openfaas", t), Transition::None);
    EXPECT_EQ(h.failed("openfaas", "refused", t), Transition::BecameUnhealthy);
    EXPECT_EQ(h.failed("openfaas", "refused", t), Transition::None) << "same error: no new log";
    EXPECT_EQ(h.failed("openfaas", "timeout", t), Transition::BecameUnhealthy) << "new error";
    EXPECT_EQ(h.problems(), std::vector<std::string>{"openfaas: timeout"});
    EXPECT_EQ(h.states().at("openfaas").failures, 3u);
    EXPECT_EQ(h.ok("openfaas", t), Transition::BecameHealthy);
    EXPECT_TRUE(h.problems().empty());
}

// PUT /v1/policies parsing: tests/unit/api_guard (parse_policy_request).

TEST(Metrics, OutputPassesPromtool) {
    AgentView v;
    v.node_id = "node-a";
    v.ready = true;
    v.inputs["openfaas"] = InputState{};
    v.inputs["openfaas"].ever_reported = true;
    v.installed["figlet"] = FunctionPolicy::all_local();
    v.installed["figlet"].peers[*Ipv4::parse("10.0.0.2")] = 30;
    v.period_user_rates["figlet"] = 12.5;
    v.recalc_durations_s = {0.001, 0.002};
    v.last_recalc.iterations = 2;
    // The feedback guard: a peer route guarded now (twice so far), the local one once before.
    const RouteKey guarded_peer{"figlet", *Ipv4::parse("10.0.0.2")};
    v.guard_adjustments[guarded_peer] = 2;
    v.guard_adjustments[RouteKey{"figlet", std::nullopt}] = 1;
    v.guarded_routes[guarded_peer] = GuardedRoute{1.0, "503s"};
    dp::Stats s = stats_with(10, 5, 1);
    s.reasons = {{"pkt_ingress", 42}, {"drop_fib", 0}};
    s.peers.push_back(dp::PeerCounters{*Ipv4::parse("10.0.0.2"), 0, 3, 3, 0, 1});
    // HTTP responses and latencies on two routes, so promtool sees the histogram and the
    // response counters with data (issue 19).
    auto &http = s.functions[0].http_local;
    http.codes[size_t(dp::HttpCode::Ok200)] = 9;
    http.codes[size_t(dp::HttpCode::Other5xx)] = 1;
    http.buckets[3] = 4;
    http.buckets[dp::kHttpBuckets - 1] = 1;
    http.latency_sum_ns = 40'000'000'123;
    http.untimed = 5;
    s.functions[0].http_to_peer[*Ipv4::parse("10.0.0.2")].opaque_connections = 2;
    v.stats = s;
    std::string text = render_metrics(v);
    EXPECT_NE(text.find("dfaas_request_duration_seconds_bucket{function=\"figlet\",route="
                        "\"local\",peer=\"\",le=\"+Inf\"} 5"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("dfaas_opaque_connections_total{function=\"figlet\",route=\"peer\","
                        "peer=\"10.0.0.2\"} 2"),
              std::string::npos);
    EXPECT_NE(text.find("dfaas_connections_total{function=\"figlet\",path=\"local\",peer=\"\"}"),
              std::string::npos);
    EXPECT_NE(
        text.find("dfaas_policy_weight{function=\"figlet\",target=\"peer\",peer=\"10.0.0.2\"} 30"),
        std::string::npos);
    EXPECT_NE(text.find("dfaas_guard_adjustments_total{function=\"figlet\",route=\"10.0.0.2\"} 2"),
              std::string::npos);
    EXPECT_NE(text.find("dfaas_guard_active{function=\"figlet\",route=\"10.0.0.2\"} 1"),
              std::string::npos);
    EXPECT_NE(text.find("dfaas_guard_active{function=\"figlet\",route=\"local\"} 0"),
              std::string::npos);
    EXPECT_NE(text.find("process_cpu_seconds_total"), std::string::npos);
    if (std::system("command -v promtool >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "promtool not installed (scripts/setup.sh installs prometheus)";
    std::string path = testing::TempDir() + "/dfaas-metrics.txt";
    std::ofstream(path) << text;
    std::string cmd = "promtool check metrics < " + path + " 2>&1";
    FILE *p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[256];
    while (fgets(buf, sizeof(buf), p))
        out += buf;
    int rc = pclose(p);
    EXPECT_EQ(rc, 0) << out;
}

// The value of the first line of `text` starting with `series` followed by a space, or -1.
double sample_value(const std::string &text, const std::string &series) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return -1;
}

// Issue 19: per (function, route) HTTP series from dfaas_http_stats. The histogram's buckets are
// cumulative at le = 8 us * 2^i, _count is the timed responses, _sum in seconds; every code has
// a series on a route that answered; routes that never answered have none.
TEST(Metrics, HttpResponsesAndLatencyPerRoute) {
    AgentView v;
    dp::Stats s = stats_with(10, 5, 0);
    auto &fs = s.functions[0];
    fs.http_local.buckets[0] = 2;                     // < 8 us
    fs.http_local.buckets[10] = 3;                    // [4096, 8192) us
    fs.http_local.buckets[dp::kHttpBuckets - 1] = 1;  // above 33.5 s
    fs.http_local.latency_sum_ns = 1'500'000'000;
    fs.http_local.codes[size_t(dp::HttpCode::Ok200)] = 5;
    fs.http_local.codes[size_t(dp::HttpCode::TooMany429)] = 1;
    fs.http_local.untimed = 7;
    const Ipv4 busy = *Ipv4::parse("10.0.0.2"), quiet = *Ipv4::parse("10.0.0.3");
    fs.http_to_peer[busy].codes[size_t(dp::HttpCode::Unavailable503)] = 4;
    fs.http_to_peer[busy].buckets[12] = 4;
    fs.http_to_peer[quiet] = dp::HttpCounters{};
    v.stats = s;
    const std::string text = render_metrics(v);
    const std::string h = "dfaas_request_duration_seconds";
    const std::string local = "function=\"figlet\",route=\"local\",peer=\"\"";
    EXPECT_EQ(sample_value(text, h + "_count{" + local + "}"), 6);
    EXPECT_DOUBLE_EQ(sample_value(text, h + "_sum{" + local + "}"), 1.5);
    EXPECT_EQ(sample_value(text, h + "_bucket{" + local + ",le=\"8e-06\"}"), 2) << text;
    EXPECT_EQ(sample_value(text, h + "_bucket{" + local + ",le=\"0.004096\"}"), 2);
    EXPECT_EQ(sample_value(text, h + "_bucket{" + local + ",le=\"0.008192\"}"), 5);
    EXPECT_EQ(sample_value(text, h + "_bucket{" + local + ",le=\"33.554432\"}"), 5);
    EXPECT_EQ(sample_value(text, h + "_bucket{" + local + ",le=\"+Inf\"}"), 6);
    size_t buckets = 0;
    for (size_t at = text.find(h + "_bucket{" + local); at != std::string::npos;
         at = text.find(h + "_bucket{" + local, at + 1))
        ++buckets;
    EXPECT_EQ(buckets, 24u) << "23 finite bounds and +Inf";
    EXPECT_EQ(sample_value(text, "dfaas_responses_total{" + local + ",code=\"200\"}"), 5);
    EXPECT_EQ(sample_value(text, "dfaas_responses_total{" + local + ",code=\"429\"}"), 1);
    EXPECT_EQ(sample_value(text, "dfaas_responses_total{" + local + ",code=\"malformed\"}"), 0);
    EXPECT_EQ(sample_value(text, "dfaas_responses_untimed_total{" + local + "}"), 7);
    const std::string peer = "function=\"figlet\",route=\"peer\",peer=\"10.0.0.2\"";
    EXPECT_EQ(sample_value(text, "dfaas_responses_total{" + peer + ",code=\"503\"}"), 4);
    EXPECT_EQ(sample_value(text, h + "_count{" + peer + "}"), 4);
    EXPECT_EQ(text.find("route=\"forwarded_in\""), std::string::npos) << "never answered";
    EXPECT_EQ(text.find("route=\"peer\",peer=\"10.0.0.3\""), std::string::npos);
}

// Issue 16: the step histogram is cumulative. Before, it was rebuilt from the last 256 durations,
// so past 256 steps _count stopped and buckets went down when slow steps left the window.
TEST(Metrics, StepHistogramIsCumulativeAcrossRenders) {
    AgentView v;
    for (int i = 0; i < 300; ++i)
        v.step_durations.observe(0.2);  // in the (0.1, 0.25] bucket
    const std::string first = render_metrics(v);
    for (int i = 0; i < 300; ++i)
        v.step_durations.observe(0.0001);  // fast steps: slow ones must still be counted
    const std::string second = render_metrics(v);
    const std::string b = "dfaas_strategy_step_duration_seconds";
    EXPECT_EQ(sample_value(first, b + "_count"), 300);
    EXPECT_EQ(sample_value(second, b + "_count"), 600) << "_count keeps growing past 256 steps";
    EXPECT_NEAR(sample_value(second, b + "_sum"), 300 * 0.2 + 300 * 0.0001, 1e-6);
    EXPECT_EQ(sample_value(second, b + "_bucket{le=\"0.0005\"}"), 300);
    EXPECT_EQ(sample_value(second, b + "_bucket{le=\"0.1\"}"), 300);
    EXPECT_EQ(sample_value(second, b + "_bucket{le=\"0.25\"}"), 600);
    EXPECT_EQ(sample_value(second, b + "_bucket{le=\"+Inf\"}"), 600);
    for (double le : StepDurationHistogram::kBounds) {
        std::ostringstream series;
        series << b << "_bucket{le=\"" << le << "\"}";
        EXPECT_LE(sample_value(first, series.str()), sample_value(second, series.str()))
            << series.str() << " went down";
    }
}

// Issue 16: Prometheus naming conventions (base units, _ratio, _timestamp_seconds, the standard
// process_* set instead of an own start time, one label name for a peer), then promtool.
TEST(Metrics, NamesFollowPrometheusConventions) {
    AgentView v;
    v.node_metrics.cpu_percent = 250;  // the query answers in percent of one core
    v.started_at = std::chrono::system_clock::now();
    PeerView peer;
    peer.id = "node-b";
    peer.address = *Ipv4::parse("10.0.0.2");
    peer.last_seen = strategy::Instant(std::chrono::milliseconds(1'700'000'000'000));
    v.peers.push_back(peer);
    const std::string text = render_metrics(v);
    EXPECT_EQ(sample_value(text, "dfaas_node_cpu_ratio"), 2.5);
    EXPECT_EQ(sample_value(text, "dfaas_peer_last_seen_timestamp_seconds{peer=\"10.0.0.2\"}"),
              1.7e9);
    EXPECT_EQ(sample_value(text, "dfaas_peer_up{peer=\"10.0.0.2\"}"), 1);
    EXPECT_EQ(sample_value(text, "dfaas_peer_info{peer=\"10.0.0.2\",node_id=\"node-b\"}"), 1);
    const double start = sample_value(text, "process_start_time_seconds");
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_GT(start, 1.6e9);
    EXPECT_LE(start, now + 1) << "the process started before now";
    for (const char *gone : {"dfaas_start_time_seconds", "_percent", "_age_seconds", "peer_id="})
        EXPECT_EQ(text.find(gone), std::string::npos) << gone << " is still exported";
    if (std::system("command -v promtool >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "promtool not installed (scripts/setup.sh installs prometheus)";
    std::string path = testing::TempDir() + "/dfaas-metrics-conventions.txt";
    std::ofstream(path) << text;
    std::string cmd = "promtool check metrics < " + path + " 2>&1";
    FILE *p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[256];
    while (fgets(buf, sizeof(buf), p))
        out += buf;
    EXPECT_EQ(pclose(p), 0) << out;
}

}  // namespace
}  // namespace dfaas::agent

// An input's error message may quote a garbage answer byte for byte (the fault suite's Prometheus
// answering random bytes made /readyz answer {"error": "...invalid UTF-8 byte..."}): the API's
// text must still be JSON, with the bad bytes replaced.
TEST(ApiText, InvalidUtf8InAReasonIsReplacedNotThrown) {
    nlohmann::json body{{"ready", false},
                        {"reasons", {std::string("prometheus: bad answer \xff\xfe'\x80 end")}}};
    std::string text;
    ASSERT_NO_THROW(text = dfaas::agent::api_json_text(body));
    auto parsed = nlohmann::json::parse(text);
    EXPECT_EQ(parsed["ready"], false);
    const std::string reason = parsed["reasons"][0];
    EXPECT_NE(reason.find("prometheus: bad answer \xEF\xBF\xBD"), std::string::npos) << reason;
    EXPECT_NE(reason.find(" end"), std::string::npos) << reason;
}
