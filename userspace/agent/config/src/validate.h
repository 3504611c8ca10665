// Internal: checks that involve several keys, files or defaults that depend on other keys.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "dfaas/config/config.h"

namespace dfaas::config_detail {

// Where each configured key came from, and which keys already failed to parse (checks involving
// them are skipped, so one mistake gives one error).
struct KeyOrigins {
    std::map<std::string, std::string> origin;  // path -> "agent.yaml line 4" / "env AGENT_X"
    std::set<std::string> failed;

    bool configured(const std::string &path) const { return origin.count(path) != 0; }
    bool usable(const std::string &path) const { return failed.count(path) == 0; }
    // " (from agent.yaml line 4)", or "" for a default.
    std::string from(const std::string &path) const;
};

// Fills the defaults that depend on other keys (dataplane.gateway from node.ip), loads the group
// file, and appends one message per violated rule to `errors`.
void validate_config(Config &config, const KeyOrigins &origins, std::vector<std::string> &errors);

}  // namespace dfaas::config_detail
