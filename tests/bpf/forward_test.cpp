// The forward path: IP-in-IP to a peer, replies decapsulated back to the client; and the other
// side of it, forwarded-in connections served locally and their replies encapsulated back.
#include "harness.h"

namespace dfaas::test {
namespace {

class Forward : public DataplaneTest {
  protected:
    FunctionPolicy all_to(Ipv4 peer) {
        FunctionPolicy p;
        p.local = 0;
        p.peers[peer] = 100;
        return p;
    }

    // An encapsulated reply from peer B for a connection node A forwarded.
    Bytes reply_from_b(const TcpPacket &syn, uint8_t flags, Bytes options = {}) {
        TcpPacket inner;
        inner.src = kNode;  // B restored the function address before encapsulating
        inner.sport = kFport;
        inner.dst = syn.src;
        inner.dport = syn.sport;
        inner.flags = flags;
        inner.seq = 7000;
        inner.ack = syn.seq + 1;
        inner.tcp_options = options;
        return ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, inner.l3());
    }
};

TEST_F(Forward, SynIsEncapsulatedToThePeerWithClampedMss) {
    install_figlet(all_to(kPeerB));
    auto syn = user_syn();
    auto r = ingress(syn.frame());
    EXPECT_EQ(r.retval, kRedirect);
    ASSERT_TRUE(r.parsed.error.empty()) << r.parsed.error;
    ASSERT_TRUE(r.parsed.outer);
    EXPECT_EQ(r.parsed.outer->src, kNode);
    EXPECT_EQ(r.parsed.outer->dst, kPeerB);
    EXPECT_EQ(r.parsed.outer->protocol, 4);
    EXPECT_TRUE(r.parsed.outer->checksum_ok);
    EXPECT_EQ(r.parsed.outer->frag & 0x4000, 0x4000) << "DF";
    EXPECT_EQ(r.parsed.outer->tot_len, syn.l3().size() + 20);
    // The client's tuple travels unchanged inside.
    EXPECT_EQ(r.parsed.ip.src, kClient);
    EXPECT_EQ(r.parsed.ip.dst, kNode);
    EXPECT_EQ(r.parsed.tcp.dport, kFport);
    EXPECT_EQ(r.parsed.tcp.mss, 1500 - 60) << "MSS clamped for the 20-byte outer header";
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    EXPECT_TRUE(r.parsed.ip.checksum_ok);
    // Next hop from the FIB: B's MAC, from dp0's.
    EXPECT_EQ(r.parsed.eth_dst, kPeerBMac);
    EXPECT_EQ(r.parsed.eth_src, kNodeMac);

    auto st = dp().stats();
    EXPECT_EQ(st.function("figlet")->to_peer.at(kPeerB).connections, 1u);
    EXPECT_EQ(st.reason("mss_clamped"), 1u);
    EXPECT_EQ(st.reason("encap_out"), 1u);
    ASSERT_EQ(st.peers.size(), 1u);
    EXPECT_EQ(st.peers[0].syn_forwarded, 1u);
}

TEST_F(Forward, WithoutIpForwardingTheKernelResolvesTheNextHop) {
    ASSERT_EQ(std::system("sysctl -qw net.ipv4.conf.dp0.forwarding=0"), 0);
    install_figlet(all_to(kPeerB));
    auto syn = user_syn();
    auto r = ingress(syn.frame());
    ASSERT_EQ(std::system("sysctl -qw net.ipv4.conf.dp0.forwarding=1"), 0);
    EXPECT_EQ(r.retval, kRedirect);
    ASSERT_TRUE(r.parsed.outer);
    EXPECT_EQ(r.parsed.outer->dst, kPeerB);
    EXPECT_TRUE(r.parsed.outer->checksum_ok);
    EXPECT_EQ(reason("fib_neigh_fallback"), 1u);
    EXPECT_EQ(reason("drop_fib"), 0u);
}

TEST_F(Forward, MssAtAnOddOffsetIsClampedWithAValidChecksum) {
    install_figlet(all_to(kPeerB));
    auto syn = user_syn();
    syn.tcp_options = {1, 2, 4, 0x05, 0xb4, 1, 1, 1};  // NOP, MSS 1460 at offset 1, NOPs
    auto r = ingress(syn.frame());
    EXPECT_EQ(r.retval, kRedirect);
    EXPECT_EQ(r.parsed.tcp.mss, 1440);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
}

TEST_F(Forward, SmallMssIsLeftAlone) {
    install_figlet(all_to(kPeerB));
    auto syn = user_syn();
    syn.tcp_options = mss_option(1200);
    auto r = ingress(syn.frame());
    EXPECT_EQ(r.parsed.tcp.mss, 1200);
    EXPECT_EQ(reason("mss_clamped"), 0u);
}

TEST_F(Forward, ReplyFromThePeerIsDecapsulatedToTheClient) {
    install_figlet(all_to(kPeerB));
    auto syn = user_syn();
    ingress(syn.frame());
    auto r = ingress(reply_from_b(syn, kSyn | kAck, mss_option(1460)));
    EXPECT_EQ(r.retval, kRedirect);
    ASSERT_TRUE(r.parsed.error.empty()) << r.parsed.error;
    EXPECT_FALSE(r.parsed.outer);
    EXPECT_EQ(r.parsed.ip.src, kNode);
    EXPECT_EQ(r.parsed.tcp.sport, kFport);
    EXPECT_EQ(r.parsed.ip.dst, kClient);
    EXPECT_EQ(r.parsed.tcp.mss, 1440)
        << "SYN-ACK clamped too: the client's segments get encapsulated";
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    EXPECT_TRUE(r.parsed.ip.checksum_ok);
    EXPECT_EQ(r.parsed.eth_dst, kClientMac);
    auto st = dp().stats();
    EXPECT_EQ(st.peers[0].synack_returned, 1u);
    EXPECT_EQ(st.reason("decap_in"), 1u);
    // Client data continues to B, encapsulated.
    auto ack = syn;
    ack.flags = kAck;
    ack.tcp_options.clear();
    std::string req = "POST /function/figlet HTTP/1.1\r\n\r\n";
    ack.payload.assign(req.begin(), req.end());
    auto d = ingress(ack.frame());
    EXPECT_EQ(d.retval, kRedirect);
    ASSERT_TRUE(d.parsed.outer);
    EXPECT_EQ(d.parsed.outer->dst, kPeerB);
    EXPECT_EQ(d.parsed.tcp.payload, ack.payload);
    EXPECT_EQ(dp().stats().function("figlet")->to_peer.at(kPeerB).requests, 1u);
}

TEST_F(Forward, ReplyFromAnotherPeerThanTheChosenOneIsNotAccepted) {
    install_figlet(all_to(kPeerB));
    dp().add_peer(kPeerC);
    auto syn = user_syn();
    ingress(syn.frame());
    TcpPacket inner;
    inner.src = kNode;
    inner.sport = kFport;
    inner.dst = kClient;
    inner.dport = syn.sport;
    inner.flags = kSyn | kAck;
    auto frame = ipip_frame(kPeerCMac, kNodeMac, kPeerC, kNode, inner.l3());
    auto r = ingress(frame);
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.out, frame) << "passed untouched";
    EXPECT_EQ(reason("pass_ct_miss_midflow"), 1u);
}

