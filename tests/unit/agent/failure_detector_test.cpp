// The failure detector alone: what it makes of per-peer counters read every 250 ms.
#include <gtest/gtest.h>

#include "failure_detector.h"

namespace dfaas::agent {
namespace {

using namespace std::chrono_literals;

const Ipv4 kPeer = *Ipv4::parse("10.0.0.2");

class FailureDetectorTest : public ::testing::Test {
  protected:
    // Cumulative counters after this reading's SYNs and answers; returns whether the peer was
    // declared unreachable by it.
    bool read(uint64_t syns, uint64_t answers) {
        signal_.syns_forwarded += syns;
        signal_.answers += answers;
        now_ += 250ms;
        auto newly = detector_.update({{kPeer, signal_}}, now_);
        return !newly.empty();
    }
    // A reading whose answers are `accepted` SYN-ACKs and `refused` RSTs; the verdicts it gives.
    std::vector<PeerVerdict> read_answers(uint64_t syns, uint64_t accepted, uint64_t refused) {
        signal_.syns_forwarded += syns;
        signal_.answers += accepted + refused;
        signal_.refusals += refused;
        now_ += 250ms;
        return detector_.update({{kPeer, signal_}}, now_);
    }
    static std::vector<PeerVerdict> refusing() { return {{kPeer, PeerFailure::Refusing}}; }

    FailureDetector detector_{3, 1s};
    PeerSignal signal_{100, 100};
    FailureDetector::Clock::time_point now_{};
};

TEST_F(FailureDetectorTest, SynsSentAfterTheLastAnswersOfAnIntervalStillCount) {
    ASSERT_FALSE(read(0, 0));  // baseline
    // The peer dies mid-interval: 2 SYNs answered before, 3 sent after.
    EXPECT_FALSE(read(5, 2)) << "a reading with answers never declares";
    EXPECT_TRUE(read(0, 0)) << "the 3 SYNs owed since the last reading are enough";
}

TEST_F(FailureDetectorTest, ThreeRefusalsWithoutASynAckDeclareRefusing) {
    ASSERT_TRUE(read_answers(0, 0, 0).empty());
    EXPECT_TRUE(read_answers(2, 0, 2).empty()) << "answered, and only two refusals";
    EXPECT_EQ(read_answers(1, 0, 1), refusing());
    EXPECT_TRUE(read_answers(4, 0, 4).empty()) << "declared once, not at every reading";
}

TEST_F(FailureDetectorTest, ManyRefusalsInOneReadingDeclareRefusingNotUnanswered) {
    ASSERT_TRUE(read_answers(0, 0, 0).empty());
    EXPECT_EQ(read_answers(50, 0, 50), refusing());
}

TEST_F(FailureDetectorTest, PeerAcceptingSomeOfItsSynsIsNeverDeclaredRefusing) {
    ASSERT_TRUE(read_answers(0, 0, 0).empty());
    // At its limit_in: 249 of every 250 SYNs refused, one accepted per reading, for 100 s.
    for (int i = 0; i < 400; ++i)
        ASSERT_TRUE(read_answers(250, 1, 249).empty()) << "reading " << i;
}

TEST_F(FailureDetectorTest, ASynAckAfterTheRefusalDeclarationAllowsTheNextOne) {
    ASSERT_TRUE(read_answers(0, 0, 0).empty());
    ASSERT_EQ(read_answers(3, 0, 3), refusing());
    EXPECT_TRUE(read_answers(1, 1, 0).empty()) << "it took a connection: the count starts over";
    EXPECT_TRUE(read_answers(2, 0, 2).empty());
    EXPECT_EQ(read_answers(1, 0, 1), refusing());
}

TEST_F(FailureDetectorTest, RefusalsBeyondTheAnswersAreCountersOutOfStepAndStartAfresh) {
    ASSERT_TRUE(read_answers(0, 0, 0).empty());
    signal_.refusals += 10;  // more RSTs than answers: not a reading of one peer slot
    EXPECT_TRUE(read_answers(0, 0, 0).empty());
    EXPECT_TRUE(read_answers(2, 0, 2).empty()) << "counting starts from the fresh baseline";
}

TEST_F(FailureDetectorTest, ThreeUnansweredSynsDeclareAtOnce) {
    ASSERT_FALSE(read(0, 0));
    EXPECT_FALSE(read(2, 0));
    EXPECT_TRUE(read(1, 0));
    EXPECT_FALSE(read(5, 0)) << "declared once, not at every reading";
}

TEST_F(FailureDetectorTest, OneSynOwedForASecondDeclares) {
    ASSERT_FALSE(read(0, 0));
    EXPECT_FALSE(read(1, 0));  // owed since this reading
    EXPECT_FALSE(read(0, 0));
    EXPECT_FALSE(read(0, 0));
    EXPECT_FALSE(read(0, 0)) << "750 ms of silence";
    EXPECT_TRUE(read(0, 0)) << "1 s of silence";
}

TEST_F(FailureDetectorTest, BusyLivePeerWithSynsInFlightAtEveryReadingIsNeverDeclared) {
    ASSERT_FALSE(read(0, 0));
    // 1,000 SYNs/s; up to 4 in flight at a reading, answered in the next.
    uint64_t in_flight_before = 0;
    for (uint64_t i = 0; i < 400; ++i) {
        const uint64_t in_flight = i % 5;
        ASSERT_FALSE(read(250, 250 - in_flight + in_flight_before)) << "reading " << i;
        in_flight_before = in_flight;
    }
}

TEST_F(FailureDetectorTest, SlowLivePeerAnsweringInTheNextIntervalIsNeverDeclared) {
    ASSERT_FALSE(read(0, 0));
    for (int i = 0; i < 40; ++i) {
        ASSERT_FALSE(read(1, 0));  // sent just before the reading
        ASSERT_FALSE(read(0, 1));  // its SYN-ACK
        ASSERT_FALSE(read(0, 0));
    }
}

TEST_F(FailureDetectorTest, AnAnswerAfterTheDeclarationAllowsTheNextOne) {
    ASSERT_FALSE(read(0, 0));
    ASSERT_TRUE(read(3, 0));
    EXPECT_FALSE(read(0, 3)) << "answers again";
    EXPECT_TRUE(read(3, 0)) << "and dies again";
}

TEST_F(FailureDetectorTest, CountersThatGoBackwardsStartAfresh) {
    ASSERT_FALSE(read(0, 0));
    ASSERT_FALSE(read(2, 0));
    signal_ = PeerSignal{0, 0};  // the peer's slot was reused
    EXPECT_FALSE(read(0, 0));
    EXPECT_FALSE(read(2, 0)) << "the 2 SYNs owed before the reset are forgotten";
    EXPECT_TRUE(read(1, 0));
}

TEST_F(FailureDetectorTest, PeerGoneFromTheReadingsIsForgottenAndResetStartsAfresh) {
    ASSERT_FALSE(read(0, 0));
    ASSERT_FALSE(read(2, 0));
    now_ += 250ms;
    EXPECT_TRUE(detector_.update({}, now_).empty());
    EXPECT_FALSE(read(0, 0)) << "a new baseline";
    EXPECT_FALSE(read(2, 0));
    detector_.reset(kPeer);
    EXPECT_FALSE(read(0, 0)) << "a new baseline after reset";
    EXPECT_FALSE(read(2, 0));
    EXPECT_TRUE(read(1, 0));
}

}  // namespace
}  // namespace dfaas::agent
