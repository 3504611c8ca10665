// `dfaasctl monitor`: a live stream of data-plane events (new connections and their decisions,
// rejects, forwarded-in connections) from the BPF ring buffer, merged with the agent's peer and
// policy events (GET /v1/events), as table lines or JSON lines.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "agent_client.h"
#include "dp_commands.h"

namespace dfaas::cli {

void add_monitor_command(CLI::App &app, GlobalOptions &global, AgentOptions &agent,
                         std::function<int()> &run);

}  // namespace dfaas::cli
