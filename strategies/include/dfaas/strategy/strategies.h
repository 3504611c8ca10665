// The concrete strategies. Most callers only need make_strategy() from strategy.h; the classes and
// the Recalc step functions are public for tests, the agent's Recalc scheduling, and tools.
#pragma once

#include <string>

#include "dfaas/strategy/strategy.h"

namespace dfaas::strategy {

// Every local function: local 100. No peer messages.
class AllLocalStrategy final : public Strategy {
  public:
    StrategyKind kind() const override { return StrategyKind::AllLocal; }
    Decision step(const Snapshot &snapshot, size_t index, const Decision *previous) const override;
};

// 60 local and 40 shared by the live peers that run the function; 100 local without such peers.
class StaticStrategy final : public Strategy {
  public:
    StrategyKind kind() const override { return StrategyKind::StaticWeights; }
    Decision step(const Snapshot &snapshot, size_t index, const Decision *previous) const override;
};

// Weight of each of `runners` peers under Static: round(40 / runners).
uint32_t static_peer_weight(size_t runners);

// The original DFaaS algorithm: step 1 at k·P (LimitIn, messages), step 2 at k·P + P/2 (weights).
class RecalcStrategy final : public Strategy {
  public:
    StrategyKind kind() const override { return StrategyKind::Recalc; }
    std::vector<Millis> step_offsets(Millis period) const override;
    Decision step(const Snapshot &snapshot, size_t index, const Decision *previous) const override;
};

// Recalc step 1: overload per function, LimitIn per peer, the limits message for every live
// peer. The Decision carries the plan and no policies.
Decision recalc_step1(const Snapshot &snapshot);
// Recalc step 2: weights from the LimitOut values peers sent since, policies for every local
// function and for functions only peers run.
Decision recalc_step2(const Snapshot &snapshot, const RecalcPlan &plan);

// Node Margin: forecasts decide overload; 1 % steps move load to neighbours with margin.
class NodeMarginStrategy final : public Strategy {
  public:
    // `forecaster` must outlive the strategy.
    explicit NodeMarginStrategy(const Forecaster &forecaster) : forecaster_(&forecaster) {}
    StrategyKind kind() const override { return StrategyKind::NodeMargin; }
    Decision step(const Snapshot &snapshot, size_t index, const Decision *previous) const override;

  private:
    const Forecaster *forecaster_;
};

// Mean over cpu, ram and power of prediction·100/threshold.
double usage_percent(const Prediction &prediction, const Thresholds &thresholds);
// Any metric strictly above its threshold.
bool exceeds(const Prediction &prediction, const Thresholds &thresholds);

// Upper bound on Node Margin loop iterations per decision (the reference could loop forever when
// the forecasts do not react to moved load).
inline constexpr size_t kNmsMaxIterations = 20000;

// An external model (the reference's RL agent) chooses proportions; see external.h for the
// observation it is sent.
class ExternalStrategy final : public Strategy {
  public:
    StrategyKind kind() const override { return StrategyKind::External; }
    Decision step(const Snapshot &snapshot, size_t index, const Decision *previous) const override;
};

}  // namespace dfaas::strategy
