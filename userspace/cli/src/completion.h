// Shell completion generated from the command tree itself, so it never drifts from the CLI.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>

namespace dfaas::cli {

// Words the tree cannot tell: the values an option takes ("--output" -> "table json yaml") and
// the arguments of a command (" completion" -> "bash zsh fish"), keyed by option name or by
// command path (" dp service").
struct CompletionExtras {
    std::map<std::string, std::string> option_values;
    std::map<std::string, std::string> command_arguments;
};

// The completion script for `shell` ("bash", "zsh" or "fish"):
//   dfaasctl completion bash > /etc/bash_completion.d/dfaasctl
//   dfaasctl completion zsh > "${fpath[1]}/_dfaasctl"
//   dfaasctl completion fish > ~/.config/fish/completions/dfaasctl.fish
std::string completion_script(const CLI::App &app, const std::string &shell,
                              const CompletionExtras &extras);

}  // namespace dfaas::cli
