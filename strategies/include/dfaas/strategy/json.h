// JSON forms of the strategy types (target dfaas_strategies_json; the core library has no JSON
// dependency). `dfaasctl simulate --snapshot FILE` reads snapshot_from_json(); the peer protocol
// encodes strategy messages with message_to_json().
//
// Readers throw dfaas::strategy::Error whose message starts with the JSON path of the offending
// value, e.g. "snapshot.functions[1].port: expected an integer in 0..65535". Optional keys take
// the defaults of the C++ types. Instants are integers of milliseconds since the Unix epoch
// ("now_ms", "last_seen_ms", "received_ms"); durations likewise ("period_ms", "ttl_ms").
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "dfaas/policy.h"
#include "dfaas/strategy/decision.h"
#include "dfaas/strategy/external.h"
#include "dfaas/strategy/messages.h"
#include "dfaas/strategy/peer_table.h"
#include "dfaas/strategy/snapshot.h"

namespace dfaas::strategy {

using Json = nlohmann::json;

// {"local":60,"reject":0,"peers":{"10.0.0.2":40},"local_cap":0,"overflow":{},"limit_in":{}}
Json policy_to_json(const FunctionPolicy &policy);
FunctionPolicy policy_from_json(const Json &json);
Json policy_set_to_json(const PolicySet &policies);
PolicySet policy_set_from_json(const Json &json);

// {"type":"recalc_limits","limits":{"figlet":25}}
// {"type":"nms_node_info","node_type":"mid","thresholds":{"cpu":120,"ram":5.5e9,"power":2.1e6},
//  "functions":["figlet"]}
// {"type":"nms_margin","margin":24.5,"load":{"HIGH_USAGE":0,"LOW_USAGE":0,"MEDIUM_USAGE":0}}
// {"type":"static_info","functions":["figlet"]}
Json message_to_json(const PeerMessage &message);
PeerMessage message_from_json(const Json &json);
// {"to":"node2" or null (every live peer),"message":{...}}
Json outgoing_to_json(const OutgoingMessage &message);
OutgoingMessage outgoing_from_json(const Json &json);

// The reference group file: {"HIGH_USAGE":["eat-memory"],"LOW_USAGE":[...],"MEDIUM_USAGE":[...]}.
Json group_table_to_json(const GroupTable &groups);
GroupTable group_table_from_json(const Json &json);

// {"self_id":"node1","ttl_ms":20000,"entries":[{"id":"node2","address":"10.0.0.2",
//  "last_seen_ms":0,"unreachable":false,"functions":[...],
//  "recalc_limit_out":{"received_ms":0,"limits":{...}},
//  "nms_info":{"received_ms":0,"node_type":"heavy","thresholds":{...},"functions":[...]},
//  "nms_margin":{"received_ms":0,"margin":62.41,"load":{...}},
//  "static_info":{"received_ms":0,"functions":[...]}}]}
// received_ms defaults to the entry's last_seen_ms.
Json peer_table_to_json(const PeerTable &table);
PeerTable peer_table_from_json(const Json &json);

// {"node_id":"node1","node_type":"mid","thresholds":{...},"period_ms":10000,"now_ms":0,
//  "functions":[{"name":"figlet","port":31001,"labels":{"dfaas.maxrate":"50"}}],
//  "user_rates":{"figlet":12.5},"groups":{...group file...},
//  "peers":{"ttl_ms":20000,"entries":[...]},
//  "external":{"current":{...},"previous":{...},"action":{"local":0.6,"reject":0,"peers":{}}}}
// Only node_id is required; peers.self_id defaults to node_id and peers.ttl_ms to 2·period.
Json snapshot_to_json(const Snapshot &snapshot);
Snapshot snapshot_from_json(const Json &json);

// {"policies":{...} or null,"messages":[...],"warnings":[...],"degraded":null,
//  "recalc_plan":{...} or null,"nms":{...} or null}
Json decision_to_json(const Decision &decision);
Decision decision_from_json(const Json &json);

// The reference request: {"observation":{"node_<me>":{...fields}},
// "agent_parameters":{"explore":false}}.
Json observation_to_json(const Observation &observation);
// The reference answer {"node_<me>":{"local":0.62,"reject":0.05,"node_B":0.2}}: "local" and
// "reject" are required, other keys must be node_<peer id>; each proportion in 0..1, not all 0.
ExternalAction external_answer_from_json(const Json &json, std::string_view node_id);

// ADL hooks, so that `Json j = snapshot;` and `j.get<Snapshot>()` work.
void to_json(Json &json, const Snapshot &snapshot);
void from_json(const Json &json, Snapshot &snapshot);
void to_json(Json &json, const Decision &decision);
void from_json(const Json &json, Decision &decision);
void to_json(Json &json, const PeerTable &table);
void from_json(const Json &json, PeerTable &table);
void to_json(Json &json, const OutgoingMessage &message);
void from_json(const Json &json, OutgoingMessage &message);

}  // namespace dfaas::strategy
