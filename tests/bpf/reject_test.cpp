// Reject: an RST|ACK built in place and bounced out, or a counted drop.
#include "harness.h"

namespace dfaas::test {
namespace {

class Reject : public DataplaneTest {
  protected:
    FunctionPolicy reject_all() {
        FunctionPolicy p;
        p.local = 0;
        p.reject = 100;
        return p;
    }
};

TEST_F(Reject, SynIsAnsweredWithAnRstAck) {
    install_figlet(reject_all());
    auto syn = user_syn();
    syn.seq = 0xfffffffe;  // the ACK number wraps
    auto r = ingress(syn.frame());
    EXPECT_EQ(r.retval, kRedirect);
    ASSERT_TRUE(r.parsed.error.empty()) << r.parsed.error;
    EXPECT_EQ(r.parsed.eth_dst, kClientMac);
    EXPECT_EQ(r.parsed.eth_src, kNodeMac);
    EXPECT_EQ(r.parsed.ip.src, kNode);
    EXPECT_EQ(r.parsed.ip.dst, kClient);
    EXPECT_EQ(r.parsed.ip.tot_len, 20 + 20 + syn.tcp_options.size()) << "same length as the SYN";
    EXPECT_EQ(r.parsed.ip.ihl_bytes, 20);
    EXPECT_TRUE(r.parsed.ip.checksum_ok);
    EXPECT_EQ(r.parsed.tcp.sport, kFport);
    EXPECT_EQ(r.parsed.tcp.dport, syn.sport);
    EXPECT_EQ(r.parsed.tcp.flags, kRst | kAck);
    EXPECT_EQ(r.parsed.tcp.seq, 0u);
    EXPECT_EQ(r.parsed.tcp.ack, 0xffffffffu);
    EXPECT_EQ(r.parsed.tcp.hlen, 20 + syn.tcp_options.size());
    EXPECT_FALSE(r.parsed.tcp.mss) << "the SYN's options became NOPs";
    EXPECT_TRUE(r.parsed.tcp.payload.empty());
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    EXPECT_EQ(r.out.size(), syn.frame().size()) << "rewritten in place";
    auto st = dp().stats();
    EXPECT_EQ(st.function("figlet")->reject.connections, 1u);
    EXPECT_EQ(st.reason("rst_sent"), 1u);
}

TEST_F(Reject, IpOptionsAreRemovedFromTheRst) {
    install_figlet(reject_all());
    auto syn = user_syn();
    syn.ip_options = {0x01, 0x01, 0x01, 0x00, 0x01, 0x01, 0x01, 0x00};
    auto r = ingress(syn.frame());
    EXPECT_EQ(r.retval, kRedirect);
    EXPECT_EQ(r.parsed.ip.ihl_bytes, 20);
    EXPECT_TRUE(r.parsed.ip.checksum_ok);
    EXPECT_EQ(r.parsed.tcp.flags, kRst | kAck);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    EXPECT_EQ(r.out.size(), syn.frame().size() - syn.ip_options.size()) << "IP options removed";
}

TEST_F(Reject, DropModeDropsAndRemembersForRetries) {
    auto s = default_settings();
    s.reject_mode = RejectMode::Drop;
    reattach(s);
    install_figlet(reject_all());
    auto syn = user_syn();
    EXPECT_EQ(ingress(syn.frame()).retval, kShot);
    // Policy now says local, but the SYN retry belongs to the rejected connection.
    dp().set_policy("figlet", FunctionPolicy::all_local());
    EXPECT_EQ(ingress(syn.frame()).retval, kShot);
    auto st = dp().stats();
    EXPECT_EQ(st.reason("drop_reject"), 2u);
    EXPECT_EQ(st.reason("syn_retransmit"), 1u);
    EXPECT_EQ(st.function("figlet")->reject.connections, 1u);
}

TEST_F(Reject, SynGuardStopsTrackingDoomedConnectionsUnderAFlood) {
    auto s = default_settings();
    s.reject_mode = RejectMode::Drop;
    s.syn_guard_rate = 5;
    reattach(s);
    install_figlet(reject_all());
    for (uint16_t port = 42000; port < 42020; ++port)
        ingress(user_syn(port).frame());
    auto st = dp().stats();
    EXPECT_EQ(st.reason("drop_reject"), 20u);
    EXPECT_GE(st.reason("syn_guard"), 14u) << "above 5 SYN/s, rejected SYNs are not tracked";
    size_t tracked = 0;
    for (const auto &e : dp().conntrack())
        tracked += e.path == dp::CtPath::Reject;
    EXPECT_EQ(tracked + st.reason("syn_guard"), 20u);
    EXPECT_LE(tracked, 6u);
}

TEST_F(Reject, WeightedSplitIncludesReject) {
    FunctionPolicy p;
    p.local = 50;
    p.reject = 50;
    install_figlet(p);
    int rejected = 0, local = 0;
    for (uint16_t port = 43000; port < 43400; ++port) {
        auto r = ingress(user_syn(port).frame());
        if (r.retval == kRedirect) ++rejected;
        if (r.retval == 0) ++local;
    }
    EXPECT_EQ(rejected + local, 400);
    EXPECT_EQ(rejected, 200);  // 200 SWRR cycles of local, reject
}

}  // namespace
}  // namespace dfaas::test
