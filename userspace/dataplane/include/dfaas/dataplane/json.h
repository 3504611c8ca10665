// JSON forms of the data plane's types, shared by `dfaasctl dp -o json` and the agent's API.
// The schema is stable: fields are only ever added.
#pragma once

#include <nlohmann/json.hpp>

#include "dfaas/dataplane/types.h"

namespace dfaas::dp {

nlohmann::json to_json(const Settings &s);
nlohmann::json to_json(const Status &s);
nlohmann::json to_json(const PathCounters &c);
// Responses by code (only the codes seen), the latency histogram (kHttpBuckets counts, not
// cumulative; bounds in types.h), p50_s / p99_s / error_ratio (null when undefined).
nlohmann::json to_json(const HttpCounters &c);
nlohmann::json to_json(const FunctionStats &f);
nlohmann::json to_json(const Stats &s);
nlohmann::json to_json(const CtEntry &e);
nlohmann::json to_json(const Service &s);
nlohmann::json policy_to_json(const FunctionPolicy &p);

}  // namespace dfaas::dp
