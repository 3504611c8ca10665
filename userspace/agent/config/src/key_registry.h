// Internal: the table of every configuration key — how to parse it into Config, how to print it
// back, its environment variables and its documentation. The loader, the dump, the key listing
// and the docs all derive from this one table, so they cannot disagree.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dfaas/config/config.h"

namespace dfaas::config_detail {

// A value before typing, with where it came from.
struct RawValue {
    std::vector<std::string> items;  // one item for a scalar
    bool is_list = false;            // given as a YAML sequence
    std::string origin;              // "agent.yaml line 4", "env AGENT_RECALC_PERIOD"

    // The scalar, or the items joined with ", ", for messages.
    std::string text() const;
};

struct KeySpec {
    std::string path;
    std::string type;
    std::string description;
    std::vector<std::string> env_aliases;  // accepted besides the generic DFAAS_* name
    bool is_list = false;
    std::string default_note;  // shown instead of the plain default when it needs explaining

    // Parses `raw` into the config. Returns the reason it cannot, starting with the quoted
    // value: `"-3s" is not a positive duration`.
    std::function<std::optional<std::string>(Config &, const RawValue &)> apply;
    // The current value as config-file text (one entry per item for lists).
    std::function<std::vector<std::string>(const Config &)> render;
    // Tabs and line breaks are part of the value (PromQL templates); every other key refuses
    // them like any control character (text_problem in value_parsers.h).
    bool allows_line_breaks = false;

    // The generic name first, then the aliases.
    std::vector<std::string> env_names() const;
};

const std::vector<KeySpec> &key_specs();
const KeySpec *find_key(std::string_view path);

// True for "strategy", "strategy.nms", … (a prefix of some key's path).
bool is_section(std::string_view path);
// Immediate children of a section ("" = top level), in table order: "name", "period", "nms", …
std::vector<std::string> section_children(std::string_view section);

// Reference variables that each give part of a URL key (AGENT_OPENFAAS_HOST + _PORT).
struct UrlFromHostPort {
    std::string path;
    std::string host_env;
    std::string port_env;
};
const std::vector<UrlFromHostPort> &url_host_port_variables();

}  // namespace dfaas::config_detail
