// Monitor events (bpf/lib/events.h): emitted only under a live lease, with the decision's fields,
// sampled by connection, rate-limited per CPU, and every event not sent counted by why.
#include <time.h>

#include <vector>

#include "harness.h"
#include "maps.h"

namespace dfaas::test {
namespace {

class Monitor : public DataplaneTest {
  protected:
    std::unique_ptr<dp::EventMonitor> monitor(dp::MonitorOptions options = {}) {
        return dp::EventMonitor::start(bpffs(), options);
    }
    // Every event the ring holds now.
    std::vector<dp::MonitorEvent> drain(dp::EventMonitor &m) {
        std::vector<dp::MonitorEvent> events;
        m.poll(0, [&](const dp::MonitorEvent &e) { events.push_back(e); });
        return events;
    }
    // SYNs from `count` client ports starting at 20000.
    void syns(int count) {
        for (int i = 0; i < count; ++i)
            ingress(user_syn(uint16_t(20000 + i)).frame());
    }
    static uint64_t monotonic_coarse_ns() {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
    }
};

TEST_F(Monitor, LocalSynGivesOneNewConnectionEventWithItsDecision) {
    install_figlet(FunctionPolicy::all_local());
    auto m = monitor();
    auto syn = user_syn(40123);
    ingress(syn.frame());
    auto events = drain(*m);
    ASSERT_EQ(events.size(), 1u);
    const auto &e = events[0];
    EXPECT_EQ(e.type, "new");
    EXPECT_EQ(e.decision, "local");
    EXPECT_EQ(e.reason, "syn_new");
    EXPECT_EQ(e.function_id, *dp().function_id("figlet"));
    EXPECT_EQ(e.client, (Endpoint{kClient, 40123}));
    EXPECT_EQ(e.service, (Endpoint{kNode, kFport}));
    EXPECT_FALSE(e.peer);
    EXPECT_GT(e.time_ns, 0u);
    EXPECT_LE(e.time_ns, monotonic_coarse_ns() + 10'000'000);
    EXPECT_EQ(reason("event_sent"), 1u);
    // A retransmitted SYN follows its connection: no second decision.
    ingress(syn.frame());
    EXPECT_TRUE(drain(*m).empty());
}

TEST_F(Monitor, ForwardedSynNamesThePeer) {
    FunctionPolicy p;
    p.local = 0;
    p.peers[kPeerB] = 100;
    install_figlet(p);
    auto m = monitor();
    ingress(user_syn().frame());
    auto events = drain(*m);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].decision, "peer");
    EXPECT_EQ(events[0].peer, kPeerB);
    EXPECT_EQ(events[0].reason, "syn_new");
}

TEST_F(Monitor, RejectedSynGivesItsDecisionAndTheReject) {
    FunctionPolicy p;
    p.local = 0;
    p.reject = 100;
    install_figlet(p);
    auto m = monitor();
    ingress(user_syn().frame());
    auto events = drain(*m);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].type, "new");
    EXPECT_EQ(events[0].decision, "reject");
    EXPECT_EQ(events[1].type, "reject");
    EXPECT_EQ(events[1].reason, "rst_sent");
    EXPECT_EQ(events[1].client, (Endpoint{kClient, 40000}));
}

TEST_F(Monitor, LocalCapOverflowIsTheReason) {
    FunctionPolicy p;
    p.local_cap = 1;  // the overflow has no peer: reject
    install_figlet(p);
    auto first = user_syn(30001);
    ingress(first.frame());
    complete_handshake(first);  // charged: the cap of 1/s is reached
    auto m = monitor();
    ingress(user_syn(30002).frame());
    auto events = drain(*m);
    ASSERT_GE(events.size(), 1u);
    EXPECT_EQ(events[0].decision, "reject");
    EXPECT_EQ(events[0].reason, "local_cap_overflow");
}

TEST_F(Monitor, NoEventWithoutALiveLease) {
    install_figlet(FunctionPolicy::all_local());
    auto m = monitor();
    m->release();
    syns(3);
    EXPECT_TRUE(drain(*m).empty()) << "released: emission off";
    m->renew();
    // A monitor killed without releasing: its lease runs out by itself.
    int fd = bpf_obj_get((bpffs() + "/dfaas_event_config").c_str());
    ASSERT_GE(fd, 0);
    uint32_t zero = 0;
    dfaas_event_config cfg{};
    ASSERT_EQ(bpf_map_lookup_elem(fd, &zero, &cfg), 0);
    EXPECT_GT(cfg.expires_ns, monotonic_coarse_ns());
    cfg.expires_ns = monotonic_coarse_ns() - 1;
    ASSERT_EQ(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY), 0);
    close(fd);
    ingress(user_syn(21000).frame());
    EXPECT_TRUE(drain(*m).empty()) << "expired lease: emission off";
    EXPECT_EQ(reason("event_sent"), 0u);
}

