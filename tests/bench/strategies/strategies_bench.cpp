// One Node Margin decision (15 functions, 10 neighbours, native forecaster), one forecaster
// prediction, and the cheap strategies on the same scale and at 100 functions for comparison.
#include <benchmark/benchmark.h>

#include <optional>

#include "dfaas/forecast/native_forecaster.h"
#include "dfaas/strategy/strategies.h"
#include "forecaster_data.h"

namespace dfaas::strategy {
namespace {

const Instant kNow{Millis{1622548800000}};
constexpr size_t kFunctions = 15;
constexpr size_t kNeighbours = 10;

const forecast::NativeForecaster *forecaster(benchmark::State &state) {
    static const std::optional<forecast::NativeForecaster> loaded = [] {
        const auto directory = dfaas::testing::forecaster_data_dir();
        if (!directory) return std::optional<forecast::NativeForecaster>{};
        return std::optional{
            forecast::NativeForecaster::load(*directory, forecast::Variant::Regression)};
    }();
    if (!loaded) state.SkipWithError(dfaas::testing::forecaster_data_missing_message().c_str());
    return loaded ? &*loaded : nullptr;
}

std::string function_name(size_t i) {
    return "fn" + std::to_string(i);
}

// A mid node (thresholds 120/5.5e9/2.1e6) with 15 functions, 5 per group at 2 (HIGH), 20 (LOW)
// and 6 (MEDIUM) req/s each: predicted cpu 162 > 120, overloaded. Ten idle neighbours (heavy,
// mid, light in turn) with margin 20 each run two thirds of the functions.
Snapshot overloaded_node(StrategyKind kind, size_t functions = kFunctions) {
    Snapshot snapshot;
    snapshot.node_id = "node-00";
    snapshot.node_type = NodeType::Mid;
    snapshot.thresholds = {120.0, 5.5e9, 2.1e6};
    snapshot.period = Millis{10000};
    snapshot.now = kNow;
    snapshot.peers = PeerTable(snapshot.node_id, peer_ttl(kind, snapshot.period));
    const std::array<const char *, 3> groups{"HIGH_USAGE", "LOW_USAGE", "MEDIUM_USAGE"};
    const std::array<double, 3> rates{2.0, 20.0, 6.0};  // per function, by group
    for (size_t i = 0; i < functions; ++i) {
        const std::string name = function_name(i);
        snapshot.functions.push_back(
            LocalFunction{name,
                          static_cast<uint16_t>(31000 + i),
                          {{"dfaas.group", groups[i % 3]}, {"dfaas.maxrate", "15"}}});
        snapshot.user_rates[name] = rates[i % 3];
    }
    const std::array<NmsNodeInfo, 3> kinds{NmsNodeInfo{NodeType::Heavy, {235.0, 6.0e9, 3.5e6}, {}},
                                           NmsNodeInfo{NodeType::Mid, {190.0, 5.5e9, 2.1e6}, {}},
                                           NmsNodeInfo{NodeType::Light, {104.0, 4.1e9, 0.7e6}, {}}};
    for (size_t n = 0; n < kNeighbours; ++n) {
        const std::string id = (n + 1 < 10 ? "node-0" : "node-") + std::to_string(n + 1);
        const Ipv4 address{0x0a000000u + static_cast<uint32_t>(n) + 2};
        NmsNodeInfo info = kinds[n % 3];
        std::map<std::string, double> limits;
        for (size_t i = 0; i < functions; ++i) {
            if ((i + n) % 3 == 0) continue;
            info.functions.push_back(function_name(i));
            limits[function_name(i)] = 5.0;
        }
        snapshot.peers.apply(id, address, info, kNow);
        snapshot.peers.apply(id, address, NmsMargin{20.0, GroupLoad{}}, kNow);
        snapshot.peers.apply(id, address, RecalcLimits{limits}, kNow);
        snapshot.peers.apply(id, address, StaticInfo{info.functions}, kNow);
    }
    return snapshot;
}

// One prediction (cpu, ram and power: 300 trees) evaluated from the trees.
void BM_ForecasterPredict(benchmark::State &state) {
    const auto *native = forecaster(state);
    if (native == nullptr) return;
    GroupLoad load{10.0, 120.0, 30.0};
    for (auto _ : state) {
        benchmark::DoNotOptimize(native->predict_without_memo(load, NodeType::Mid));
        load.low += 0.01;  // a new input every time, as in the offloading loop
    }
}
BENCHMARK(BM_ForecasterPredict);

// The same prediction answered from the memo (the common case within one decision).
void BM_ForecasterPredictMemoHit(benchmark::State &state) {
    const auto *native = forecaster(state);
    if (native == nullptr) return;
    const GroupLoad load{10.0, 120.0, 30.0};
    native->predict(load, NodeType::Mid);
    for (auto _ : state)
        benchmark::DoNotOptimize(native->predict(load, NodeType::Mid));
}
BENCHMARK(BM_ForecasterPredictMemoHit);

void report(benchmark::State &state, const Decision &decision) {
    state.counters["accepted_steps"] = static_cast<double>(decision.nms->accepted_steps);
    state.counters["still_overloaded"] = decision.nms->still_overloaded ? 1 : 0;
    state.counters["own_cpu"] = decision.nms->prediction.cpu;
}

// A full decision starting with an empty memo, as after new loads every period.
void BM_NodeMarginDecision(benchmark::State &state) {
    const auto *native = forecaster(state);
    if (native == nullptr) return;
    const Snapshot snapshot = overloaded_node(StrategyKind::NodeMargin);
    const NodeMarginStrategy strategy(*native);
    Decision decision;
    for (auto _ : state) {
        state.PauseTiming();
        native->clear_memo();
        state.ResumeTiming();
        decision = strategy.decide(snapshot);
        benchmark::DoNotOptimize(decision);
    }
    report(state, decision);
}
BENCHMARK(BM_NodeMarginDecision)->Unit(benchmark::kMillisecond);

// The same decision again with the memo of the previous one (unchanged loads).
void BM_NodeMarginDecisionWarmMemo(benchmark::State &state) {
    const auto *native = forecaster(state);
    if (native == nullptr) return;
    const Snapshot snapshot = overloaded_node(StrategyKind::NodeMargin);
    const NodeMarginStrategy strategy(*native);
    Decision decision = strategy.decide(snapshot);
    for (auto _ : state) {
        decision = strategy.decide(snapshot);
        benchmark::DoNotOptimize(decision);
    }
    report(state, decision);
}
BENCHMARK(BM_NodeMarginDecisionWarmMemo)->Unit(benchmark::kMillisecond);

// Both Recalc steps for state.range(0) functions and 10 peers (the agent's cost at scale).
void BM_RecalcBothSteps(benchmark::State &state) {
    const Snapshot snapshot =
        overloaded_node(StrategyKind::Recalc, static_cast<size_t>(state.range(0)));
    const RecalcStrategy strategy;
    for (auto _ : state)
        benchmark::DoNotOptimize(strategy.decide(snapshot));
}
BENCHMARK(BM_RecalcBothSteps)->Arg(15)->Arg(100)->Unit(benchmark::kMicrosecond);

void BM_StaticDecision(benchmark::State &state) {
    const Snapshot snapshot =
        overloaded_node(StrategyKind::StaticWeights, static_cast<size_t>(state.range(0)));
    const StaticStrategy strategy;
    for (auto _ : state)
        benchmark::DoNotOptimize(strategy.decide(snapshot));
}
BENCHMARK(BM_StaticDecision)->Arg(15)->Arg(100)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace dfaas::strategy

BENCHMARK_MAIN();
