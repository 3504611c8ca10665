// One client tuple, two paths (issue 14, the fault suite's forwarded-connection timeouts). The
// client calls node A's function port and node B's; Linux picks source ports per destination,
// so the same client port soon serves both. Node B DNATs its own users' connections and those A
// forwards to the same gateway, so both meet there under one gateway tuple. When the earlier one
// has finished but its entry is still in the established table, egress (which looks there
// first) must not take the new connection's SYN-ACK for the old one: sent as the old path, the
// SYN-ACK never reached the client, every retransmitted SYN met the same fate, and the request
// timed out (the fault suite saw it as `ct_out_of_window` on B, from the client's RSTs to the
// stray SYN-ACKs, and SYN-ACKs missing on A).
#include "harness.h"

namespace dfaas::test {
namespace {

constexpr uint32_t kOldGatewayIsn = 0x5a5a0000;
constexpr uint32_t kNewGatewayIsn = 0x7e7e0000;

class TupleReuse : public DataplaneTest {
  protected:
    // This node serves figlet and accepts what peer B forwards to it (B's users call B's port).
    void SetUp() override {
        DataplaneTest::SetUp();
        install_figlet(FunctionPolicy::all_local());
        dp().add_peer(kPeerB);
        dp().set_service(dp::Service{kPeerB, kPeerFport, "figlet", false});
    }

    // The client's SYN to B's function port, as B forwards it here.
    static TcpPacket client_to_b(uint16_t client_port, uint32_t seq) {
        TcpPacket p;
        p.eth_src = kPeerBMac;
        p.src = kClient;
        p.sport = client_port;
        p.dst = kPeerB;
        p.dport = kPeerFport;
        p.flags = kSyn;
        p.seq = seq;
        return p;
    }
    static Bytes via_b(const TcpPacket &inner) {
        return ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, inner.l3());
    }

    // A client packet of `syn`'s connection after the handshake (flags `flags`).
    static TcpPacket client_packet(const TcpPacket &syn, uint8_t flags, uint32_t gateway_isn) {
        auto p = syn;
        p.flags = flags;
        p.seq = syn.seq + 1;
        p.ack = gateway_isn + 1;
        p.tcp_options.clear();
        return p;
    }
    // The gateway's packet of `syn`'s connection after its SYN-ACK (before egress).
    static TcpPacket gateway_packet(const TcpPacket &syn, uint8_t flags, uint32_t gateway_isn) {
        auto p = gateway_synack(syn, gateway_isn);
        p.flags = flags;
        p.seq = gateway_isn + 1;
        p.ack = syn.seq + 2;  // the client's FIN
        return p;
    }

    // A whole connection of `syn` (via peer B when given): handshake, then both FINs, as an
    // HTTP exchange with `Connection: close` ends. Its entry stays, finished, in the
    // established table until the collector's closing timeout.
    void run_to_the_end(const TcpPacket &syn, std::optional<Ipv4> via_peer) {
        auto send = [&](const TcpPacket &p) {
            return via_peer ? ingress(via_b(p)) : ingress(p.frame());
        };
        ASSERT_EQ(send(syn).parsed.ip.dst, kGateway.addr);
        egress(gateway_synack(syn, kOldGatewayIsn).frame());
        send(client_packet(syn, kAck, kOldGatewayIsn));
        send(client_packet(syn, kFin | kAck, kOldGatewayIsn));
        egress(gateway_packet(syn, kFin | kAck, kOldGatewayIsn).frame());
        ASSERT_EQ(reason("ct_out_of_window"), 0u) << "the old connection ended inside its window";
    }
};

// B's user's connection, forwarded here, after this node's own user's connection on the same
// client port ended: the gateway's SYN-ACK goes back to B, from B's function port.
TEST_F(TupleReuse, AForwardedInSynReplacesAFinishedLocalConnectionOfItsTuple) {
    run_to_the_end(user_syn(40600), std::nullopt);
    auto syn = client_to_b(40600, 0x0abc0000);
    auto r = ingress(via_b(syn));
    ASSERT_EQ(r.retval, 0);
    ASSERT_EQ(r.parsed.ip.dst, kGateway.addr) << "a finished connection is no collision";
    EXPECT_EQ(reason("ct_collision"), 0u);

    auto reply = egress(gateway_synack(syn, kNewGatewayIsn).frame());
    ASSERT_TRUE(reply.parsed.outer) << "the SYN-ACK left as the finished local connection's "
                                       "(from port "
                                    << reply.parsed.tcp.sport << "), not back to peer B";
    EXPECT_EQ(reply.parsed.outer->dst, kPeerB);
    EXPECT_EQ(reply.parsed.ip.src, kPeerB);
    EXPECT_EQ(reply.parsed.tcp.sport, kPeerFport) << "the port the client called";

    ingress(via_b(client_packet(syn, kAck, kNewGatewayIsn)));
    EXPECT_EQ(reason("ct_promoted"), 2u) << "the old connection and the new one";
    auto f = dp().stats().function("figlet");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->forwarded_in.connections, 1u);
}

