// HttpCounters' derived figures (issue 19 item 1): the latency quantile as Prometheus'
// histogram_quantile() estimates it from the same buckets, the error ratio, the code labels and
// their JSON form.
#include <gtest/gtest.h>

#include <cmath>

#include "dfaas/dataplane/json.h"
#include "dfaas/dataplane/types.h"

namespace dfaas::dp {
namespace {

using Buckets = std::array<uint64_t, kHttpBuckets>;

// Bucket i spans [8 us << (i - 1), 8 us << i); bucket 0 starts at 0.
constexpr double kUs = 1e-6;

TEST(HttpBuckets, BoundsDoubleFrom8MicrosecondsToInfinity) {
    EXPECT_DOUBLE_EQ(http_bucket_upper_seconds(0), 8 * kUs);
    EXPECT_DOUBLE_EQ(http_bucket_upper_seconds(1), 16 * kUs);
    EXPECT_DOUBLE_EQ(http_bucket_upper_seconds(22), 8 * kUs * double(1u << 22));  // 33.55 s
    EXPECT_TRUE(std::isinf(http_bucket_upper_seconds(kHttpBuckets - 1)));
}

TEST(LatencyQuantile, EmptyHistogramHasNone) {
    Buckets empty{};
    EXPECT_FALSE(latency_quantile_seconds(empty, 0.5));
    EXPECT_FALSE(latency_quantile_seconds(empty, 0.99));
}

TEST(LatencyQuantile, OutOfRangeQuantileHasNone) {
    Buckets b{};
    b[3] = 10;
    EXPECT_FALSE(latency_quantile_seconds(b, -0.1));
    EXPECT_FALSE(latency_quantile_seconds(b, 1.5));
    EXPECT_FALSE(latency_quantile_seconds(b, NAN));
}

TEST(LatencyQuantile, AllInOneBucketInterpolatesInsideIt) {
    Buckets b{};
    b[10] = 100;  // [4096 us, 8192 us)
    const double lower = 4096 * kUs, upper = 8192 * kUs;
    EXPECT_DOUBLE_EQ(*latency_quantile_seconds(b, 0.5), lower + (upper - lower) * 0.5);
    EXPECT_DOUBLE_EQ(*latency_quantile_seconds(b, 0.99), lower + (upper - lower) * 0.99);
    EXPECT_DOUBLE_EQ(*latency_quantile_seconds(b, 1.0), upper);
}

TEST(LatencyQuantile, FirstBucketStartsAtZero) {
    Buckets b{};
    b[0] = 4;
    EXPECT_DOUBLE_EQ(*latency_quantile_seconds(b, 0.5), 4 * kUs);
}

TEST(LatencyQuantile, RankInTheInfBucketGivesTheLargestFiniteBound) {
    Buckets b{};
    b[kHttpBuckets - 1] = 10;  // everything above 33.5 s
    EXPECT_DOUBLE_EQ(*latency_quantile_seconds(b, 0.5), http_bucket_upper_seconds(22));
    b[5] = 90;  // p50 inside bucket 5, p99 above every finite bound
    EXPECT_LT(*latency_quantile_seconds(b, 0.5), http_bucket_upper_seconds(5));
    EXPECT_DOUBLE_EQ(*latency_quantile_seconds(b, 0.99), http_bucket_upper_seconds(22));
}

// A known distribution worked by hand the way histogram_quantile() does it: 50 responses in
// [1024, 2048) us, 40 in [2048, 4096) us, 10 in [8192, 16384) us.
TEST(LatencyQuantile, KnownDistribution) {
    Buckets b{};
    b[8] = 50;
    b[9] = 40;
    b[11] = 10;
    // p50: rank 50 = all of bucket 8: its upper bound.
    EXPECT_DOUBLE_EQ(*latency_quantile_seconds(b, 0.5), 2048 * kUs);
    // p75: rank 75, 25 into bucket 9's 40: 2048 + 2048 * 25/40 us.
    EXPECT_DOUBLE_EQ(*latency_quantile_seconds(b, 0.75), (2048 + 2048 * 25.0 / 40) * kUs);
    // p90: rank 90 reached at the end of bucket 9; the empty bucket 10 is not picked.
    EXPECT_DOUBLE_EQ(*latency_quantile_seconds(b, 0.9), 4096 * kUs);
    // p99: rank 99, 9 into bucket 11's 10: 8192 + 8192 * 0.9 us.
    EXPECT_NEAR(*latency_quantile_seconds(b, 0.99), (8192 + 8192 * 0.9) * kUs, 1e-12);
}

TEST(LatencyQuantile, UniformOverTwoBucketsIsMonotonic) {
    Buckets b{};
    b[4] = 1000;
    b[5] = 1000;
    double previous = 0;
    for (double q = 0.05; q <= 1.0; q += 0.05) {
        double v = *latency_quantile_seconds(b, q);
        EXPECT_GE(v, previous) << q;
        previous = v;
    }
    EXPECT_DOUBLE_EQ(*latency_quantile_seconds(b, 0.5), 128 * kUs);
}

HttpCounters counters_with(std::initializer_list<std::pair<HttpCode, uint64_t>> codes) {
    HttpCounters c;
    for (auto [code, n] : codes)
        c.codes[size_t(code)] = n;
    return c;
}

TEST(HttpCounters, ErrorRatioIs429And5xxOverFinalResponses) {
    EXPECT_FALSE(HttpCounters{}.error_ratio()) << "no response: no ratio";
    auto c = counters_with({{HttpCode::Ok200, 80},
                            {HttpCode::NotFound404, 5},
                            {HttpCode::TooMany429, 4},
                            {HttpCode::Unavailable503, 3},
                            {HttpCode::Other5xx, 2},
                            {HttpCode::BadGateway502, 1},
                            {HttpCode::Other4xx, 5},
                            {HttpCode::Other1xx, 50}});  // interim: not final responses
    EXPECT_EQ(c.final_responses(), 100u);
    EXPECT_DOUBLE_EQ(*c.error_ratio(), 0.10) << "(4 + 3 + 2 + 1) / 100: 404 and 4xx excluded";
    EXPECT_FALSE(counters_with({{HttpCode::Other1xx, 3}}).error_ratio()) << "only interim";
}

TEST(HttpCounters, EmptyMeansNothingRecorded) {
    EXPECT_TRUE(HttpCounters{}.empty());
    HttpCounters opaque;
    opaque.opaque_connections = 1;
    EXPECT_FALSE(opaque.empty());
    EXPECT_FALSE(counters_with({{HttpCode::Other1xx, 1}}).empty());
}

TEST(HttpCounters, SumAddsEveryField) {
    HttpCounters a = counters_with({{HttpCode::Ok200, 2}}),
                 b = counters_with({{HttpCode::Ok200, 3}});
    a.buckets[1] = 1;
    b.buckets[1] = 2;
    b.buckets[kHttpBuckets - 1] = 7;
    a.latency_sum_ns = 10;
    b.latency_sum_ns = 5;
    a.untimed = 1;
    b.opaque_connections = 4;
    a += b;
    EXPECT_EQ(a.codes[0], 5u);
    EXPECT_EQ(a.buckets[1], 3u);
    EXPECT_EQ(a.buckets[kHttpBuckets - 1], 7u);
    EXPECT_EQ(a.timed(), 10u);
    EXPECT_EQ(a.latency_sum_ns, 15u);
    EXPECT_EQ(a.untimed, 1u);
    EXPECT_EQ(a.opaque_connections, 4u);
}

TEST(HttpCounters, CodeLabels) {
    EXPECT_STREQ(http_code_label(size_t(HttpCode::Ok200)), "200");
    EXPECT_STREQ(http_code_label(size_t(HttpCode::Timeout504)), "504");
    EXPECT_STREQ(http_code_label(size_t(HttpCode::Other1xx)), "1xx");
    EXPECT_STREQ(http_code_label(size_t(HttpCode::Other5xx)), "5xx");
    EXPECT_STREQ(http_code_label(size_t(HttpCode::Malformed)), "malformed");
}

TEST(HttpCountersJson, OnlyRoutesWithDataAndOnlyCodesSeen) {
    FunctionStats f;
    f.name = "figlet";
    f.http_local = counters_with({{HttpCode::Ok200, 9}, {HttpCode::Unavailable503, 1}});
    f.http_local.buckets[10] = 10;
    f.http_local.latency_sum_ns = 50'000'000;
    Ipv4 quiet = *Ipv4::parse("10.0.0.3"), busy = *Ipv4::parse("10.0.0.2");
    f.http_to_peer[quiet] = HttpCounters{};
    f.http_to_peer[busy].opaque_connections = 2;
    auto j = to_json(f)["http"];
    EXPECT_FALSE(j.contains("forwarded_in")) << j;
    EXPECT_FALSE(j["to_peer"].contains("10.0.0.3")) << j;
    ASSERT_TRUE(j["to_peer"].contains("10.0.0.2")) << j;
    EXPECT_EQ(j["to_peer"]["10.0.0.2"]["opaque_connections"], 2);
    EXPECT_TRUE(j["to_peer"]["10.0.0.2"]["p50_s"].is_null());
    const auto &local = j["local"];
    EXPECT_EQ(local["responses"], 10);
    EXPECT_EQ(local["timed"], 10);
    EXPECT_EQ(local["codes"].size(), 2u) << local;
    EXPECT_EQ(local["codes"]["503"], 1);
    EXPECT_DOUBLE_EQ(local["latency_sum_s"].get<double>(), 0.05);
    EXPECT_DOUBLE_EQ(local["error_ratio"].get<double>(), 0.1);
    EXPECT_DOUBLE_EQ(local["p50_s"].get<double>(), 6144 * kUs);
    EXPECT_EQ(local["buckets"].size(), kHttpBuckets);
}

}  // namespace
}  // namespace dfaas::dp