TEST_F(Monitor, SampleKeepsAboutOneConnectionInN) {
    install_figlet(FunctionPolicy::all_local());
    dp::MonitorOptions o;
    o.sample_every = 2;
    auto m = monitor(o);
    syns(100);
    auto events = drain(*m);
    EXPECT_GE(events.size(), 30u);
    EXPECT_LE(events.size(), 70u);
    EXPECT_EQ(reason("event_sent"), events.size());
    EXPECT_EQ(reason("event_sampled_out"), 100u - events.size());
}

TEST_F(Monitor, RateLimitCountsWhatItHolds) {
    install_figlet(FunctionPolicy::all_local());
    dp::MonitorOptions o;
    o.rate_per_cpu = 5;  // a full bucket holds 5 events per CPU
    auto m = monitor(o);
    syns(60);
    auto events = drain(*m);
    // The test thread may move between CPUs; each has its own bucket (and refills a few per
    // second of run time).
    EXPECT_GE(events.size(), 5u);
    EXPECT_LE(events.size(), size_t(10 * dp::possible_cpus()));
    EXPECT_EQ(reason("event_rate_limited"), 60u - events.size());
}

TEST_F(Monitor, TypeFilterIsAppliedInTheProgram) {
    FunctionPolicy p;
    p.local = 0;
    p.reject = 100;
    install_figlet(p);
    dp::MonitorOptions o;
    o.type_mask = *dp::monitor_event_type_bit("reject");
    auto m = monitor(o);
    ingress(user_syn().frame());
    auto events = drain(*m);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "reject");
}

TEST_F(Monitor, FullRingIsCounted) {
    install_figlet(FunctionPolicy::all_local());
    auto m = monitor();
    // 256 KiB hold 5461 records of 40 bytes + an 8-byte header; nobody reads meanwhile.
    constexpr int kSyns = 6000;
    syns(kSyns);
    uint64_t sent = reason("event_sent"), full = reason("event_ring_full");
    EXPECT_EQ(sent + full, uint64_t(kSyns));
    EXPECT_EQ(sent, DFAAS_EVENTS_RING_BYTES / (sizeof(dfaas_event) + 8));
    EXPECT_EQ(drain(*m).size(), sent);
}

TEST_F(Monitor, SecondMonitorIsRefusedWhileTheFirstHoldsTheLease) {
    install_figlet(FunctionPolicy::all_local());
    auto m = monitor();
    // Another process's lease: this one (the test) is alive, so the lease is taken.
    int fd = bpf_obj_get((bpffs() + "/dfaas_event_config").c_str());
    ASSERT_GE(fd, 0);
    uint32_t zero = 0;
    dfaas_event_config cfg{};
    ASSERT_EQ(bpf_map_lookup_elem(fd, &zero, &cfg), 0);
    cfg.owner_pid = uint32_t(getppid());  // alive, not us
    ASSERT_EQ(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY), 0);
    try {
        monitor();
        ADD_FAILURE() << "a second monitor was allowed";
    } catch (const dp::Error &e) {
        EXPECT_EQ(e.error_number(), EBUSY);
        EXPECT_NE(std::string(e.what()).find("another monitor"), std::string::npos) << e.what();
    }
    // A dead owner's lease is taken over.
    cfg.owner_pid = 0x7ffffff0;  // no such process
    ASSERT_EQ(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY), 0);
    EXPECT_NO_THROW(monitor());
    close(fd);
}

TEST_F(Monitor, OutOfRangeOptionsAreRefused) {
    dp::MonitorOptions o;
    o.sample_every = dp::kMonitorMaxSampleEvery + 1;
    EXPECT_THROW(monitor(o), dp::Error);
    o = {};
    o.rate_per_cpu = dp::kMonitorMaxRatePerCpu + 1;
    EXPECT_THROW(monitor(o), dp::Error);
}

}  // namespace
}  // namespace dfaas::test
