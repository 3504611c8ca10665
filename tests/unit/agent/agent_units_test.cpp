// Unit tests of the agent's pure parts: port allocation, rates from counters, overrides, input
// health, the API's request parsing, and the exporter's output through promtool.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

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
    std::vector<PortRequest> req{{"figlet", std::nullopt}, {"shasum", 31001}, {"env", std::nullopt}};
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
    for (const auto &[f, p] : first.ports) used.insert(p);
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
    PolicySet strategy{{"figlet", FunctionPolicy::all_local()}, {"env", FunctionPolicy::all_local()}};
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
    dp::Stats s = stats_with(10, 5, 1);
    s.reasons = {{"pkt_ingress", 42}, {"drop_fib", 0}};
    s.peers.push_back(dp::PeerCounters{*Ipv4::parse("10.0.0.2"), 0, 3, 3, 0, 1});
    v.stats = s;
    std::string text = render_metrics(v);
    EXPECT_NE(text.find("dfaas_connections_total{function=\"figlet\",path=\"local\",peer=\"\"}"),
              std::string::npos);
    EXPECT_NE(text.find("dfaas_policy_weight{function=\"figlet\",target=\"peer\",peer=\"10.0.0.2\"} 30"),
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
    while (fgets(buf, sizeof(buf), p)) out += buf;
    int rc = pclose(p);
    EXPECT_EQ(rc, 0) << out;
}

}  // namespace
}  // namespace dfaas::agent