// The other order (this node's user after B's forwarded user on the same client port): the
// SYN-ACK carries this node's function port and is not encapsulated.
TEST_F(TupleReuse, ALocalSynReplacesAFinishedForwardedInConnectionOfItsTuple) {
    run_to_the_end(client_to_b(40620, 0x0abe0000), kPeerB);
    auto syn = user_syn(40620);
    syn.seq = 0x0bcd0000;
    ASSERT_EQ(ingress(syn.frame()).parsed.ip.dst, kGateway.addr);
    auto reply = egress(gateway_synack(syn, kNewGatewayIsn).frame());
    EXPECT_FALSE(reply.parsed.outer) << "the SYN-ACK went back to B as the finished connection's";
    EXPECT_EQ(reply.parsed.ip.src, kNode);
    EXPECT_EQ(reply.parsed.tcp.sport, kFport);
    EXPECT_EQ(reason("ct_collision"), 0u);
}

// A tuple still in use by a live connection stays a collision: the forwarded-in SYN is refused
// (an RST back through B) and the live connection keeps its path.
TEST_F(TupleReuse, AForwardedInSynOnALiveLocalTupleIsStillRefused) {
    auto live = user_syn(40630);
    ASSERT_EQ(ingress(live.frame()).parsed.ip.dst, kGateway.addr);
    complete_handshake(live);
    auto r = ingress(via_b(client_to_b(40630, 0x0abf0000)));
    EXPECT_EQ(reason("ct_collision"), 1u);
    ASSERT_TRUE(r.parsed.outer);
    EXPECT_EQ(r.parsed.tcp.flags & kRst, kRst);
    auto data = client_packet(live, kAck, kHandshakeGatewayIsn);
    EXPECT_EQ(ingress(data.frame()).parsed.ip.dst, kGateway.addr) << "the live one is untouched";
    auto reply = egress(gateway_packet(live, kAck, kHandshakeGatewayIsn).frame());
    EXPECT_FALSE(reply.parsed.outer);
    EXPECT_EQ(reply.parsed.tcp.sport, kFport);
}

// A live connection holds the tuple towards the gateway (the fault suite's SYN-flood row: 1,000
// keep-alive connections from the client to another function port). A new connection to figlet
// on such a tuple goes to a peer the policy weights even when the weighted pick says local and
// there is no overflow (before: an RST in 1 of 16 such connections at 50/50, nearly always at
// 100/1).
TEST_F(TupleReuse, ATupleInUseGoesToAWeightedPeerEvenWhenEveryPickIsLocal) {
    constexpr uint16_t kOtherFport = 31002;
    constexpr int kConnections = 8;
    FunctionPolicy p;
    p.local = 100;
    p.peers[kPeerB] = 1;  // 1 slot of a 101-slot cycle, in its middle
    install_figlet(p);
    dp().set_service(dp::Service{kNode, kOtherFport, "shasum", true});
    dp().set_policy("shasum", FunctionPolicy::all_local());
    int to_b = 0;
    for (int i = 0; i < kConnections; ++i) {
        auto keepalive = user_syn(static_cast<uint16_t>(40800 + i));
        keepalive.dport = kOtherFport;
        ASSERT_EQ(ingress(keepalive.frame()).parsed.ip.dst, kGateway.addr);
        complete_handshake(keepalive);
        auto r = ingress(user_syn(static_cast<uint16_t>(40800 + i)).frame());
        to_b += r.parsed.outer && r.parsed.outer->dst == kPeerB;
    }
    // figlet's first picks of its SWRR cycle are all local (B's slot is number 50), so every
    // one collides; the collision fallback takes no slot of the cycle.
    EXPECT_EQ(reason("ct_collision"), uint64_t{kConnections});
    EXPECT_EQ(to_b, kConnections) << "refused instead of sent to peer B";
    EXPECT_EQ(reason("rst_sent"), 0u);
}

// With no peer weighted in the policy the tuple cannot be served: refused at once (an RST,
// counted as ct_collision) rather than mixed into the live connection.
TEST_F(TupleReuse, ATupleInUseWithoutAPeerInThePolicyIsRefused) {
    constexpr uint16_t kOtherFport = 31002;
    dp().set_service(dp::Service{kNode, kOtherFport, "shasum", true});
    dp().set_policy("shasum", FunctionPolicy::all_local());
    auto keepalive = user_syn(40900);
    keepalive.dport = kOtherFport;
    ASSERT_EQ(ingress(keepalive.frame()).parsed.ip.dst, kGateway.addr);
    complete_handshake(keepalive);
    auto r = ingress(user_syn(40900).frame());
    EXPECT_EQ(reason("ct_collision"), 1u);
    EXPECT_EQ(r.retval, kRedirect);
    EXPECT_FALSE(r.parsed.outer);
    EXPECT_EQ(r.parsed.tcp.flags & kRst, kRst);
}

}  // namespace
}  // namespace dfaas::test
