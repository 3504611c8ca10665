#include "dfaas/strategy/strategy.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "dfaas/strategy/error.h"
#include "dfaas/strategy/strategies.h"

namespace dfaas::strategy {

namespace {

struct NamedKind {
    std::string_view name;
    StrategyKind kind;
};

constexpr std::array<NamedKind, 11> kNames{{
    {"alllocal", StrategyKind::AllLocal},
    {"static", StrategyKind::StaticWeights},
    {"recalc", StrategyKind::Recalc},
    {"nodemargin", StrategyKind::NodeMargin},
    {"nms", StrategyKind::NodeMargin},
    {"external", StrategyKind::External},
    {"alllocalstrategy", StrategyKind::AllLocal},
    {"staticstrategy", StrategyKind::StaticWeights},
    {"recalcstrategy", StrategyKind::Recalc},
    {"nodemarginstrategy", StrategyKind::NodeMargin},
    {"rlagentstrategy", StrategyKind::External},
}};

constexpr std::array<std::string_view, kNames.size()> kNameList = [] {
    std::array<std::string_view, kNames.size()> names{};
    for (size_t i = 0; i < kNames.size(); ++i)
        names[i] = kNames[i].name;
    return names;
}();

std::string lowercase(std::string_view text) {
    std::string result(text);
    for (char &c : result)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return result;
}

// floor(a / b) for b > 0, also for negative a.
int64_t floor_div(int64_t a, int64_t b) {
    return a / b - ((a % b != 0) && (a < 0));
}

}  // namespace

void merge_step(Decision &total, Decision &&step) {
    if (step.policies) total.policies = std::move(step.policies);
    for (auto &message : step.messages)
        total.messages.push_back(std::move(message));
    for (auto &warning : step.warnings)
        total.warnings.push_back(std::move(warning));
    if (!total.degraded) total.degraded = std::move(step.degraded);
    if (step.recalc_plan) total.recalc_plan = std::move(step.recalc_plan);
    if (step.nms) total.nms = std::move(step.nms);
}

std::string_view to_string(StrategyKind kind) {
    for (const auto &named : kNames)
        if (named.kind == kind) return named.name;
    return "unknown";
}

StrategyKind parse_strategy_kind(std::string_view name) {
    const std::string wanted = lowercase(name);
    for (const auto &named : kNames)
        if (named.name == wanted) return named.kind;
    std::string valid;
    for (const auto &named : kNames)
        valid += (valid.empty() ? "" : ", ") + std::string(named.name);
    throw Error("unknown strategy '" + std::string(name) + "'; valid names: " + valid);
}

std::span<const std::string_view> valid_strategy_names() {
    return kNameList;
}

Millis peer_ttl(StrategyKind kind, Millis period) {
    // The reference: RecalcPeriod + RecalcPeriod/5 for Recalc, 2 * RecalcPeriod for the others.
    if (kind == StrategyKind::Recalc) return period + period / 5;
    return 2 * period;
}

std::vector<Millis> Strategy::step_offsets(Millis) const {
    return {Millis{0}};
}

Decision Strategy::decide(const Snapshot &snapshot) const {
    Decision total;
    std::optional<Decision> previous;
    const size_t steps = step_offsets(snapshot.period).size();
    for (size_t index = 0; index < steps; ++index) {
        Decision current = step(snapshot, index, previous ? &*previous : nullptr);
        merge_step(total, Decision(current));
        previous = std::move(current);
    }
    return total;
}

std::unique_ptr<Strategy> make_strategy(StrategyKind kind, const Forecaster *forecaster) {
    switch (kind) {
        case StrategyKind::AllLocal:
            return std::make_unique<AllLocalStrategy>();
        case StrategyKind::StaticWeights:
            return std::make_unique<StaticStrategy>();
        case StrategyKind::Recalc:
            return std::make_unique<RecalcStrategy>();
        case StrategyKind::NodeMargin:
            if (forecaster == nullptr) throw Error("strategy nodemargin needs a forecaster");
            return std::make_unique<NodeMarginStrategy>(*forecaster);
        case StrategyKind::External:
            return std::make_unique<ExternalStrategy>();
    }
    throw Error("unknown strategy kind");
}

Instant next_phase_time(Instant now, Millis period, Millis offset) {
    if (period <= Millis{0}) throw Error("next_phase_time: period must be positive");
    const int64_t p = period.count();
    const int64_t shifted = now.time_since_epoch().count() - offset.count();
    const int64_t next = (floor_div(shifted, p) + 1) * p + offset.count();
    return Instant{Millis{next}};
}

ScheduledStep next_step(const Strategy &strategy, Instant now, Millis period) {
    const auto offsets = strategy.step_offsets(period);
    ScheduledStep best{0, next_phase_time(now, period, offsets.front())};
    for (size_t index = 1; index < offsets.size(); ++index) {
        const Instant at = next_phase_time(now, period, offsets[index]);
        if (at < best.at) best = {index, at};
    }
    return best;
}

}  // namespace dfaas::strategy
