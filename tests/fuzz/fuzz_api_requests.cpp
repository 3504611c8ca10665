// libFuzzer target for the agent API's request parser: parse_policy_request(), the body of
// PUT /v1/policies/<fn> (userspace/agent/src/api_requests.h), which any API client reaches.
// Checks, for every input:
//   1. the parser returns (no crash, hang or sanitizer report) and a refusal names what is wrong
//      (never an exception's text caught on the way out: the parser must not rely on that net);
//   2. what it accepts is in range: a valid FunctionPolicy (validate()), weights <= kMaxWeight,
//      local_cap and limit_in values <= kMaxRequestRate, a ttl within the documented bounds, and
//      every peer it names is a current member's address;
//   3. the accepted request, written back as JSON (peers by address), parses to the same request.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api_requests.h"

namespace {

using namespace dfaas;
using namespace dfaas::agent;

[[noreturn]] void fail(const char *what, std::string_view detail) {
    std::fprintf(stderr, "fuzz_api_requests: %s: %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

const std::vector<PolicyPeer> &members() {
    static const std::vector<PolicyPeer> list = {{"node-b", *Ipv4::parse("10.0.0.2")},
                                                 {"node-c", *Ipv4::parse("10.0.0.3")},
                                                 {"10.0.0.9", *Ipv4::parse("10.0.0.4")}};
    return list;
}

bool is_member(Ipv4 address) {
    for (const auto &m : members())
        if (m.address == address) return true;
    return false;
}

void check_peers(const std::map<Ipv4, uint32_t> &values, uint32_t max, const char *field) {
    for (const auto &[address, value] : values) {
        if (!is_member(address)) fail("a peer that is not a member accepted", field);
        if (value > max) fail("a value above its bound accepted", field);
    }
}

nlohmann::json peers_json(const std::map<Ipv4, uint32_t> &values) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto &[address, value] : values)
        object[address.str()] = value;
    return object;
}

std::string encode(const PolicyRequest &request) {
    const FunctionPolicy &p = request.policy;
    nlohmann::json body = {{"local", p.local},
                           {"reject", p.reject},
                           {"local_cap", p.local_cap},
                           {"peers", peers_json(p.peers)},
                           {"overflow", peers_json(p.overflow)},
                           {"limit_in", peers_json(p.limit_in)}};
    if (request.ttl) body["ttl_s"] = request.ttl->count();
    return body.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view body(reinterpret_cast<const char *>(data), size);
    const auto parsed = parse_policy_request(body, members());
    if (const auto *error = std::get_if<std::string>(&parsed)) {
        if (error->empty()) fail("a refusal without a message", body);
        if (error->rfind("body: [json.exception", 0) == 0)
            fail("a JSON exception escaped to the safety net", *error);
        return 0;
    }
    const PolicyRequest &request = std::get<PolicyRequest>(parsed);
    if (body.size() > kMaxPolicyRequestBytes) fail("a body over the cap accepted", "");
    const FunctionPolicy &p = request.policy;
    if (auto problem = p.validate()) fail("an invalid policy accepted", *problem);
    if (p.local > kMaxWeight || p.reject > kMaxWeight) fail("a weight above kMaxWeight", body);
    if (p.local_cap > kMaxRequestRate) fail("local_cap above kMaxRequestRate", body);
    check_peers(p.peers, kMaxWeight, "peers");
    check_peers(p.overflow, kMaxWeight, "overflow");
    check_peers(p.limit_in, kMaxRequestRate, "limit_in");
    if (request.ttl && (request.ttl->count() < kMinOverrideTtlSeconds ||
                        request.ttl->count() > kMaxOverrideTtlSeconds))
        fail("a ttl outside its bounds accepted", std::to_string(request.ttl->count()));

    const std::string again_text = encode(request);
    const auto again = parse_policy_request(again_text, members());
    if (const auto *error = std::get_if<std::string>(&again))
        fail("the accepted request, written back, is refused", again_text + ": " + *error);
    const PolicyRequest &second = std::get<PolicyRequest>(again);
    if (!(second.policy == p) || second.ttl != request.ttl)
        fail("the accepted request, written back, parses differently", again_text);
    return 0;
}
