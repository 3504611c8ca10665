// Shell completion generated from the command tree itself, so it never drifts from the CLI.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace dfaas::cli {

// A bash completion script for `app` (dfaasctl completion bash > /etc/bash_completion.d/dfaasctl).
std::string bash_completion(const CLI::App &app);

}  // namespace dfaas::cli
