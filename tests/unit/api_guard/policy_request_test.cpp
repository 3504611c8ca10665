// parse_policy_request: every value range-checked, every error naming its field, unknown peers
// refused (they used to be installed as all-local weights to nobody).
#include <gtest/gtest.h>

#include "api_requests.h"

namespace dfaas::agent {
namespace {

const std::vector<PolicyPeer> kMembers = {{"node-b", *Ipv4::parse("10.0.0.2")},
                                          {"node-c", *Ipv4::parse("10.0.0.3")}};

PolicyRequest ok(std::string_view body) {
    auto parsed = parse_policy_request(body, kMembers);
    if (auto *error = std::get_if<std::string>(&parsed)) {
        ADD_FAILURE() << body << ": " << *error;
        return {};
    }
    return std::get<PolicyRequest>(parsed);
}

std::string error_of(std::string_view body) {
    auto parsed = parse_policy_request(body, kMembers);
    if (auto *error = std::get_if<std::string>(&parsed)) return *error;
    ADD_FAILURE() << body << ": accepted";
    return {};
}

#define EXPECT_REFUSED(body, needle)                                                     \
    do {                                                                                 \
        const std::string message = error_of(body);                                      \
        EXPECT_NE(message.find(needle), std::string::npos) << body << " -> " << message; \
    } while (0)

TEST(PolicyRequest, AcceptsAFullRequestNamingPeersByIdOrAddress) {
    const auto r = ok(R"({"local":60,"peers":{"node-b":40,"10.0.0.3":5},"reject":0,
        "local_cap":250,"overflow":{"node-c":100},"limit_in":{"10.0.0.2":1000},"ttl_s":300})");
    EXPECT_EQ(r.policy.local, 60u);
    EXPECT_EQ(r.policy.peers.at(*Ipv4::parse("10.0.0.2")), 40u);
    EXPECT_EQ(r.policy.peers.at(*Ipv4::parse("10.0.0.3")), 5u);
    EXPECT_EQ(r.policy.local_cap, 250u);
    EXPECT_EQ(r.policy.overflow.at(*Ipv4::parse("10.0.0.3")), 100u);
    EXPECT_EQ(r.policy.limit_in.at(*Ipv4::parse("10.0.0.2")), 1000u);
    ASSERT_TRUE(r.ttl);
    EXPECT_EQ(r.ttl->count(), 300);
    EXPECT_FALSE(ok(R"({"reject":100})").ttl);
    EXPECT_EQ(ok(R"({"local":1e2})").policy.local, 100u) << "an integral float is an integer";
}

TEST(PolicyRequest, WeightsAreBoundedPerField) {
    EXPECT_REFUSED(R"({"local":4294967296})", "local: 4294967296 is outside 0..100");
    EXPECT_REFUSED(R"({"local":101})", "local: 101 is outside 0..100");
    EXPECT_REFUSED(R"({"reject":4294967296})", "reject:");
    EXPECT_REFUSED(R"({"local":1,"peers":{"node-b":4294967296}})", "peers.node-b:");
    EXPECT_REFUSED(R"({"local":1,"overflow":{"node-b":4294967297}})", "overflow.node-b:");
    EXPECT_REFUSED(R"({"local":-1})", "local: -1 is negative");
    EXPECT_REFUSED(R"({"local":1.5})", "local: 1.5 is not an integer");
    EXPECT_REFUSED(R"({"local":"60"})", "local must be an integer");
    EXPECT_REFUSED(R"({"local":1e307})", "local:");
}

TEST(PolicyRequest, RatesAndTtlAreBounded) {
    EXPECT_REFUSED(R"({"local":1,"limit_in":{"node-b":1e307}})", "limit_in.node-b: 1e+307");
    EXPECT_REFUSED(R"({"local":1,"limit_in":{"node-b":4294967296}})", "limit_in.node-b:");
    EXPECT_REFUSED(R"({"local":1,"local_cap":1e307})", "local_cap:");
    EXPECT_EQ(ok(R"({"local":1,"limit_in":{"node-b":1000000}})").policy.limit_in.size(), 1u);
    EXPECT_REFUSED(R"({"local":1,"limit_in":{"node-b":1000001}})", "limit_in.node-b:");
    EXPECT_REFUSED(R"({"local":1,"ttl_s":1e10})",
                   "ttl_s: 10000000000.0 is outside 1..604800 seconds");
    EXPECT_REFUSED(R"({"local":1,"ttl_s":0})", "ttl_s:");
    EXPECT_REFUSED(R"({"local":1,"ttl_s":-5})", "ttl_s:");
    EXPECT_REFUSED(R"({"local":1,"ttl_s":604801})", "ttl_s:");
    EXPECT_REFUSED(R"({"local":1,"ttl_s":"300"})", "ttl_s must be a number");
    EXPECT_EQ(ok(R"({"local":1,"ttl_s":604800})").ttl->count(), 604800);
    EXPECT_EQ(ok(R"({"local":1,"ttl_s":1})").ttl->count(), 1);
}

TEST(PolicyRequest, UnknownPeersAreRefused) {
    EXPECT_REFUSED(R"({"local":1,"peers":{"10.0.0.9":40}})", "peers: unknown peer \"10.0.0.9\"");
    EXPECT_REFUSED(R"({"local":1,"peers":{"nobody":40}})", "peers: unknown peer \"nobody\"");
    EXPECT_REFUSED(R"({"local":1,"overflow":{"10.0.0.9":1}})", "overflow: unknown peer");
    EXPECT_REFUSED(R"({"local":1,"limit_in":{"10.0.0.9":1}})", "limit_in: unknown peer");
    EXPECT_REFUSED(R"({"local":0,"peers":{"node-b":1,"10.0.0.2":1}})", "named twice");
    // The old parser installed {"peers":{"10.0.0.9":100}} as weights to a non-member: every
    // connection to nobody, or all-local when the data plane skipped it.
    auto none = parse_policy_request(R"({"peers":{"10.0.0.2":100}})", {});
    EXPECT_TRUE(std::holds_alternative<std::string>(none)) << "no members: no peer is known";
}

TEST(PolicyRequest, MalformedBodiesNameTheProblem) {
    EXPECT_REFUSED(R"({"locl":1})", "unknown field \"locl\"");
    EXPECT_REFUSED(R"({"peers":[1]})", "peers must be an object");
    EXPECT_REFUSED(R"([1])", "body must be a JSON object");
    EXPECT_REFUSED(R"({"local":)", "body: not valid JSON");
    EXPECT_REFUSED(R"({})", "all weights are zero");
    EXPECT_REFUSED(std::string(100, '[') + std::string(100, ']'), "nested deeper than 8");
    EXPECT_REFUSED(std::string(kMaxPolicyRequestBytes + 1, ' '), "the limit is 65536");
}

}  // namespace
}  // namespace dfaas::agent
