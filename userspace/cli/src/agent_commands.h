// The agent-facing commands of dfaasctl (status, functions, peers, policies, stats, recalc,
// policy set|clear, snapshot) over the agent's HTTP API.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "agent_client.h"
#include "dp_commands.h"

namespace dfaas::cli {

void add_agent_commands(CLI::App &app, GlobalOptions &global, AgentOptions &agent,
                        std::function<int()> &run);

}  // namespace dfaas::cli
