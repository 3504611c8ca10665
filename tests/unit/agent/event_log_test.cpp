// The agent's event ring (GET /v1/events): bounded, read by sequence number, overwrites counted.
#include <gtest/gtest.h>

#include "event_log.h"

namespace dfaas::agent {
namespace {

const auto kT0 = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
const Ipv4 kPeer = *Ipv4::parse("10.0.0.2");

TEST(EventLog, SinceReturnsWhatCameAfterInOrder) {
    EventLog log(8);
    EXPECT_EQ(log.since(0).last_seq, 0u);
    EXPECT_TRUE(log.since(0).events.empty());
    log.peer_unreachable(kPeer, kT0);
    log.peer_recovered(kPeer, kT0);
    FunctionPolicy p;
    p.local = 60;
    p.peers[kPeer] = 40;
    log.policy_changed("figlet", nullptr, p, kT0);
    auto all = log.since(0);
    ASSERT_EQ(all.events.size(), 3u);
    EXPECT_EQ(all.last_seq, 3u);
    EXPECT_EQ(all.events[0].seq, 1u);
    EXPECT_EQ(all.events[0].type, "peer-unreachable");
    EXPECT_EQ(all.events[0].peer, "10.0.0.2");
    EXPECT_EQ(all.events[1].type, "peer-recovered");
    EXPECT_EQ(all.events[2].type, "policy");
    EXPECT_EQ(all.events[2].function, "figlet");
    EXPECT_EQ(all.events[2].detail, "none -> local=60 10.0.0.2=40");
    auto after = log.since(2);
    ASSERT_EQ(after.events.size(), 1u);
    EXPECT_EQ(after.events[0].seq, 3u);
    EXPECT_TRUE(log.since(3).events.empty());
    EXPECT_TRUE(log.since(1000).events.empty()) << "a seq from the future: nothing, no error";
    EXPECT_EQ(all.missed, 0u);
}

TEST(EventLog, FullRingOverwritesTheOldestAndCountsIt) {
    EventLog log(4);
    for (int i = 0; i < 10; ++i)
        log.peer_recovered(kPeer, kT0);
    EXPECT_EQ(log.overwritten(), 6u);
    auto page = log.since(0);
    ASSERT_EQ(page.events.size(), 4u) << "bounded by the capacity";
    EXPECT_EQ(page.events.front().seq, 7u);
    EXPECT_EQ(page.events.back().seq, 10u);
    EXPECT_EQ(page.missed, 6u) << "seqs 1..6 are gone";
    EXPECT_EQ(log.since(5).missed, 1u);
    EXPECT_EQ(log.since(6).missed, 0u);
    EXPECT_EQ(log.since(8).events.size(), 2u);
}

TEST(EventLog, AnswersAreBoundedByTheLimitAndThePageSize) {
    EventLog log(EventLog::kMaxPage * 2);
    for (size_t i = 0; i < EventLog::kMaxPage + 10; ++i)
        log.peer_recovered(kPeer, kT0);
    auto page = log.since(0, 1000000);
    EXPECT_EQ(page.events.size(), EventLog::kMaxPage);
    EXPECT_TRUE(page.more);
    auto rest = log.since(page.events.back().seq);
    EXPECT_EQ(rest.events.size(), 10u);
    EXPECT_FALSE(rest.more);
    auto two = log.since(0, 2);
    EXPECT_EQ(two.events.size(), 2u);
    EXPECT_TRUE(two.more);
    auto none = log.since(0, 0);
    EXPECT_TRUE(none.events.empty());
    EXPECT_EQ(none.last_seq, EventLog::kMaxPage + 10) << "limit=0 tells where the log is";
}

TEST(EventLog, PolicySummaryShowsOldAndNewWeights) {
    EventLog log;
    FunctionPolicy old = FunctionPolicy::all_local();
    FunctionPolicy now;
    now.local = 0;
    now.reject = 10;
    now.peers[kPeer] = 90;
    now.local_cap = 50;
    now.overflow[kPeer] = 1;
    log.policy_changed("figlet", &old, now, kT0);
    EXPECT_EQ(log.since(0).events.at(0).detail,
              "local=100 -> local=0 10.0.0.2=90 reject=10 cap=50/s overflow 10.0.0.2=1");
    auto j = to_json(log.since(0), log.overwritten());
    EXPECT_EQ(j["events"][0]["unix_ms"], 1700000000000);
    EXPECT_EQ(j["events"][0]["function"], "figlet");
    EXPECT_FALSE(j["events"][0].contains("peer"));
    EXPECT_EQ(j["last_seq"], 1);
}

}  // namespace
}  // namespace dfaas::agent
