// The strategy interface, selection by name, and the timing helpers.
//
// A strategy runs one or more steps per period P: step i at wall-clock instants k·P + offset[i].
// step(snapshot, i, previous) is pure: the same arguments give the same Decision. State that
// crosses steps (Recalc's step-1 plan) travels in the previous step's Decision, never inside the
// strategy object, so one strategy object may serve any number of nodes or threads.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "dfaas/strategy/decision.h"
#include "dfaas/strategy/forecaster.h"
#include "dfaas/strategy/snapshot.h"

namespace dfaas::strategy {

// The strategy a person names (dfaasctl simulate --strategy, a snapshot file's "strategy"): any
// name of dfaas/domain.h's strategy_kind_names() ("recalc", "nodemargin", "static", "alllocal",
// "external" and the reference names "recalcstrategy", …, "rlagentstrategy") or the shorthand
// "nms", case-insensitive. Throws Error listing every valid name otherwise.
StrategyKind select_strategy_kind(std::string_view name);
// Every name select_strategy_kind accepts: strategy_kind_names(), then "nms".
std::span<const std::string_view> valid_strategy_names();

// How long a peer entry lives after its last message: 1.2·P for Recalc, 2·P otherwise.
Millis peer_ttl(StrategyKind kind, Millis period);

class Strategy {
  public:
    virtual ~Strategy() = default;
    virtual StrategyKind kind() const = 0;

    // Offsets of the steps within a period, ascending, the first 0.
    virtual std::vector<Millis> step_offsets(Millis period) const;

    // Runs step `index`. `previous` is the Decision of step index-1 of the same period (nullptr
    // for step 0). Throws Error on invalid input.
    virtual Decision step(const Snapshot &snapshot, size_t index,
                          const Decision *previous) const = 0;

    // Every step of a period back to back on one snapshot (what `dfaasctl simulate` shows):
    // messages and warnings of all steps, the last policies, the first degraded reason.
    Decision decide(const Snapshot &snapshot) const;
};

// Node Margin needs a forecaster (Error when null); the others ignore it. The forecaster must
// outlive the strategy.
std::unique_ptr<Strategy> make_strategy(StrategyKind kind, const Forecaster *forecaster = nullptr);

// Folds one step's decision into the period's: the latest policies, plan and NMS report win,
// messages and warnings accumulate, the first degraded reason stays.
void merge_step(Decision &total, Decision &&step);

// The first instant strictly after `now` that is ≡ offset (mod period): when a step at that
// offset runs next (the reference sleeps P - (now % P) for step 1, likewise for step 2).
Instant next_phase_time(Instant now, Millis period, Millis offset);

struct ScheduledStep {
    size_t index = 0;
    Instant at{};
};
// The strategy's next step after `now`.
ScheduledStep next_step(const Strategy &strategy, Instant now, Millis period);

}  // namespace dfaas::strategy
