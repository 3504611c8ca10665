// "Did you mean …?" for a mistyped command or option, from the command tree and the shared
// suggester (dfaas/suggest.h) the agent's configuration uses for unknown keys.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dfaas::cli {

// The first word of `args` (argv without the program name) that names no command or option where
// it stands, as a one-line message with the likely intended word when one is close enough:
//   unknown command "sevice" for "dfaasctl dp"; did you mean "service"?
//   unknown option "--outptu"; did you mean "--output"?
// nullopt when every word is known (the parse failed for another reason).
std::optional<std::string> unknown_word_message(const CLI::App &app,
                                                const std::vector<std::string> &args);

}  // namespace dfaas::cli
