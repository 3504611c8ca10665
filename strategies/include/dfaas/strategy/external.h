// The external model (the reference's RL agent, generalized): this node sends an observation to a
// model service and installs the proportions it answers. The HTTP call is the agent's; this is
// the mapping on both sides.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dfaas/policy.h"
#include "dfaas/strategy/snapshot.h"

namespace dfaas::strategy {

// "node_<id>": how the model names a node.
std::string model_node_key(std::string_view node_id);

// The observation of this node, flat fields in the reference order:
// input_rate, previous_input_rate, previous_fwd_to_<peer>, previous_fwd_to_<peer>_rejected,
// reject_rate, previous_reject_rate, avg_resp_time_loc, previous_avg_resp_time_loc,
// previous_avg_resp_time_fwd_to_<peer>, cpu_utilization, previous_cpu_utilization, n_replicas,
// previous_n_replicas (peers live at snapshot.now, sorted by id, named node_<id>).
struct Observation {
    std::string node_key;
    std::vector<std::pair<std::string, double>> fields;
    bool explore = false;

    bool operator==(const Observation &) const = default;
};

Observation build_observation(const Snapshot &snapshot);

// Weights round(p·100) for local, reject and each live peer that runs the function (from its
// membership functions). A peer the model names that is not live is skipped with a warning.
// Throws Error when a function would get no weight at all.
PolicySet map_external_action(const Snapshot &snapshot, const ExternalAction &action,
                              std::vector<std::string> &warnings);

}  // namespace dfaas::strategy
