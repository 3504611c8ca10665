// The what-if tools for researchers: `dfaasctl forecast` (the Node Margin forecaster) and
// `dfaasctl simulate` (a strategy on a snapshot, or a federation of nodes over N periods). Both
// run offline on the very code the agent runs (dfaas_strategies, dfaas_forecast).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "dp_commands.h"

namespace dfaas::cli {

// Registers `forecast` and `simulate`; `run` receives the action chosen on the command line.
void add_whatif_commands(CLI::App &app, GlobalOptions &global, std::function<int()> &run);

}  // namespace dfaas::cli