TEST_F(Forward, RstFromThePeerCountsAsRefused) {
    install_figlet(all_to(kPeerB));
    auto syn = user_syn();
    ingress(syn.frame());
    auto r = ingress(reply_from_b(syn, kRst | kAck));
    EXPECT_EQ(r.retval, kRedirect);
    EXPECT_EQ(r.parsed.tcp.flags & kRst, kRst);
    EXPECT_EQ(dp().stats().peers[0].rst_returned, 1u);
}

// ---- the receiving side: this node acts as B for connections peer B forwards -------------

class ForwardedIn : public DataplaneTest {
  protected:
    void SetUp() override {
        DataplaneTest::SetUp();
        if (IsSkipped()) return;
        dp().add_peer(kPeerB);
        // figlet runs here too; B calls it on its own address and port.
        dp().set_service(dp::Service{kNode, kFport, "figlet", true});
        dp().set_service(dp::Service{kPeerB, kPeerFport, "figlet", false});
    }

    // A client's packet to B's function port, as B forwards it to us.
    TcpPacket client_to_b(uint16_t client_port = 41000, uint8_t flags = kSyn) {
        auto p = DataplaneTest::client_to_b(client_port, flags);
        p.tcp_options = mss_option(1440);
        return p;
    }

    Bytes from_b(const TcpPacket &inner) { return via_b(inner); }

    void policy(uint32_t limit_in_from_b, bool forward_everything_to_c = false) {
        FunctionPolicy p;
        if (forward_everything_to_c) {
            dp().add_peer(kPeerC);
            p.local = 0;
            p.peers[kPeerC] = 100;
        }
        if (limit_in_from_b != DFAAS_UNLIMITED) p.limit_in[kPeerB] = limit_in_from_b;
        dp().set_policy("figlet", p);
    }
};

