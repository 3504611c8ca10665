// A peer leaves the peer table while connections this node forwarded to it are open (its agent
// died: the membership dropped it, but its data plane and gateway still serve what they were
// given). Their replies still reach the client; the former peer gets nothing else through, and a
// peer that takes over its slot is not charged for them. Before, the replies were dropped
// (drop_ipip_not_peer) and those requests timed out (the fault suite's peer-killed row).
#include "harness.h"

namespace dfaas::test {
namespace {

constexpr uint32_t kPeerIsn = 0x4d4d0000;

class PeerLeave : public DataplaneTest {
  protected:
    void SetUp() override {
        DataplaneTest::SetUp();
        FunctionPolicy p;
        p.local = 0;
        p.peers[kPeerB] = 100;
        install_figlet(p);
    }

    // A packet of the function's side of `syn`'s connection, encapsulated by `sender`.
    static Bytes reply(const TcpPacket &syn, Ipv4 sender, uint8_t flags) {
        TcpPacket inner;
        inner.src = kNode;  // the peer restored the function address before encapsulating
        inner.sport = kFport;
        inner.dst = syn.src;
        inner.dport = syn.sport;
        inner.flags = flags;
        inner.seq = (flags & kSyn) ? kPeerIsn : kPeerIsn + 1;
        inner.ack = syn.seq + 1;
        return ipip_frame(kPeerBMac, kNodeMac, sender, kNode, inner.l3());
    }

    // A connection forwarded to B: its SYN; with `established`, the handshake completed.
    TcpPacket forwarded(uint16_t client_port, bool established) {
        auto syn = user_syn(client_port);
        auto r = ingress(syn.frame());
        EXPECT_TRUE(r.parsed.outer && r.parsed.outer->dst == kPeerB) << "not forwarded to B";
        if (!established) return syn;
        ingress(reply(syn, kPeerB, kSyn | kAck));
        auto ack = syn;
        ack.flags = kAck;
        ack.seq = syn.seq + 1;
        ack.ack = kPeerIsn + 1;
        ack.tcp_options.clear();
        ingress(ack.frame());
        return syn;
    }
};

TEST_F(PeerLeave, RepliesOfItsConnectionsStillReachTheClient) {
    auto syn = forwarded(40700, true);
    ASSERT_TRUE(dp().remove_peer(kPeerB));

    auto r = ingress(reply(syn, kPeerB, kAck | kPsh));
    EXPECT_EQ(r.retval, kRedirect);
    EXPECT_FALSE(r.parsed.outer) << "decapsulated";
    EXPECT_EQ(r.parsed.ip.src, kNode);
    EXPECT_EQ(r.parsed.tcp.sport, kFport);
    EXPECT_EQ(r.parsed.ip.dst, kClient);
    EXPECT_EQ(r.parsed.eth_dst, kClientMac);
    EXPECT_EQ(reason("drop_ipip_not_peer"), 0u);

    // The client's side keeps following the connection's path too.
    auto data = syn;
    data.flags = kAck | kPsh;
    data.seq = syn.seq + 1;
    data.ack = kPeerIsn + 1;
    data.tcp_options.clear();
    auto out = ingress(data.frame());
    ASSERT_TRUE(out.parsed.outer);
    EXPECT_EQ(out.parsed.outer->dst, kPeerB);
}

TEST_F(PeerLeave, TheFormerPeerGetsNothingElseThrough) {
    auto syn = forwarded(40710, true);
    ASSERT_TRUE(dp().remove_peer(kPeerB));

    auto untracked = syn;
    untracked.sport = 40711;  // a connection never forwarded to B
    EXPECT_EQ(ingress(reply(untracked, kPeerB, kAck)).retval, kShot);
    EXPECT_EQ(ingress(reply(syn, kPeerC, kAck)).retval, kShot) << "forwarded to B, not to C";
    EXPECT_EQ(reason("drop_ipip_not_peer"), 2u);
}

TEST_F(PeerLeave, APeerTakingOverTheSlotIsNotChargedForItsConnections) {
    auto syn = forwarded(40720, false);  // still in the handshake
    ASSERT_TRUE(dp().remove_peer(kPeerB));
    dp().add_peer(kPeerC);  // the slot B held

    auto r = ingress(reply(syn, kPeerB, kSyn | kAck));
    EXPECT_EQ(r.retval, kRedirect) << "B's SYN-ACK still reaches the client";
    EXPECT_EQ(r.parsed.ip.dst, kClient);
    auto st = dp().stats();
    ASSERT_EQ(st.peers.size(), 1u);
    EXPECT_EQ(st.peers[0].addr, kPeerC);
    EXPECT_EQ(st.peers[0].synack_returned, 0u);
    auto f = st.function("figlet");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->to_peer.count(kPeerC) ? f->to_peer.at(kPeerC).packets : 0u, 0u);
}

}  // namespace
}  // namespace dfaas::test
