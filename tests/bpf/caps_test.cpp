// Weighted selection, the local cap with its overflow, and policy semantics.
#include "harness.h"

namespace dfaas::test {
namespace {

enum class Target { Local, PeerB, PeerC, Reject, Other };
Target target_of(const RunResult &r);

class Caps : public DataplaneTest {
  protected:
    // A new connection from `port`: its SYN's target, with a local connection's handshake
    // completed (the local cap counts confirmed connections, bpf/lib/ct.h).
    Target connect_from(uint16_t port) {
        auto syn = user_syn(port);
        auto target = target_of(ingress(syn.frame()));
        if (target == Target::Local) complete_handshake(syn);
        return target;
    }
};

Target target_of(const RunResult &r) {
    if (r.retval == 0 && !r.parsed.outer && r.parsed.ip.dst == kGateway.addr) return Target::Local;
    if (r.retval == kRedirect && r.parsed.outer && r.parsed.outer->dst == kPeerB)
        return Target::PeerB;
    if (r.retval == kRedirect && r.parsed.outer && r.parsed.outer->dst == kPeerC)
        return Target::PeerC;
    if (r.retval == kRedirect && (r.parsed.tcp.flags & kRst)) return Target::Reject;
    return Target::Other;
}

TEST_F(Caps, LocalCapOverflowsToTheOverflowPeer) {
    FunctionPolicy p;
    p.local = 100;
    p.local_cap = 3;
    p.overflow[kPeerB] = 1;
    install_figlet(p);
    std::vector<Target> got;
    for (uint16_t port = 44000; port < 44006; ++port)
        got.push_back(connect_from(port));
    EXPECT_EQ(got, (std::vector<Target>{Target::Local, Target::Local, Target::Local, Target::PeerB,
                                        Target::PeerB, Target::PeerB}));
    EXPECT_EQ(reason("local_cap_overflow"), 3u);
}

TEST_F(Caps, LocalCapWithoutOverflowRejects) {
    FunctionPolicy p;
    p.local = 100;
    p.local_cap = 2;
    install_figlet(p);
    std::vector<Target> got;
    for (uint16_t port = 44100; port < 44104; ++port)
        got.push_back(connect_from(port));
    EXPECT_EQ(got,
              (std::vector<Target>{Target::Local, Target::Local, Target::Reject, Target::Reject}));
}

// The entry port's local connections (issue 18) and the function port's share one window:
// what the entry charges from userspace, the program counts against a SYN, and the reverse.
TEST_F(Caps, EntryAdmissionSharesTheLocalCapWindow) {
    FunctionPolicy p;
    p.local = 100;
    p.local_cap = 3;
    install_figlet(p);
    EXPECT_TRUE(dp().admit_local("figlet", 3));
    EXPECT_TRUE(dp().admit_local("figlet", 3));
    EXPECT_EQ(connect_from(44200), Target::Local) << "2 of 3 charged by the entry";
    EXPECT_FALSE(dp().admit_local("figlet", 3)) << "the program's confirmed connection counts";
    EXPECT_EQ(connect_from(44201), Target::Reject) << "the entry's charges count";
    EXPECT_TRUE(dp().admit_local("nobody", 3)) << "a function without a window is not capped";
}

TEST_F(Caps, OverflowSplitsByWeight) {
    FunctionPolicy p;
    p.local = 100;
    p.local_cap = 1;
    p.overflow[kPeerB] = 75;
    p.overflow[kPeerC] = 25;
    install_figlet(p);
    int b = 0, c = 0;
    for (uint16_t port = 45000; port < 45401; ++port) {
        auto t = connect_from(port);
        b += t == Target::PeerB;
        c += t == Target::PeerC;
    }
    EXPECT_EQ(b + c, 400);
    EXPECT_EQ(b, 300);  // 100 SWRR cycles of the overflow table (3 B, 1 C)
}

TEST_F(Caps, CapWindowSurvivesAPolicyUpdate) {
    FunctionPolicy p;
    p.local = 100;
    p.local_cap = 2;
    install_figlet(p);
    connect_from(46000);
    connect_from(46001);
    p.reject = 0;
    dp().set_policy("figlet", p);  // same cap, rewritten
    EXPECT_EQ(target_of(ingress(user_syn(46002).frame())), Target::Reject)
        << "a policy write must not reset the rate window";
}

TEST_F(Caps, WeightedSplitFollowsTheWeights) {
    FunctionPolicy p;
    p.local = 70;
    p.peers[kPeerB] = 30;
    install_figlet(p);
    int local = 0, b = 0;
    for (uint16_t port = 47000; port < 48000; ++port) {
        auto t = target_of(ingress(user_syn(port).frame()));
        local += t == Target::Local;
        b += t == Target::PeerB;
    }
    EXPECT_EQ(local + b, 1000);
    EXPECT_EQ(local, 700);  // 100 SWRR cycles of 10
}

TEST_F(Caps, ZeroWeightDrainsAPeer) {
    FunctionPolicy p;
    p.local = 100;
    p.peers[kPeerB] = 0;
    install_figlet(p);
    for (uint16_t port = 48000; port < 48100; ++port)
        EXPECT_EQ(target_of(ingress(user_syn(port).frame())), Target::Local);
    auto installed = dp().policy("figlet");
    ASSERT_TRUE(installed);
    EXPECT_EQ(installed->policy.peers.at(kPeerB), 0u) << "a drained peer is still listed";
}

TEST_F(Caps, PolicyRoundTripsThroughTheMap) {
    FunctionPolicy p;
    p.local = 40;
    p.reject = 5;
    p.peers[kPeerB] = 30;
    p.peers[kPeerC] = 25;
    p.local_cap = 120;
    p.overflow[kPeerB] = 60;
    p.overflow[kPeerC] = 40;
    p.limit_in[kPeerB] = 10;
    p.limit_in[kPeerC] = 0;
    install_figlet(p);
    auto installed = dp().policy("figlet");
    ASSERT_TRUE(installed);
    EXPECT_EQ(installed->policy, p);
    EXPECT_EQ(installed->version, 1u);
    dp().set_policy("figlet", p);
    EXPECT_EQ(dp().policy("figlet")->version, 2u);
}

TEST_F(Caps, PolicyNamingAnUnknownPeerIsRefused) {
    install_figlet(FunctionPolicy::all_local());
    FunctionPolicy p;
    p.peers[kStranger] = 10;
    try {
        dp().set_policy("figlet", p);
        FAIL() << "expected an error";
    } catch (const dp::Error &e) {
        EXPECT_NE(std::string(e.what()).find("10.0.0.50"), std::string::npos) << e.what();
    }
    EXPECT_EQ(dp().policy("figlet")->policy, FunctionPolicy::all_local()) << "nothing changed";
}

TEST_F(Caps, RemovingAPeerRewritesPoliciesThatNameIt) {
    FunctionPolicy p;
    p.local = 0;
    p.peers[kPeerB] = 100;
    install_figlet(p);
    EXPECT_TRUE(dp().remove_peer(kPeerB));
    auto installed = dp().policy("figlet");
    ASSERT_TRUE(installed);
    EXPECT_TRUE(installed->policy.peers.empty());
    EXPECT_EQ(installed->policy.local, 100u) << "an emptied policy falls back to local";
    EXPECT_EQ(target_of(ingress(user_syn(49000).frame())), Target::Local);
}

}  // namespace
}  // namespace dfaas::test
