// `dfaasctl simulate`: runs the strategies library offline, on one snapshot (one decision) or on
// a federation file (several nodes for N periods, their messages delivered to each other).
//
// Snapshot file: the strategies library's Snapshot JSON (snapshot_to_json, what the agent's
// GET /v1/snapshot writes) plus two optional keys the library ignores:
//   "strategy": "recalc"                       the strategy to run (--strategy wins)
//   "forecaster": {"models_dir": DIR, "variant": "regression"}   for Node Margin (--models and
//                                              --variant win; a relative DIR is relative to the
//                                              file's folder)
// When "peers.ttl_ms" is absent, the peer table's TTL is the strategy's (peer_ttl: 1.2·P for
// Recalc, 2·P otherwise).
//
// Federation file (an object with "nodes"):
//   {"strategy": …, "forecaster": {…},
//    "defaults": {…Snapshot keys every node takes unless it sets them…},
//    "nodes": [{"address": "10.0.0.1", …a Snapshot…}, …],
//    "periods": [{"user_rates": {"node1": {"figlet": 60}}, "down": ["node3"]}, …]}
// Every node has the same period_ms and now_ms (the instant period 0 starts). periods[k] changes
// the inputs from period k on: user_rates sets the named functions' rates, down replaces the set
// of nodes that are down.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dfaas/net.h"
#include "dfaas/strategy/decision.h"
#include "dfaas/strategy/snapshot.h"
#include "dfaas/strategy/strategy.h"

namespace dfaas::cli::whatif {

// The forecaster keys of a snapshot or federation file.
struct ForecasterSettings {
    std::optional<std::filesystem::path> models_dir;  // resolved against the file's folder
    std::optional<std::string> variant;
};

// The tool keys of a file: which strategy and which forecaster.
struct RunSettings {
    std::optional<std::string> strategy;
    ForecasterSettings forecaster;
};

struct SnapshotFile {
    RunSettings settings;
    nlohmann::json snapshot;  // the Snapshot JSON, tool keys removed; parsed once the kind is known
};

struct FederationNode {
    Ipv4 address;
    strategy::Snapshot snapshot;
};

struct PeriodInput {
    std::map<std::string, std::map<std::string, double>> user_rates;  // node -> function -> req/s
    std::optional<std::set<std::string>> down;
};

struct Federation {
    std::vector<FederationNode> nodes;  // sorted by node id
    std::vector<PeriodInput> periods;
};

struct FederationFile {
    RunSettings settings;
    nlohmann::json document;  // parsed into a Federation once the strategy kind is known
};

// True when the document is a federation file (an object with "nodes").
bool is_federation(const nlohmann::json &document);

// Reads the tool keys ("strategy", "forecaster") of a snapshot or federation document. Throws
// strategy::Error with the JSON path.
RunSettings run_settings_from(const nlohmann::json &document, const std::filesystem::path &file);

// The strategies library's Snapshot from a snapshot document (tool keys ignored), the peer
// table's TTL defaulting to the strategy's. `root` names the document in error messages.
strategy::Snapshot snapshot_from_document(const nlohmann::json &document, StrategyKind kind,
                                          const std::string &root = "snapshot");

// The federation of a federation document. Throws strategy::Error with the JSON path.
Federation federation_from_document(const nlohmann::json &document, StrategyKind kind);

// What one node did in one period.
struct NodePeriod {
    bool up = true;
    std::map<std::string, double> user_rates;
    // The steps of the period merged as Strategy::decide merges them; `policies` is what is
    // installed after the period (the last policies any step gave, from any earlier period too).
    strategy::Decision decision;
};

struct PeriodResult {
    size_t index = 0;
    strategy::Instant start{};
    std::map<std::string, NodePeriod> nodes;
};

// Runs the federation period by period. Per period k, at t = now + k·P: apply periods[k];
// every up node records the membership (hello) of every other up node at t; then for each step
// i of the strategy, at t + offset[i], every up node runs step i on its snapshot (in node id
// order), and the step's messages are delivered to the up nodes they address (a broadcast to the
// sender's live peers) at that same instant, in sender id order. Deterministic.
class FederationSimulator {
  public:
    FederationSimulator(Federation federation, const strategy::Strategy &strategy);
    PeriodResult run_period();
    const Federation &federation() const { return federation_; }

  private:
    Federation federation_;
    const strategy::Strategy *strategy_;
    strategy::Instant start_{};
    strategy::Millis period_{};
    size_t next_period_ = 0;
    std::set<std::string> down_;
    std::map<std::string, PolicySet> installed_;
};

// Address -> node id, for tables.
using PeerNames = std::map<Ipv4, std::string>;
PeerNames peer_names(const strategy::PeerTable &table);
PeerNames peer_names(const Federation &federation);

}  // namespace dfaas::cli::whatif
