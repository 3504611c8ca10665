// Everything that is not ours passes untouched and is counted by reason; nothing is dropped by
// accident.
#include "harness.h"

namespace dfaas::test {
namespace {

class Passthrough : public DataplaneTest {
  protected:
    void SetUp() override {
        DataplaneTest::SetUp();
        if (!IsSkipped()) install_figlet(FunctionPolicy::all_local());
    }

    void expect_passed(const Bytes &frame, const std::string &reason_name) {
        auto r = ingress(frame);
        EXPECT_EQ(r.retval, 0) << reason_name;
        EXPECT_EQ(r.out, frame) << reason_name << ": must pass untouched";
        EXPECT_EQ(reason(reason_name), 1u) << reason_name;
    }
};

TEST_F(Passthrough, Ipv6) {
    expect_passed(ipv6_frame(), "pass_not_ipv4");
}

TEST_F(Passthrough, Udp) {
    expect_passed(udp_frame(kClient, kNode, 5000, kFport), "pass_not_tcp");
}

TEST_F(Passthrough, Icmp) {
    expect_passed(icmp_frame(kClient, kNode), "pass_not_tcp");
}

TEST_F(Passthrough, FirstFragment) {
    auto syn = user_syn();
    syn.frag = 0x2000;  // MF
    expect_passed(syn.frame(), "pass_fragment");
}

TEST_F(Passthrough, LaterFragment) {
    auto syn = user_syn();
    syn.frag = 0x0010;  // offset 128
    expect_passed(syn.frame(), "pass_fragment");
}

TEST_F(Passthrough, TcpToAnotherPort) {
    auto syn = user_syn();
    syn.dport = 22;
    expect_passed(syn.frame(), "pass_no_service");
}

TEST_F(Passthrough, TcpToAnotherAddress) {
    auto syn = user_syn();
    syn.dst = kPeerC;
    expect_passed(syn.frame(), "pass_no_service");
}

TEST_F(Passthrough, MidFlowPacketWithoutConntrack) {
    auto ack = user_syn();
    ack.flags = kAck;
    ack.tcp_options.clear();
    expect_passed(ack.frame(), "pass_ct_miss_midflow");
}

// (A frame shorter than an IPv4 header never reaches the program: BPF_PROG_TEST_RUN refuses it,
// as the stack drops it before TC.)
TEST_F(Passthrough, IpHeaderLongerThanThePacket) {
    auto syn = user_syn();
    syn.tcp_options.clear();
    auto frame = syn.frame();
    frame[14] = 0x4f;  // ihl 15: a 60-byte header in a 40-byte packet
    expect_passed(frame, "pass_malformed");
}

TEST_F(Passthrough, TruncatedTcpHeader) {
    auto frame = user_syn().frame();
    frame.resize(14 + 20 + 10);
    expect_passed(frame, "pass_malformed");
}

TEST_F(Passthrough, IpTotalLengthBeyondThePacket) {
    auto frame = user_syn().frame();
    frame[14 + 2] = 0x05;  // tot_len 0x05xx > frame
    expect_passed(frame, "pass_malformed");
}

TEST_F(Passthrough, BadIhl) {
    auto frame = user_syn().frame();
    frame[14] = 0x43;  // ihl 3 (< 5)
    expect_passed(frame, "pass_malformed");
}

TEST_F(Passthrough, TcpDataOffsetBeyondThePacket) {
    auto frame = user_syn().frame();
    frame[14 + 20 + 12] = 0xf0;  // 60-byte header in a 40-byte segment
    expect_passed(frame, "pass_malformed");
}

TEST_F(Passthrough, EgressTrafficNotFromTheGatewayIsUntouched) {
    TcpPacket p;
    p.src = kNode;
    p.sport = 22;
    p.dst = kClient;
    p.dport = 50000;
    p.flags = kAck;
    auto frame = p.frame();
    auto r = egress(frame);
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.out, frame);
}

TEST_F(Passthrough, EgressFromTheGatewayWithoutConntrackIsCounted) {
    TcpPacket p;
    p.src = kGateway.addr;
    p.sport = kGateway.port;
    p.dst = kClient;
    p.dport = 50000;
    p.flags = kAck;
    auto frame = p.frame();
    auto r = egress(frame);
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.out, frame);
    EXPECT_EQ(reason("pass_egress_no_ct"), 1u);
}

TEST_F(Passthrough, DisabledSteeringPassesEverything) {
    auto s = default_settings();
    s.enabled = false;
    dp().update_settings(s);
    auto frame = user_syn().frame();
    auto r = ingress(frame);
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.out, frame);
    EXPECT_EQ(reason("syn_new"), 0u);
}

TEST_F(Passthrough, EveryPacketIsCounted) {
    ingress(ipv6_frame());
    ingress(user_syn().frame());
    egress(ipv6_frame());
    EXPECT_EQ(reason("pkt_ingress"), 2u);
    EXPECT_EQ(reason("pkt_egress"), 1u);
}

}  // namespace
}  // namespace dfaas::test
