// The node id: stable across restarts (peers know a node by it), so it is configured (node.id) or
// kept in a file (node.id_file), created once with a generated id — never random at every start.
#pragma once

#include <string>
#include <string_view>

#include "dfaas/clients/result.h"
#include "dfaas/config/config.h"

namespace dfaas {

// 1..63 characters of [A-Za-z0-9._-], starting with a letter or digit.
bool is_valid_node_id(std::string_view id);

// "node-" followed by 16 random hex digits.
std::string generate_node_id();

enum class NodeIdFile {
    ReadOnly,         // --check-config: never write; a missing file is reported
    CreateIfMissing,  // agent start: create the file (and its directory) with a generated id
};

// node.id when set; else the id in node.id_file; else (CreateIfMissing) a new id written to it.
// Errors name node.id_file, the path and the reason.
Result<std::string> resolve_node_id(const NodeConfig &node, NodeIdFile mode);

}  // namespace dfaas
