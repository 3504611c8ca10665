#include "dfaas/strategy/peer_table.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dfaas/strategy/error.h"
#include "dfaas/strategy/strategy.h"
#include "support.h"

namespace dfaas::strategy {
namespace {

using testing::ip;
using testing::kNow;

const Millis kPeriod = std::chrono::minutes(1);

TEST(PeerTtl, RecalcLivesOnePointTwoPeriodsOthersTwo) {
    EXPECT_EQ(peer_ttl(StrategyKind::Recalc, kPeriod), std::chrono::seconds(72));
    EXPECT_EQ(peer_ttl(StrategyKind::NodeMargin, kPeriod), std::chrono::seconds(120));
    EXPECT_EQ(peer_ttl(StrategyKind::StaticWeights, kPeriod), std::chrono::seconds(120));
    EXPECT_EQ(peer_ttl(StrategyKind::Recalc, Millis{10000}), Millis{12000});
}

TEST(PeerTable, EntryLivesUntilLastSeenPlusTtl) {
    PeerTable table("me", peer_ttl(StrategyKind::Recalc, kPeriod));
    table.apply("a", ip("10.0.0.2"), RecalcLimits{{{"f", 1}}}, kNow);
    const PeerEntry &entry = *table.find("a");
    EXPECT_TRUE(table.alive(entry, kNow + std::chrono::seconds(72)));
    EXPECT_FALSE(table.alive(entry, kNow + std::chrono::seconds(72) + Millis{1}));
    EXPECT_EQ(table.live(kNow + std::chrono::seconds(73)).size(), 0u);
    EXPECT_EQ(table.expire(kNow + std::chrono::seconds(72)), 0u);
    EXPECT_EQ(table.expire(kNow + std::chrono::seconds(73)), 1u);
    EXPECT_EQ(table.find("a"), nullptr);
}

TEST(PeerTable, StrategyDataExpiresEvenWhenTheMemberIsAlive) {
    PeerTable table("me", Millis{1000});
    table.apply("a", ip("10.0.0.2"), StaticInfo{{"f"}}, kNow);
    table.record_membership("a", ip("10.0.0.2"), {"f"}, kNow + Millis{900});
    const PeerEntry &entry = *table.find("a");
    EXPECT_NE(table.fresh(entry, entry.static_info, kNow + Millis{1000}), nullptr);
    EXPECT_TRUE(table.alive(entry, kNow + Millis{1500}));
    EXPECT_EQ(table.fresh(entry, entry.static_info, kNow + Millis{1500}), nullptr);
}

TEST(PeerTable, LiveIsSortedById) {
    PeerTable table("me", Millis{1000});
    for (const char *id : {"c", "a", "b"})
        table.record_membership(id, ip("10.0.0.2"), {}, kNow);
    const auto live = table.live(kNow);
    ASSERT_EQ(live.size(), 3u);
    EXPECT_EQ(live[0]->id, "a");
    EXPECT_EQ(live[1]->id, "b");
    EXPECT_EQ(live[2]->id, "c");
}

TEST(PeerTable, OwnMessagesAreIgnored) {
    PeerTable table("me", Millis{1000});
    EXPECT_EQ(table.apply("me", ip("10.0.0.1"), StaticInfo{{"f"}}, kNow), ApplyOutcome::OwnMessage);
    EXPECT_TRUE(table.entries().empty());
}

TEST(PeerTable, MarginFromUnknownSenderIsIgnored) {
    PeerTable table("me", Millis{1000});
    EXPECT_EQ(table.apply("a", ip("10.0.0.2"), NmsMargin{10, {}}, kNow),
              ApplyOutcome::UnknownSender);
    EXPECT_TRUE(table.entries().empty());
    table.record_membership("a", ip("10.0.0.2"), {"f"}, kNow);  // a member, but no node info
    EXPECT_EQ(table.apply("a", ip("10.0.0.2"), NmsMargin{10, {}}, kNow),
              ApplyOutcome::UnknownSender);
    EXPECT_FALSE(table.find("a")->nms_margin.has_value());
}

TEST(PeerTable, MarginLoadIsCopiedFieldByField) {
    PeerTable table("me", Millis{1000});
    table.apply("a", ip("10.0.0.2"), NmsNodeInfo{NodeType::Heavy, {}, {"f"}}, kNow);
    EXPECT_EQ(table.apply("a", ip("10.0.0.2"), NmsMargin{12.5, {1.0, 2.0, 3.0}}, kNow),
              ApplyOutcome::Applied);
    EXPECT_EQ(table.find("a")->nms_margin->value, (NmsMargin{12.5, {1.0, 2.0, 3.0}}));
}

TEST(PeerTable, RecalcLimitsReplaceThePreviousOnes) {
    PeerTable table("me", Millis{1000});
    table.apply("a", ip("10.0.0.2"), RecalcLimits{{{"f", 3}, {"g", 4}}}, kNow);
    table.apply("a", ip("10.0.0.2"), RecalcLimits{{{"g", 5}}}, kNow + Millis{10});
    EXPECT_EQ(table.find("a")->recalc_limit_out->value, (std::map<std::string, double>{{"g", 5}}));
    EXPECT_EQ(table.find("a")->recalc_limit_out->at, kNow + Millis{10});
}

TEST(PeerTable, FunctionListsAreSortedAndUnique) {
    PeerTable table("me", Millis{1000});
    table.apply("a", ip("10.0.0.2"), StaticInfo{{"z", "a", "z"}}, kNow);
    EXPECT_EQ(table.find("a")->static_info->value.functions, (std::vector<std::string>{"a", "z"}));
}

TEST(PeerTable, UnreachablePeerIsDeadUntilItSpeaks) {
    PeerTable table("me", Millis{1000});
    table.record_membership("a", ip("10.0.0.2"), {}, kNow);
    table.mark_unreachable("a");
    EXPECT_TRUE(table.live(kNow).empty());
    table.record_membership("a", ip("10.0.0.2"), {}, kNow + Millis{5});
    EXPECT_EQ(table.live(kNow + Millis{5}).size(), 1u);
}

TEST(PeerTable, AddressFollowsTheLatestMessage) {
    PeerTable table("me", Millis{1000});
    table.record_membership("a", ip("10.0.0.2"), {}, kNow);
    table.apply("a", ip("10.0.0.9"), StaticInfo{{"f"}}, kNow);
    EXPECT_EQ(table.find("a")->address, ip("10.0.0.9"));
}

TEST(PeerTable, InvalidMessagesAreErrorsAndChangeNothing) {
    PeerTable table("me", Millis{1000});
    table.apply("a", ip("10.0.0.2"), RecalcLimits{{{"f", 3}}}, kNow);
    const PeerTable before = table;
    const double nan = std::nan("");
    EXPECT_THROW(table.apply("a", ip("10.0.0.2"), RecalcLimits{{{"f", nan}}}, kNow), Error);
    EXPECT_THROW(table.apply("a", ip("10.0.0.2"), RecalcLimits{{{"f", -1}}}, kNow), Error);
    EXPECT_THROW(table.apply("a", ip("10.0.0.2"), RecalcLimits{{{"", 1}}}, kNow), Error);
    EXPECT_THROW(table.apply("a", ip("10.0.0.2"), NmsNodeInfo{NodeType::Mid, {0, 1, 1}, {}}, kNow),
                 Error);
    EXPECT_THROW(table.apply("a", ip("10.0.0.2"), NmsMargin{-5, {}}, kNow), Error);
    EXPECT_THROW(table.apply("a", ip("0.0.0.0"), StaticInfo{{"f"}}, kNow), Error);
    EXPECT_THROW(table.apply("", ip("10.0.0.2"), StaticInfo{{"f"}}, kNow), Error);
    EXPECT_THROW(table.record_membership("b", ip("10.0.0.3"), {""}, kNow), Error);
    EXPECT_EQ(table, before);
}

TEST(PeerTable, ConstructorValidatesEntries) {
    EXPECT_THROW(PeerTable("me", Millis{0}), Error);
    PeerEntry self;
    self.id = "me";
    self.address = ip("10.0.0.1");
    EXPECT_THROW(PeerTable("me", Millis{1}, {self}), Error);
    PeerEntry a;
    a.id = "a";
    a.address = ip("10.0.0.2");
    EXPECT_THROW(PeerTable("me", Millis{1}, {a, a}), Error);
    a.nms_margin = Received<NmsMargin>{NmsMargin{-1, {}}, kNow};
    EXPECT_THROW(PeerTable("me", Millis{1}, {a}), Error);
}

}  // namespace
}  // namespace dfaas::strategy
