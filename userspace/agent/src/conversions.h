// Between the configuration's types and the libraries' (data plane, strategies, forecaster).
#pragma once

#include "dfaas/config/config.h"
#include "dfaas/dataplane/types.h"
#include "dfaas/forecast/native_forecaster.h"
#include "dfaas/strategy/strategy.h"

namespace dfaas::agent {

dp::Settings dataplane_settings(const Config &cfg);
strategy::StrategyKind to_strategy_kind(StrategyKind kind);
strategy::NodeType to_strategy_node_type(NodeType type);
forecast::Variant to_forecast_variant(ForecasterVariant variant);
// The group table the strategies use: the configured group file, or the reference's defaults
// when none is configured (labels dfaas.group override either).
strategy::GroupTable to_group_table(const StrategyConfig &strategy);

}  // namespace dfaas::agent
