#include "dfaas/strategy/strategy.h"

#include <string>
#include <vector>

#include "dfaas/strategy/error.h"
#include "dfaas/strategy/strategies.h"

namespace dfaas::strategy {

namespace {

// dfaasctl's shorthand for Node Margin; not a config name (the agent's strategy.name keeps the
// names of dfaas/domain.h).
constexpr std::string_view kNodeMarginShorthand = "nms";

const std::vector<std::string_view> &selectable_names() {
    static const std::vector<std::string_view> names = [] {
        std::vector<std::string_view> list;
        for (const auto &entry : strategy_kind_names())
            list.push_back(entry.name);
        list.push_back(kNodeMarginShorthand);
        return list;
    }();
    return names;
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

StrategyKind select_strategy_kind(std::string_view name) {
    if (auto kind = parse_strategy_kind(name, NameCase::Ignore)) return *kind;
    if (names_match(name, kNodeMarginShorthand, NameCase::Ignore)) return StrategyKind::NodeMargin;
    std::string valid;
    for (auto candidate : selectable_names())
        valid += (valid.empty() ? "" : ", ") + std::string(candidate);
    throw Error("unknown strategy '" + std::string(name) + "'; valid names: " + valid);
}

std::span<const std::string_view> valid_strategy_names() {
    return selectable_names();
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
