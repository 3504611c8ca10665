// The control library's side of dfaas_http_stats (issue 19): Dataplane::stats() sums a route's
// per-CPU values into FunctionStats::http_*, and removing a function or a peer deletes its
// entries so a reused id or peer slot starts from zero. Values are written into the pinned map
// directly: what the programs record is tests/bpf/http_status_test.cpp's subject.
#include <bpf/libbpf.h>

#include "harness.h"

namespace dfaas::test {
namespace {

class HttpStatsRead : public DataplaneTest {
  protected:
    void SetUp() override {
        DataplaneTest::SetUp();
        fd_ = bpf_obj_get((bpffs() + "/dfaas_http_stats").c_str());
        ASSERT_GE(fd_, 0) << std::strerror(errno);
        cpus_ = libbpf_num_possible_cpus();
        ASSERT_GT(cpus_, 0);
    }
    void TearDown() override {
        if (fd_ >= 0) close(fd_);
        DataplaneTest::TearDown();
    }

    static uint32_t key_of(uint32_t function_id, uint32_t path) {
        return function_id * DFAAS_STAT_PATHS + path;
    }
    // On every CPU: `ok` 200s and `unavailable` 503s, the 200s timed in bucket 5 (128-256 us)
    // at 200 us each.
    void write_route(uint32_t key, uint64_t ok, uint64_t unavailable) {
        std::vector<dfaas_http_stats> per_cpu(static_cast<size_t>(cpus_));
        for (auto &v : per_cpu) {
            v.codes[DFAAS_HTTP_CODE_200] = ok;
            v.codes[DFAAS_HTTP_CODE_503] = unavailable;
            v.buckets[5] = ok;
            v.latency_sum_ns = ok * 200'000;
        }
        ASSERT_EQ(bpf_map_update_elem(fd_, &key, per_cpu.data(), BPF_ANY), 0)
            << std::strerror(errno);
    }
    bool present(uint32_t key) {
        std::vector<dfaas_http_stats> per_cpu(static_cast<size_t>(cpus_));
        return bpf_map_lookup_elem(fd_, &key, per_cpu.data()) == 0;
    }

    int fd_ = -1;
    int cpus_ = 0;
};

TEST_F(HttpStatsRead, StatsSumEveryCpuPerRoute) {
    FunctionPolicy policy = FunctionPolicy::all_local();
    policy.limit_in[kPeerB] = 10;  // adds peer B
    install_figlet(policy);
    uint32_t id = *dp().function_id("figlet");
    uint32_t b = dp().peers().at(0).index;
    write_route(key_of(id, DFAAS_STAT_LOCAL), 3, 1);
    write_route(key_of(id, DFAAS_STAT_PEER_BASE + b), 2, 0);
    auto stats = dp().stats();
    const auto *f = stats.function("figlet");
    ASSERT_NE(f, nullptr);
    const uint64_t cpus = uint64_t(cpus_);
    EXPECT_EQ(f->http_local.codes[size_t(dp::HttpCode::Ok200)], 3 * cpus);
    EXPECT_EQ(f->http_local.codes[size_t(dp::HttpCode::Unavailable503)], cpus);
    EXPECT_EQ(f->http_local.timed(), 3 * cpus);
    EXPECT_EQ(f->http_local.latency_sum_ns, 3 * cpus * 200'000);
    EXPECT_DOUBLE_EQ(*f->http_local.error_ratio(), 0.25);
    EXPECT_TRUE(f->http_forwarded_in.empty()) << "no entry: zeros";
    ASSERT_TRUE(f->http_to_peer.count(kPeerB));
    EXPECT_EQ(f->http_to_peer.at(kPeerB).codes[size_t(dp::HttpCode::Ok200)], 2 * cpus);
}

TEST_F(HttpStatsRead, RemovedPeerAndReusedFunctionIdStartFromZero) {
    FunctionPolicy policy = FunctionPolicy::all_local();
    policy.limit_in[kPeerB] = 10;
    install_figlet(policy);
    uint32_t id = *dp().function_id("figlet");
    uint32_t b = dp().peers().at(0).index;
    write_route(key_of(id, DFAAS_STAT_LOCAL), 5, 0);
    write_route(key_of(id, DFAAS_STAT_FORWARDED_IN), 1, 0);
    write_route(key_of(id, DFAAS_STAT_PEER_BASE + b), 4, 0);

    EXPECT_TRUE(dp().remove_peer(kPeerB));
    EXPECT_FALSE(present(key_of(id, DFAAS_STAT_PEER_BASE + b))) << "the peer's route is gone";
    EXPECT_TRUE(present(key_of(id, DFAAS_STAT_LOCAL))) << "other routes stay";
    // A new peer in the same slot starts from zero even if an entry had come back meanwhile.
    write_route(key_of(id, DFAAS_STAT_PEER_BASE + b), 4, 0);
    EXPECT_EQ(dp().add_peer(kPeerB), b);
    EXPECT_TRUE(dp().stats().function("figlet")->http_to_peer.at(kPeerB).empty());

    dp().remove_function("figlet");
    EXPECT_FALSE(present(key_of(id, DFAAS_STAT_LOCAL)));
    EXPECT_FALSE(present(key_of(id, DFAAS_STAT_FORWARDED_IN)));
    // A reused id starts from zero, also when an entry was written after the removal.
    write_route(key_of(id, DFAAS_STAT_LOCAL), 5, 0);
    EXPECT_EQ(dp().ensure_function("shasum"), id);
    const auto *shasum = dp().stats().function("shasum");
    ASSERT_NE(shasum, nullptr);
    EXPECT_TRUE(shasum->http_local.empty());
    EXPECT_TRUE(shasum->http_forwarded_in.empty());
}

}  // namespace
}  // namespace dfaas::test
