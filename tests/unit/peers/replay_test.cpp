#include "dfaas/peers/replay.h"

#include <gtest/gtest.h>

#include "dfaas/peers/reject.h"
#include "support.h"

namespace dfaas::peers {
namespace {

using namespace testing;

const Millis kWindow{30000};

TEST(Replay, TimestampMustBeWithinTheWindowEitherWay) {
    ReplayGuard guard({kWindow});
    EXPECT_TRUE(guard.in_window(kNow - kWindow, kNow));
    EXPECT_TRUE(guard.in_window(kNow + kWindow, kNow));
    EXPECT_FALSE(guard.in_window(kNow - kWindow - Millis{1}, kNow));
    EXPECT_FALSE(guard.in_window(kNow + kWindow + Millis{1}, kNow));
    EXPECT_EQ(guard.admit("a", 1, kNow - kWindow - Millis{1}, kNow), ReplayVerdict::Stale);
    EXPECT_EQ(guard.senders(), 0u);  // a stale message leaves nothing behind
}

TEST(Replay, EachSenderSeqCountsOnce) {
    ReplayGuard guard({kWindow});
    EXPECT_EQ(guard.admit("a", 10, kNow, kNow), ReplayVerdict::Fresh);
    EXPECT_EQ(guard.admit("a", 10, kNow, kNow + Millis{5}), ReplayVerdict::Replay);
    EXPECT_EQ(guard.admit("b", 10, kNow, kNow), ReplayVerdict::Fresh);  // another sender
    // Out of order is fine: concurrent sends may arrive in any order.
    EXPECT_EQ(guard.admit("a", 12, kNow, kNow), ReplayVerdict::Fresh);
    EXPECT_EQ(guard.admit("a", 11, kNow, kNow), ReplayVerdict::Fresh);
    EXPECT_EQ(guard.admit("a", 11, kNow, kNow), ReplayVerdict::Replay);
}

TEST(Replay, MemoryIsReleasedOnceAReplayWouldBeStaleAnyway) {
    ReplayGuard guard({kWindow});
    for (uint64_t seq = 1; seq <= 100; ++seq)
        ASSERT_EQ(guard.admit("a", seq, kNow, kNow), ReplayVerdict::Fresh);
    EXPECT_EQ(guard.remembered(), 100u);
    const Instant later = kNow + kWindow + Millis{1};
    // The replay of an old message is now refused by its timestamp alone.
    EXPECT_EQ(guard.admit("a", 50, kNow, later), ReplayVerdict::Stale);
    guard.prune(later);
    EXPECT_EQ(guard.remembered(), 0u);
    EXPECT_EQ(guard.senders(), 0u);
}

TEST(Replay, PerSenderCapForgetsTheLowestAndRefusesBelowIt) {
    ReplayGuard guard({kWindow, 16, 4});
    for (uint64_t seq = 10; seq < 14; ++seq)
        ASSERT_EQ(guard.admit("a", seq, kNow, kNow), ReplayVerdict::Fresh);
    EXPECT_EQ(guard.admit("a", 14, kNow, kNow), ReplayVerdict::Fresh);  // forgets 10
    EXPECT_EQ(guard.remembered(), 4u);
    EXPECT_EQ(guard.admit("a", 10, kNow, kNow), ReplayVerdict::Replay);  // below the floor
    EXPECT_EQ(guard.admit("a", 9, kNow, kNow), ReplayVerdict::Replay);
    EXPECT_EQ(guard.admit("a", 15, kNow, kNow), ReplayVerdict::Fresh);
    EXPECT_LE(guard.remembered(), 4u);
}

TEST(Replay, SenderCapRefusesNewSendersInsteadOfForgettingOld) {
    ReplayGuard guard({kWindow, 2, 8});
    EXPECT_EQ(guard.admit("a", 1, kNow, kNow), ReplayVerdict::Fresh);
    EXPECT_EQ(guard.admit("b", 1, kNow, kNow), ReplayVerdict::Fresh);
    EXPECT_EQ(guard.admit("c", 1, kNow, kNow), ReplayVerdict::Capacity);
    EXPECT_EQ(guard.admit("a", 1, kNow, kNow), ReplayVerdict::Replay);  // "a" not forgotten
    // Once their messages are out of the window, room is made.
    EXPECT_EQ(guard.admit("c", 1, kNow + kWindow + Millis{1}, kNow + kWindow + Millis{1}),
              ReplayVerdict::Fresh);
}

TEST(Replay, InvalidSettingsAreRefused) {
    EXPECT_THROW(ReplayGuard({Millis{0}}), Error);
    EXPECT_THROW(ReplayGuard({kWindow, 0, 1}), Error);
    EXPECT_THROW(ReplayGuard({kWindow, 1, 0}), Error);
}

}  // namespace
}  // namespace dfaas::peers
