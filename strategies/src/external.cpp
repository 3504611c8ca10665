#include "dfaas/strategy/external.h"

#include <algorithm>
#include <cmath>

#include "dfaas/strategy/strategies.h"
#include "policy_helpers.h"

namespace dfaas::strategy {

namespace {

uint32_t weight_of(double proportion) {
    return static_cast<uint32_t>(std::lround(proportion * 100.0));
}

const PeerWindow &window_of(const NodeWindow &window, const std::string &peer) {
    static const PeerWindow kNothingMeasured{};
    auto found = window.peers.find(peer);
    return found == window.peers.end() ? kNothingMeasured : found->second;
}

bool runs(const PeerEntry &peer, const std::string &function) {
    return std::binary_search(peer.member_functions.begin(), peer.member_functions.end(), function);
}

}  // namespace

std::string model_node_key(std::string_view node_id) {
    return "node_" + std::string(node_id);
}

Observation build_observation(const Snapshot &snapshot) {
    const NodeWindow &now = snapshot.external.current;
    const NodeWindow &before = snapshot.external.previous;
    std::vector<std::string> peers;
    for (const PeerEntry *peer : snapshot.peers.live(snapshot.now))
        peers.push_back(peer->id);

    Observation observation;
    observation.node_key = model_node_key(snapshot.node_id);
    auto &fields = observation.fields;
    fields.emplace_back("input_rate", now.input_rate);
    fields.emplace_back("previous_input_rate", before.input_rate);
    for (const auto &peer : peers) {
        const std::string key = "previous_fwd_to_" + model_node_key(peer);
        fields.emplace_back(key, window_of(before, peer).forwarded_rate);
        fields.emplace_back(key + "_rejected", window_of(before, peer).forwarded_rejected_rate);
    }
    fields.emplace_back("reject_rate", now.reject_rate);
    fields.emplace_back("previous_reject_rate", before.reject_rate);
    fields.emplace_back("avg_resp_time_loc", now.avg_response_time_local_ms);
    fields.emplace_back("previous_avg_resp_time_loc", before.avg_response_time_local_ms);
    for (const auto &peer : peers)
        fields.emplace_back("previous_avg_resp_time_fwd_to_" + model_node_key(peer),
                            window_of(before, peer).avg_response_time_ms);
    fields.emplace_back("cpu_utilization", now.cpu_utilization);
    fields.emplace_back("previous_cpu_utilization", before.cpu_utilization);
    fields.emplace_back("n_replicas", now.replicas);
    fields.emplace_back("previous_n_replicas", before.replicas);
    return observation;
}

PolicySet map_external_action(const Snapshot &snapshot, const ExternalAction &action,
                              std::vector<std::string> &warnings) {
    std::map<std::string, const PeerEntry *> targets;  // named by the model and live
    for (const auto &[peer_id, proportion] : action.peers) {
        const PeerEntry *peer = snapshot.peers.find(peer_id);
        if (peer == nullptr || !snapshot.peers.alive(*peer, snapshot.now)) {
            warnings.push_back("external model: peer '" + peer_id + "' is not live: ignored");
            continue;
        }
        targets[peer_id] = peer;
    }
    PolicySet policies;
    for (const auto &name : local_function_names(snapshot)) {
        FunctionPolicy policy;
        policy.local = weight_of(action.local);
        policy.reject = weight_of(action.reject);
        for (const auto &[peer_id, peer] : targets)
            if (runs(*peer, name))
                detail::add_peer_weight(policy.peers, peer->address,
                                        weight_of(action.peers.at(peer_id)));
        if (auto problem = policy.validate())
            throw Error("external model answer for function '" + name + "': " + *problem);
        policies[name] = std::move(policy);
    }
    return policies;
}

Decision ExternalStrategy::step(const Snapshot &snapshot, size_t index, const Decision *) const {
    detail::require_single_step(index, to_string(kind()));
    validate(snapshot);
    Decision decision;
    if (!snapshot.external.action) {
        decision.degraded = "external model: no valid answer this period; keeping the policies";
        return decision;
    }
    try {
        decision.policies =
            map_external_action(snapshot, *snapshot.external.action, decision.warnings);
    } catch (const Error &error) {
        decision.degraded = std::string(error.what()) + "; keeping the policies";
    }
    return decision;
}

}  // namespace dfaas::strategy
