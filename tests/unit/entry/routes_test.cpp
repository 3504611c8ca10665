#include "dfaas/entry/routes.h"

#include <gtest/gtest.h>

#include <map>

namespace dfaas::entry {
namespace {

Ipv4 ip(const char *text) {
    return *Ipv4::parse(text);
}

std::vector<std::string> labels(RouteTable &table, const std::string &function, size_t n,
                                uint64_t second = 0) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i)
        out.push_back(table.pick(function, second)->label());
    return out;
}

TEST(EntryRoutes, UnknownFunctionHasNoRoute) {
    RouteTable table;
    table.install({{"figlet", FunctionPolicy::all_local()}});
    EXPECT_FALSE(table.pick("nope", 0));
    EXPECT_TRUE(table.knows("figlet"));
    EXPECT_EQ(table.pick("figlet", 0)->kind, RouteKind::Local);
}

TEST(EntryRoutes, WeightsGiveTheSmoothWeightedRoundRobinOrder) {
    FunctionPolicy p;
    p.local = 2;
    p.peers[ip("10.0.0.2")] = 1;
    p.reject = 1;
    RouteTable table;
    table.install({{"f", p}});
    // nginx's SWRR over local 2, peer 1, reject 1: local, peer, reject, local (then again).
    std::vector<std::string> expected{"local", "10.0.0.2", "reject", "local"};
    EXPECT_EQ(labels(table, "f", 4), expected);
    EXPECT_EQ(labels(table, "f", 4), expected);
}

TEST(EntryRoutes, SharesFollowTheWeights) {
    FunctionPolicy p;
    p.local = 30;
    p.peers[ip("10.0.0.2")] = 50;
    p.peers[ip("10.0.0.3")] = 20;
    RouteTable table;
    table.install({{"f", p}});
    std::map<std::string, int> seen;
    for (const auto &l : labels(table, "f", 1000))
        seen[l] += 1;
    EXPECT_EQ(seen["local"], 300);
    EXPECT_EQ(seen["10.0.0.2"], 500);
    EXPECT_EQ(seen["10.0.0.3"], 200);
}

TEST(EntryRoutes, RejectOnly) {
    FunctionPolicy p;
    p.local = 0;
    p.reject = 1;
    RouteTable table;
    table.install({{"f", p}});
    EXPECT_EQ(table.pick("f", 0)->kind, RouteKind::Reject);
}

TEST(EntryRoutes, LocalCapOverflowsToPeersOrRejects) {
    FunctionPolicy p;
    p.local_cap = 2;
    p.overflow[ip("10.0.0.5")] = 1;
    RouteTable table;
    table.install({{"f", p}, {"g", [] {
                                  FunctionPolicy q;
                                  q.local_cap = 1;
                                  return q;
                              }()}});
    std::vector<std::string> expected{"local", "local", "10.0.0.5", "10.0.0.5"};
    EXPECT_EQ(labels(table, "f", 4, 7), expected);
    EXPECT_EQ(table.pick("f", 8)->label(), "local");  // a new second
    std::vector<std::string> capped{"local", "reject"};
    EXPECT_EQ(labels(table, "g", 2, 7), capped);
}

// With a local admission (the data plane's window, in the agent) the cap is its answer, with
// the function and the cap asked for; no count of the entry's own.
TEST(EntryRoutes, LocalAdmissionDecidesTheCap) {
    FunctionPolicy p;
    p.local_cap = 5;
    p.overflow[ip("10.0.0.5")] = 1;
    RouteTable table;
    table.install({{"f", p}});
    std::vector<std::pair<std::string, uint32_t>> asked;
    bool admit = true;
    table.set_local_admission([&](const std::string &function, uint32_t cap) {
        asked.emplace_back(function, cap);
        return admit;
    });
    std::vector<std::string> admitted{"local", "local", "local", "local", "local", "local"};
    EXPECT_EQ(labels(table, "f", 6, 7), admitted) << "6 over a cap of 5: the admission decides";
    admit = false;
    EXPECT_EQ(table.pick("f", 7)->label(), "10.0.0.5");
    ASSERT_EQ(asked.size(), 7u);
    EXPECT_EQ(asked.back(), (std::pair<std::string, uint32_t>{"f", 5}));
}

TEST(EntryRoutes, UnchangedPolicyKeepsItsSequence) {
    FunctionPolicy p;
    p.local = 1;
    p.reject = 1;
    RouteTable table;
    table.install({{"f", p}});
    EXPECT_EQ(table.pick("f", 0)->label(), "local");
    table.install({{"f", p}});
    EXPECT_EQ(table.pick("f", 0)->label(), "reject");
    table.install({});
    EXPECT_FALSE(table.pick("f", 0));
}

}  // namespace
}  // namespace dfaas::entry
