// `dfaasctl dp ...`: the low-level commands that operate on the pinned maps directly (root).
// They work whether or not the agent runs.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "output.h"

namespace dfaas::dp {
class Error;
}  // namespace dfaas::dp

namespace dfaas::cli {

struct GlobalOptions {
    Format format = Format::Table;
    std::string bpffs = "/sys/fs/bpf/dfaas";
};

// The exit code of a data-plane error (the table in docs/operations.md): permission, not found,
// else a run-time failure.
int exit_code_for(const dfaas::dp::Error &e);

// Registers the `dp` subcommand tree; `run` receives the action chosen on the command line.
void add_dp_commands(CLI::App &app, GlobalOptions &global, std::function<int()> &run);

}  // namespace dfaas::cli
