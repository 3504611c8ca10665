// The command line of dfaas-loadgen, turned into a validated RunConfig plus output options.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "dfaas/loadgen/engine.h"

namespace dfaas::loadgen {

struct Options {
    RunConfig config;
    bool json = false;
    bool quiet = false;
    std::string timeline_path;  // empty: no timeline
    std::string output_path;    // empty: stdout
};

struct CommandLine {
    bool exit_now = false;  // --help: print `message` and exit with status 0
    std::string message;
    Options options;
};

// Throws UsageError with a message that names the bad flag or value.
CommandLine parse_command_line(int argc, const char *const *argv);

// GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS, as written (upper case).
bool is_allowed_method(std::string_view method);

// "Name: value" -> {"Name", "value"}; rejects malformed names, CR/LF in values and the headers
// the generator owns (Content-Length, Transfer-Encoding, Connection).
std::pair<std::string, std::string> parse_header_flag(const std::string &text);

}  // namespace dfaas::loadgen