TEST_F(ForwardedIn, IsDecapsulatedAndDnatedToTheGateway) {
    policy(DFAAS_UNLIMITED);
    auto syn = client_to_b();
    auto r = ingress(from_b(syn));
    EXPECT_EQ(r.retval, 0);
    ASSERT_TRUE(r.parsed.error.empty()) << r.parsed.error;
    EXPECT_FALSE(r.parsed.outer);
    EXPECT_EQ(r.parsed.ip.src, kClient) << "the real client address reaches the gateway";
    EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
    EXPECT_EQ(r.parsed.tcp.dport, kGateway.port);
    EXPECT_TRUE(r.parsed.ip.checksum_ok);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    auto f = dp().stats().function("figlet");
    EXPECT_EQ(f->forwarded_in.connections, 1u);
    EXPECT_EQ(f->forwarded_in_by_peer.at(kPeerB).accepted, 1u);
}

TEST_F(ForwardedIn, ReplyIsRestoredAndEncapsulatedBackToTheForwarder) {
    policy(DFAAS_UNLIMITED);
    auto syn = client_to_b();
    ingress(from_b(syn));
    TcpPacket reply;
    reply.eth_src = kNodeMac;
    reply.eth_dst = kClientMac;  // the stack routes towards the client
    reply.src = kGateway.addr;
    reply.sport = kGateway.port;
    reply.dst = kClient;
    reply.dport = syn.sport;
    reply.flags = kSyn | kAck;
    reply.tcp_options = mss_option(1460);
    auto r = egress(reply.frame());
    EXPECT_EQ(r.retval, 0) << "already on the right device: continues";
    ASSERT_TRUE(r.parsed.outer);
    EXPECT_EQ(r.parsed.outer->src, kNode);
    EXPECT_EQ(r.parsed.outer->dst, kPeerB);
    EXPECT_TRUE(r.parsed.outer->checksum_ok);
    EXPECT_EQ(r.parsed.eth_dst, kPeerBMac);
    EXPECT_EQ(r.parsed.ip.src, kPeerB) << "source restored to what the client called";
    EXPECT_EQ(r.parsed.tcp.sport, kPeerFport);
    EXPECT_EQ(r.parsed.ip.dst, kClient);
    EXPECT_TRUE(r.parsed.ip.checksum_ok);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
}

TEST_F(ForwardedIn, IsNeverForwardedAgain) {
    policy(DFAAS_UNLIMITED, /*forward_everything_to_c=*/true);
    auto r = ingress(from_b(client_to_b()));
    EXPECT_EQ(r.retval, 0);
    EXPECT_FALSE(r.parsed.outer) << "one hop at most";
    EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
}

TEST_F(ForwardedIn, LimitInRejectsOverTheCapWithAnRstBackThroughTheForwarder) {
    policy(2);
    for (uint16_t port = 41001; port <= 41002; ++port) {
        EXPECT_EQ(ingress(from_b(client_to_b(port))).retval, 0);
        complete_handshake(client_to_b(port), kPeerB);  // limit_in counts completed connections
    }
    auto syn = client_to_b(41003);
    auto r = ingress(from_b(syn));
    EXPECT_EQ(r.retval, kRedirect);
    ASSERT_TRUE(r.parsed.outer) << "the RST goes back encapsulated";
    EXPECT_EQ(r.parsed.outer->src, kNode);
    EXPECT_EQ(r.parsed.outer->dst, kPeerB);
    EXPECT_TRUE(r.parsed.outer->checksum_ok);
    EXPECT_EQ(r.parsed.ip.src, kPeerB);
    EXPECT_EQ(r.parsed.ip.dst, kClient);
    EXPECT_EQ(r.parsed.tcp.flags, kRst | kAck);
    EXPECT_EQ(r.parsed.tcp.ack, syn.seq + 1);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    EXPECT_EQ(r.parsed.eth_dst, kPeerBMac);
    auto f = dp().stats().function("figlet");
    EXPECT_EQ(f->forwarded_in_by_peer.at(kPeerB).accepted, 2u);
    EXPECT_EQ(f->forwarded_in_by_peer.at(kPeerB).rejected, 1u);
    EXPECT_EQ(f->forwarded_in_reject.connections, 1u);
}

TEST_F(ForwardedIn, DataOfAnAcceptedConnectionIsDeliveredAndCounted) {
    policy(DFAAS_UNLIMITED);
    auto syn = client_to_b();
    ingress(from_b(syn));
    auto data = client_to_b(syn.sport, kAck | kPsh);
    data.tcp_options.clear();
    std::string req = "GET /function/figlet HTTP/1.1\r\n\r\n";
    data.payload.assign(req.begin(), req.end());
    auto r = ingress(from_b(data));
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.parsed.tcp.payload, data.payload);
    EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
    EXPECT_EQ(dp().stats().function("figlet")->forwarded_in.requests, 1u);
}

}  // namespace
}  // namespace dfaas::test
