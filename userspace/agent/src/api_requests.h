// Parsing of the API's mutation requests, kept pure (nlohmann json, dfaas/policy.h, dfaas/net.h
// and the standard library only) so that a fuzzer can drive it without an agent.
//
// Every value is range-checked before it is stored: weights 0..kMaxWeight, local_cap and
// limit_in values 0..kMaxRequestRate (uint32 at most), ttl_s 1 s .. 7 days; a peer must be a
// current member (by node id or address). Errors name the field ("peers.10.0.0.9: unknown
// peer ...", "ttl_s: 1e+10 is outside 1..604800 seconds").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dfaas/net.h"
#include "dfaas/policy.h"

namespace dfaas::agent {

// A current member a policy may name: its node id or its address.
struct PolicyPeer {
    std::string id;
    Ipv4 address;
};

struct PolicyRequest {
    FunctionPolicy policy;
    std::optional<std::chrono::seconds> ttl;  // absent: the override lasts until deleted
};

inline constexpr int64_t kMinOverrideTtlSeconds = 1;
inline constexpr int64_t kMaxOverrideTtlSeconds = 7 * 24 * 3600;
// local_cap and limit_in are connections per second; a cap above this is a typo, not a policy.
inline constexpr uint32_t kMaxRequestRate = 1'000'000;
// The API's body cap (api.max_body default); the parser refuses larger input itself too.
inline constexpr size_t kMaxPolicyRequestBytes = 64 * 1024;

// PUT /v1/policies/<fn> body: {"local":N,"reject":N,"peers":{peer:N},"local_cap":N,
// "overflow":{peer:N},"limit_in":{peer:N},"ttl_s":N}. Never throws; on error returns a message
// naming the field.
std::variant<PolicyRequest, std::string> parse_policy_request(
    std::string_view body, const std::vector<PolicyPeer> &members);

}  // namespace dfaas::agent
