// The shared duration grammar (dfaas/duration.h): every unit, fractions, the limits and one past
// each, and errors that name what is wrong.
#include <gtest/gtest.h>

#include <string>

#include "dfaas/duration.h"

using namespace std::chrono_literals;
using dfaas::BareNumber;
using dfaas::parse_duration;

namespace {

std::chrono::nanoseconds ok(std::string_view text, BareNumber bare = BareNumber::Refuse) {
    auto parsed = parse_duration(text, bare);
    EXPECT_TRUE(parsed) << "\"" << text << "\": " << parsed.reason;
    return parsed ? *parsed : std::chrono::nanoseconds(-1);
}

std::string refused(std::string_view text, BareNumber bare = BareNumber::Refuse) {
    auto parsed = parse_duration(text, bare);
    EXPECT_FALSE(parsed) << "\"" << text << "\" parsed as " << parsed.value->count() << "ns";
    return parsed.reason;
}

}  // namespace

TEST(Duration, UnitsAndSequences) {
    EXPECT_EQ(ok("1h30m"), 90min);
    EXPECT_EQ(ok("500ms"), 500ms);
    EXPECT_EQ(ok("2s"), 2s);
    EXPECT_EQ(ok("1.5s"), 1500ms);
    EXPECT_EQ(ok("250us"), 250us);
    EXPECT_EQ(ok("250µs"), 250us);
    EXPECT_EQ(ok("7ns"), 7ns);
    EXPECT_EQ(ok("0.25m"), 15s);
    EXPECT_EQ(ok(".5s"), 500ms);
    EXPECT_EQ(ok("1m0.5s"), 60500ms);
    EXPECT_EQ(ok("1h0m5s"), 3605s);
    EXPECT_EQ(ok("0"), 0ns);
    EXPECT_EQ(ok("0s"), 0ns);
    // Exact, not floating point: 0.1 + 0.2 s is 300 ms to the nanosecond.
    EXPECT_EQ(ok("0.1s0.2s"), 300ms);
    EXPECT_EQ(ok("1.000000001s"), 1000000001ns);
}

TEST(Duration, BareNumbersOnlyWhereTheCallerReadsSeconds) {
    EXPECT_NE(refused("30").find("a number needs a unit, as in 30s"), std::string::npos);
    EXPECT_EQ(ok("30", BareNumber::Seconds), 30s);
    EXPECT_EQ(ok("2.5", BareNumber::Seconds), 2500ms);
    refused("1.2.3", BareNumber::Seconds);
    refused(".", BareNumber::Seconds);
}

TEST(Duration, MalformedTextSaysWhy) {
    EXPECT_NE(refused("").find("is not a duration (empty"), std::string::npos);
    EXPECT_NE(refused("5x").find("unknown unit \"x\""), std::string::npos);
    EXPECT_NE(refused("1d").find("unknown unit \"d\""), std::string::npos);
    EXPECT_NE(refused("5m3").find("missing unit after 3"), std::string::npos);
    EXPECT_NE(refused("s").find("expected a number at \"s\""), std::string::npos);
    for (const char *bad : {"1..5s", "ms10", "1 s", " 1s", "1s ", "+1s", "1e3s", "1.2.3s"})
        EXPECT_NE(refused(bad).find("is not a duration"), std::string::npos) << bad;
}

TEST(Duration, NegativeRefused) {
    EXPECT_EQ(refused("-1s"), "is negative: a duration is 0 or more");
    EXPECT_EQ(refused("-0"), "is negative: a duration is 0 or more");
}

TEST(Duration, LargestValueAndOnePast) {
    EXPECT_EQ(ok("2562047h47m16.854775807s"), dfaas::kMaxDuration);
    EXPECT_EQ(ok("9223372036854775807ns"), dfaas::kMaxDuration);
    std::string too_long = "is too long a duration (the maximum is 2562047h47m16.854775807s)";
    EXPECT_EQ(refused("2562047h47m16.854775808s"), too_long);
    EXPECT_EQ(refused("9223372036854775808ns"), too_long);
    EXPECT_EQ(refused("2562048h"), too_long);
    // Digits far beyond any int64 are refused as they are read, not wrapped.
    EXPECT_EQ(refused("99999999999999999999999999999999999h"), too_long);
    EXPECT_EQ(refused("2562047h2562047h"), too_long);
}

TEST(Duration, NanosecondResolution) {
    EXPECT_EQ(refused("1.5ns"), "is finer than a nanosecond");
    EXPECT_EQ(refused("0.0000000001s"), "is finer than a nanosecond");
    // Trailing zeros past the 18th decimal place are still whole nanoseconds.
    EXPECT_EQ(ok("1.0000000000000000000000000s"), 1s);
}

TEST(Duration, TextLengthBoundedFirst) {
    std::string longest(dfaas::kMaxDurationTextBytes - 1, '0');
    longest += "s";
    EXPECT_EQ(ok(longest), 0ns);
    EXPECT_NE(refused(longest + "0").find("longer than 64 characters"), std::string::npos);
}

TEST(Duration, ErrorNamesTheInput) {
    EXPECT_EQ(dfaas::duration_error("--ttl", "5x", "is bad"), "--ttl: \"5x\" is bad");
    EXPECT_EQ(dfaas::duration_error("", "5x", "is bad"), "\"5x\" is bad");
}
