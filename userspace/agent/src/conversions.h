// Between the configuration's types and the libraries' (data plane, strategies, forecaster). The
// shared enumerations (dfaas/domain.h) need no conversion; what is left here assembles settings
// or maps enumerations the configuration still defines on its own.
#pragma once

#include "dfaas/config/config.h"
#include "dfaas/dataplane/types.h"
#include "dfaas/forecast/native_forecaster.h"
#include "dfaas/strategy/strategy.h"

namespace dfaas::agent {

dp::Settings dataplane_settings(const Config &cfg);
// The group table the strategies use: the configured group file, or the reference's defaults
// when none is configured (labels dfaas.group override either).
strategy::GroupTable to_group_table(const StrategyConfig &strategy);

}  // namespace dfaas::agent
