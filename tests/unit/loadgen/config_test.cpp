// Durations, schedules, stages, URLs, headers, the command line and the histogram: everything
// that is decided before the first request leaves.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "dfaas/loadgen/cli.h"
#include "dfaas/loadgen/duration.h"
#include "dfaas/loadgen/histogram.h"
#include "dfaas/loadgen/schedule.h"
#include "dfaas/loadgen/target.h"

namespace dfaas::loadgen {
namespace {

constexpr Nanos kSecond = kNanosPerSecond;

TEST(Duration, ParsesGoStyleDurations) {
    EXPECT_EQ(parse_duration("0"), 0);
    EXPECT_EQ(parse_duration("250ms"), 250 * kNanosPerMilli);
    EXPECT_EQ(parse_duration("2.5s"), 2500 * kNanosPerMilli);
    EXPECT_EQ(parse_duration("5m"), 300 * kSecond);
    EXPECT_EQ(parse_duration("1h30m"), 5400 * kSecond);
    EXPECT_EQ(parse_duration("1m0.5s"), 60500 * kNanosPerMilli);
    EXPECT_EQ(parse_duration("10us"), 10 * kNanosPerMicro);
}

TEST(Duration, RejectsAmbiguousOrBrokenText) {
    for (const char *text : {"", "30", "5x", "s", "1..5s", "-1s", "5m3"}) {
        EXPECT_THROW(parse_duration(text), UsageError) << text;
    }
}

TEST(Duration, FormatsCompactly) {
    EXPECT_EQ(format_duration(1500 * kNanosPerMilli), "1.5s");
    EXPECT_EQ(format_duration(12300 * kNanosPerMicro), "12.3ms");
    EXPECT_EQ(format_duration(300 * kSecond), "5m0s");
    EXPECT_EQ(format_duration(180 * kSecond - 100 * kNanosPerMicro), "3m0s");
    EXPECT_EQ(format_duration(90500 * kNanosPerMilli), "1m30.5s");
    EXPECT_EQ(format_duration(850 * kNanosPerMicro), "850µs");
}

TEST(Schedule, ConstantRateHasExactlyRateTimesDurationRequests) {
    EXPECT_EQ(Schedule::constant(100, 2 * kSecond).total_requests(), 200u);
    EXPECT_EQ(Schedule::constant(250, 300 * kSecond).total_requests(), 75000u);
    EXPECT_EQ(Schedule::constant(3, kSecond / 3 * 3).total_requests(), 3u);
    // Fractional rates: 0.5/s over 3 s sends at 0 s and 2 s.
    Schedule slow = Schedule::constant(0.5, 3 * kSecond);
    ASSERT_EQ(slow.total_requests(), 2u);
    EXPECT_EQ(slow.due_offset(1), 2 * kSecond);
}

TEST(Schedule, RequestsAreEvenlySpacedFromTheStart) {
    Schedule schedule = Schedule::constant(4, kSecond);
    std::vector<Nanos> offsets;
    for (uint64_t i = 0; i < schedule.total_requests(); ++i)
        offsets.push_back(schedule.due_offset(i));
    EXPECT_EQ(offsets, (std::vector<Nanos>{0, 250 * kNanosPerMilli, 500 * kNanosPerMilli,
                                           750 * kNanosPerMilli}));
}

TEST(Schedule, StagesParseAndChainRates) {
    std::vector<Stage> stages = parse_stages("0-5m:100, 5-10m:300,10m-10m30s:0,10m30s-11m:1.5");
    ASSERT_EQ(stages.size(), 4u);
    EXPECT_EQ(stages[1].start, 300 * kSecond);
    EXPECT_EQ(stages[1].end, 600 * kSecond);
    EXPECT_DOUBLE_EQ(stages[3].rate, 1.5);
    Schedule schedule = Schedule::staged(stages);
    EXPECT_EQ(schedule.total_requests(), 30000u + 90000u + 0u + 45u);
    EXPECT_EQ(schedule.due_offset(30000), 300 * kSecond);   // first request of the second stage
    EXPECT_EQ(schedule.due_offset(120000), 630 * kSecond);  // the pause holds no request
    EXPECT_EQ(schedule.duration(), 660 * kSecond);
}

TEST(Schedule, RejectsBadStages) {
    EXPECT_THROW(Schedule::staged(parse_stages("1-2m:10")), UsageError);          // not from 0
    EXPECT_THROW(Schedule::staged(parse_stages("0-1m:10,2-3m:10")), UsageError);  // gap
    EXPECT_THROW(Schedule::staged(parse_stages("0-0s:10")), UsageError);          // empty
    for (const char *text : {"0-1m", "0:10", "0-1m:abc", "0-1m:-5", "0-1m:10,", "0-1q:5"}) {
        EXPECT_THROW(Schedule::staged(parse_stages(text)), UsageError) << text;
    }
}

TEST(Schedule, RejectsBadRates) {
    EXPECT_THROW(Schedule::constant(0, kSecond), UsageError);
    EXPECT_THROW(Schedule::constant(-1, kSecond), UsageError);
    EXPECT_THROW(Schedule::constant(2e9, kSecond), UsageError);
    EXPECT_THROW(Schedule::constant(10, 0), UsageError);
}

TEST(Target, ParsesHttpUrls) {
    ParsedUrl plain = parse_url("http://10.0.0.1:8080/function/figlet?x=1");
    EXPECT_EQ(plain.host, "10.0.0.1");
    EXPECT_EQ(plain.port, 8080);
    EXPECT_EQ(plain.host_header, "10.0.0.1:8080");
    EXPECT_EQ(plain.path, "/function/figlet?x=1");
    ParsedUrl bare = parse_url("HTTP://example.org");
    EXPECT_EQ(bare.port, 80);
    EXPECT_EQ(bare.path, "/");
    ParsedUrl ipv6 = parse_url("http://[::1]:9000/x");
    EXPECT_EQ(ipv6.host, "::1");
    EXPECT_EQ(ipv6.port, 9000);
}

TEST(Target, RejectsUnsupportedUrls) {
    for (const char *url : {"https://127.0.0.1/", "ftp://x/", "127.0.0.1:80", "http://",
                            "http://h:0/", "http://h:99999/", "http://u@h/", "http://h:8a/"}) {
        EXPECT_THROW(parse_url(url), UsageError) << url;
    }
}

TEST(HeaderFlag, SplitsAndValidates) {
    EXPECT_EQ(parse_header_flag("X-Test:  a b "),
              (std::pair<std::string, std::string>{"X-Test", "a b"}));
    EXPECT_THROW(parse_header_flag("no colon"), UsageError);
    EXPECT_THROW(parse_header_flag("Bad Name: x"), UsageError);
    EXPECT_THROW(parse_header_flag("Connection: keep-alive"), UsageError);
    EXPECT_THROW(parse_header_flag("content-length: 4"), UsageError);
}

std::string usage_error_of(std::vector<const char *> args) {
    args.insert(args.begin(), "dfaas-loadgen");
    try {
        parse_command_line(static_cast<int>(args.size()), args.data());
    } catch (const UsageError &e) {
        return e.what();
    }
    return "";
}

TEST(CommandLine, ReportsEachMistakeClearly) {
    const char *url = "http://127.0.0.1:9/";
    EXPECT_NE(usage_error_of({"--rate", "10", "--target", url}).find("--duration"),
              std::string::npos);
    EXPECT_NE(usage_error_of({"--duration", "1s", "--target", url}).find("--rate"),
              std::string::npos);
    EXPECT_NE(usage_error_of({"--rate", "10", "--duration", "1s"}).find("--target"),
              std::string::npos);
    EXPECT_NE(usage_error_of({"--rate", "ten", "--duration", "1s", "--target", url}).find("--rate"),
              std::string::npos);
    EXPECT_NE(usage_error_of({"--rate", "10", "--duration", "30", "--target", url}).find("unit"),
              std::string::npos);
    EXPECT_NE(
        usage_error_of({"--stages", "0-1s:5", "--rate", "1", "--target", url}).find("--stages"),
        std::string::npos);
    EXPECT_NE(
        usage_error_of({"--rate", "1", "--duration", "1s", "--target", url, "--method", "FETCH"})
            .find("--method"),
        std::string::npos);
    EXPECT_NE(
        usage_error_of({"--rate", "1", "--duration", "1s", "--target", url, "--connections", "4"})
            .find("--keepalive"),
        std::string::npos);
    EXPECT_NE(usage_error_of({"--rate", "1", "--duration", "1s", "--target", url, "--body", "a",
                              "--body-file", "/etc/hostname"})
                  .find("mutually exclusive"),
              std::string::npos);
    EXPECT_NE(usage_error_of({"--rate", "1", "--duration", "1s", "--target", url, "--body-file",
                              "/nonexistent/body"})
                  .find("/nonexistent/body"),
              std::string::npos);
    EXPECT_NE(usage_error_of({"--rate", "1", "--duration", "1s", "--target", url, "--timeout", "0"})
                  .find("--timeout"),
              std::string::npos);
    EXPECT_NE(usage_error_of({"--frobnicate"}).find("--frobnicate"), std::string::npos);
}

TEST(CommandLine, BuildsTheRunConfig) {
    std::vector<const char *> args = {"dfaas-loadgen",
                                      "--stages",
                                      "0-1s:10,1-2s:20",
                                      "--target",
                                      "http://127.0.0.1:9/a",
                                      "--target",
                                      "http://127.0.0.1:10/b",
                                      "--method",
                                      "post",
                                      "--body",
                                      "hi",
                                      "--header",
                                      "X-A: 1",
                                      "--header",
                                      "X-B: 2",
                                      "--keepalive",
                                      "--connections",
                                      "8",
                                      "--timeout",
                                      "750ms",
                                      "--json"};
    CommandLine line = parse_command_line(static_cast<int>(args.size()), args.data());
    const RunConfig &config = line.options.config;
    EXPECT_EQ(config.schedule.total_requests(), 30u);
    ASSERT_EQ(config.targets.size(), 2u);
    EXPECT_EQ(config.targets[1].parts.path, "/b");
    EXPECT_EQ(config.method, "POST");
    EXPECT_EQ(config.body, "hi");
    EXPECT_EQ(config.headers.size(), 2u);
    EXPECT_TRUE(config.keepalive);
    EXPECT_EQ(config.pool_size, 8u);
    EXPECT_EQ(config.timeout, 750 * kNanosPerMilli);
    EXPECT_TRUE(line.options.json);
}

TEST(Histogram, PercentilesWithinHalfAPercentOfExact) {
    std::mt19937_64 random(42);
    std::lognormal_distribution<double> latency(std::log(2e6), 1.0);  // around 2 ms, long tail
    std::vector<Nanos> samples;
    Histogram histogram;
    for (int i = 0; i < 100000; ++i) {
        auto value = static_cast<Nanos>(latency(random));
        samples.push_back(value);
        histogram.record(value);
    }
    std::sort(samples.begin(), samples.end());
    for (double p : {50.0, 90.0, 95.0, 99.0, 99.9}) {
        auto rank = static_cast<size_t>(std::ceil(p / 100 * samples.size()));
        double exact = static_cast<double>(samples[rank - 1]);
        EXPECT_NEAR(static_cast<double>(histogram.percentile(p)), exact, exact * 0.005) << p;
    }
    EXPECT_EQ(histogram.min(), samples.front());
    EXPECT_EQ(histogram.max(), samples.back());
    EXPECT_EQ(histogram.count(), samples.size());
}

TEST(Histogram, SmallValuesAreExactAndMergeAddsUp) {
    Histogram a;
    Histogram b;
    for (Nanos v : {5, 7, 9})
        a.record(v);
    for (Nanos v : {1, 100})
        b.record(v);
    a.merge(b);
    EXPECT_EQ(a.count(), 5u);
    EXPECT_EQ(a.percentile(50), 7);
    EXPECT_EQ(a.min(), 1);
    EXPECT_EQ(a.max(), 100);
    EXPECT_EQ(a.mean(), 24);
    EXPECT_EQ(Histogram{}.percentile(99), 0);
}

}  // namespace
}  // namespace dfaas::loadgen
