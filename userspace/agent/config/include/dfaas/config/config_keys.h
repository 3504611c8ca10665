// The machine-readable list of configuration keys: what docs/config-reference.md is generated
// from, and what the Helm chart's values are checked against.
#pragma once

#include <string>
#include <vector>

namespace dfaas {

struct ConfigKeyInfo {
    std::string path;              // dotted, e.g. "strategy.nms.cpu_threshold"
    std::string type;              // e.g. "duration", "uint", "enum: rst|drop", "list of ip:port"
    std::string default_value;     // as written in a config file ("" = empty); notes in parentheses
    std::vector<std::string> env;  // generic DFAAS_* name first, then accepted alternatives
    std::string description;
};

// Every key, in file order (sections in the order of the Config struct).
const std::vector<ConfigKeyInfo> &config_keys();

// The generic variable of a key: DFAAS_ + path uppercased with '.' -> '_'.
std::string generic_env_name(const std::string &path);

// [{"path":…,"type":…,"default":…,"env":[…],"description":…}, …]
std::string config_keys_json();

// The Markdown table embedded in docs/config-reference.md.
std::string config_keys_markdown();

}  // namespace dfaas
