// Atomic policy updates: a writer flips between two policies as fast as it can while SYNs run
// through the program; every decision must belong to one of the two policies.
//
// Policy A: all slots local, local cap 1/s, overflow to peer B.
// Policy B: all slots local, no cap, overflow to peer C (never used: B has no cap).
// Legal outcomes: local (either policy) or peer B (A over its cap). Peer C can only come from a
// mix, A's cap read together with B's overflow table: it proves a torn read. The two fields sit
// at opposite ends of the value, so a mix is possible during the whole copy of a write.
#include <atomic>
#include <thread>

#include "harness.h"

namespace dfaas::test {
namespace {

class AtomicUpdate : public DataplaneTest {};

TEST_F(AtomicUpdate, NoPacketSeesHalfOfEachPolicy) {
    FunctionPolicy a;
    a.local = 100;
    a.local_cap = 1;
    a.overflow[kPeerB] = 100;
    FunctionPolicy b;
    b.local = 100;
    b.local_cap = 0;
    b.overflow[kPeerC] = 100;
    dp().add_peer(kPeerC);
    install_figlet(a);
    // Fill a's cap for the run: the cap counts completed connections, and three handshakes in
    // flight together all complete (bpf/lib/ct.h), so a's window stays at or above 1 for more
    // than a second and a's SYNs overflow to B.
    for (uint16_t port = 100; port < 103; ++port)
        ingress(user_syn(port).frame());
    for (uint16_t port = 100; port < 103; ++port)
        complete_handshake(user_syn(port));

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> writes{0};
    std::thread writer([&] {
        auto own = dp::Dataplane::open(bpffs());
        while (!stop.load()) {
            own->set_policy("figlet", writes.load() % 2 ? a : b);
            writes.fetch_add(1);
        }
    });

    int local = 0, to_b = 0, torn = 0, other = 0;
    constexpr int kRuns = 30000;
    for (int i = 0; i < kRuns; ++i) {
        auto syn = user_syn(uint16_t(1024 + i % 60000));
        syn.src = Ipv4{kClient.value + uint32_t(i / 60000) * 256};
        auto r = ingress(syn.frame());
        if (r.retval == 0 && r.parsed.ip.dst == kGateway.addr)
            ++local;
        else if (r.retval == kRedirect && r.parsed.outer && r.parsed.outer->dst == kPeerB)
            ++to_b;
        else if (r.retval == kRedirect && r.parsed.outer && r.parsed.outer->dst == kPeerC)
            ++torn;
        else if (++other == 1)
            std::cerr << "unexpected: retval " << r.retval << " outer " << bool(r.parsed.outer)
                      << " dst " << r.parsed.ip.dst.str() << " flags " << int(r.parsed.tcp.flags)
                      << '\n';
    }
    stop = true;
    writer.join();

    EXPECT_EQ(torn, 0) << "a decision mixed two policies";
    EXPECT_EQ(other, 0);
    EXPECT_EQ(local + to_b, kRuns);
    // Both policies were really exercised while the writer ran.
    EXPECT_GT(to_b, kRuns / 10);
    EXPECT_GT(local, kRuns / 10);
    EXPECT_GT(writes.load(), 1000u);
    std::cout << "[ stress   ] " << kRuns << " SYNs, " << writes.load() << " policy writes; local "
              << local << ", to B " << to_b << ", torn " << torn << '\n';
}

}  // namespace
}  // namespace dfaas::test
