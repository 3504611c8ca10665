// One client tuple, two paths (issue 14, the fault suite's forwarded-connection timeouts). The
// client calls node A's function port and node B's; Linux picks source ports per destination,
// so the same client port soon serves both. Node B DNATs its own users' connections and those A
// forwards to the same gateway, so both meet there under one gateway tuple. When the earlier one
// has finished but its entry is still in the established table, egress (which looks there
// first) must not take the new connection's SYN-ACK for the old one: sent as the old path, the
// SYN-ACK never reached the client, every retransmitted SYN met the same fate, and the request
// timed out (the fault suite saw it as `ct_out_of_window` on B, from the client's RSTs to the
// stray SYN-ACKs, and SYN-ACKs missing on A).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <vector>

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
        auto p = DataplaneTest::client_to_b(client_port);
        p.eth_src = kPeerBMac;
        p.seq = seq;
        return p;
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

// A tuple still in use by a live connection (conntrack v2, bpf/lib/ct.h): the forwarded-in
// connection is served too, under another client port at the gateway; its replies go back to B
// with the client's own port, and the live connection keeps its path and port.
TEST_F(TupleReuse, AForwardedInSynOnALiveLocalTupleIsServedUnderAnotherPort) {
    auto live = user_syn(40630);
    ASSERT_EQ(ingress(live.frame()).parsed.ip.dst, kGateway.addr);
    complete_handshake(live);
    auto syn = client_to_b(40630, 0x0abf0000);
    auto r = ingress(via_b(syn));
    EXPECT_EQ(reason("ct_collision"), 1u) << "counted as a remapped port";
    EXPECT_EQ(reason("rst_sent"), 0u);
    ASSERT_FALSE(r.parsed.outer);
    ASSERT_EQ(r.parsed.ip.dst, kGateway.addr);
    EXPECT_EQ(r.parsed.ip.src, kClient) << "only the port is rewritten";
    const uint16_t remapped = r.parsed.tcp.sport;
    EXPECT_NE(remapped, 40630);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);

    // The gateway answers the port it saw: egress restores the client's port, back through B.
    auto synack = gateway_synack(syn, kNewGatewayIsn);
    synack.dport = remapped;
    auto reply = egress(synack.frame());
    ASSERT_TRUE(reply.parsed.outer);
    EXPECT_EQ(reply.parsed.outer->dst, kPeerB);
    EXPECT_EQ(reply.parsed.ip.src, kPeerB);
    EXPECT_EQ(reply.parsed.tcp.sport, kPeerFport);
    EXPECT_EQ(reply.parsed.tcp.dport, 40630) << "the client's own port restored";
    EXPECT_TRUE(reply.parsed.tcp.checksum_ok);
    // Its later packets keep the remapped port.
    auto ack = ingress(via_b(client_packet(syn, kAck, kNewGatewayIsn)));
    EXPECT_EQ(ack.parsed.tcp.sport, remapped);
    EXPECT_EQ(reason("ct_promoted"), 2u);

    auto data = client_packet(live, kAck, kHandshakeGatewayIsn);
    auto d = ingress(data.frame());
    EXPECT_EQ(d.parsed.ip.dst, kGateway.addr) << "the live one is untouched";
    EXPECT_EQ(d.parsed.tcp.sport, 40630);
    auto live_reply = egress(gateway_packet(live, kAck, kHandshakeGatewayIsn).frame());
    EXPECT_FALSE(live_reply.parsed.outer);
    EXPECT_EQ(live_reply.parsed.tcp.sport, kFport);
    EXPECT_EQ(live_reply.parsed.tcp.dport, 40630);
}

// One client port reaching two function ports of this node (the fault suite's SYN-flood row:
// keep-alive connections from the client to another function port), every connection local:
// each second connection is served under another port, none is reset (before: refused or sent
// to a peer, ~1 in 10,000 connections reset in the experiments).
TEST_F(TupleReuse, OneClientPortToTwoFunctionPortsGetsNoResets) {
    constexpr uint16_t kOtherFport = 31002;
    constexpr int kConnections = 8;
    dp().set_service(dp::Service{kNode, kOtherFport, "shasum", true});
    dp().set_policy("shasum", FunctionPolicy::all_local());
    for (int i = 0; i < kConnections; ++i) {
        const auto port = static_cast<uint16_t>(40800 + i);
        auto keepalive = user_syn(port);
        keepalive.dport = kOtherFport;
        ASSERT_EQ(ingress(keepalive.frame()).parsed.ip.dst, kGateway.addr);
        complete_handshake(keepalive);
        auto syn = user_syn(port);
        auto r = ingress(syn.frame());
        ASSERT_EQ(r.parsed.ip.dst, kGateway.addr) << "served locally";
        ASSERT_NE(r.parsed.tcp.sport, port) << "the gateway tuple is the keep-alive's";
        auto synack = gateway_synack(syn, kNewGatewayIsn);
        synack.dport = r.parsed.tcp.sport;
        auto reply = egress(synack.frame());
        EXPECT_EQ(reply.parsed.tcp.dport, port);
        EXPECT_EQ(reply.parsed.tcp.sport, kFport);
        EXPECT_EQ(reply.parsed.ip.src, kNode);
    }
    EXPECT_EQ(reason("ct_collision"), uint64_t{kConnections});
    EXPECT_EQ(reason("rst_sent"), 0u);
    EXPECT_EQ(reason("nat_ports_exhausted"), 0u);
    auto f = dp().stats().function("figlet");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->local.connections, uint64_t{kConnections});
}

// Every port the remapping may try is held by a live connection: a policy, not an error. The
// connection is counted (nat_ports_exhausted) and refused (no overflow peer), never mixed into
// a live connection's gateway tuple.
TEST_F(TupleReuse, PortRemapExhaustionIsCountedAndRefused) {
    constexpr uint16_t kOtherFport = 31002;
    constexpr uint16_t kPort = 40900;
    // A live established connection on every client port the gateway could see (the client's
    // own and every port above 1023), written straight into the tables.
    int ct_fd = bpf_obj_get((bpffs() + "/dfaas_ct").c_str());
    int gw_fd = bpf_obj_get((bpffs() + "/dfaas_ct_gw").c_str());
    ASSERT_GE(ct_fd, 0);
    ASSERT_GE(gw_fd, 0);
    std::vector<dfaas_ct_key> keys;
    std::vector<dfaas_ct_entry> entries;
    std::vector<dfaas_ct_gw_key> gw_keys;
    for (uint32_t port = 1024; port <= 65535; ++port) {
        dfaas_ct_key key{kClient.network(), kNode.network(), htons(uint16_t(port)),
                         htons(kOtherFport)};
        dfaas_ct_entry e{};
        e.path = DFAAS_PATH_LOCAL;
        e.state = DFAAS_TCP_ESTABLISHED;
        e.gateway_port = htons(uint16_t(port));
        keys.push_back(key);
        entries.push_back(e);
        gw_keys.push_back(dfaas_ct_gw_key{kClient.network(), htons(uint16_t(port)), 0});
    }
    uint32_t n = uint32_t(keys.size());
    ASSERT_EQ(bpf_map_update_batch(ct_fd, keys.data(), entries.data(), &n, nullptr), 0);
    n = uint32_t(keys.size());
    ASSERT_EQ(bpf_map_update_batch(gw_fd, gw_keys.data(), keys.data(), &n, nullptr), 0);
    close(ct_fd);
    close(gw_fd);
    ASSERT_EQ(pinned_entries(bpffs(), "dfaas_ct_gw"), keys.size());

    auto r = ingress(user_syn(kPort).frame());
    EXPECT_EQ(reason("nat_ports_exhausted"), 1u);
    EXPECT_EQ(reason("ct_collision"), 0u);
    EXPECT_EQ(r.retval, kRedirect);
    EXPECT_FALSE(r.parsed.outer);
    EXPECT_EQ(r.parsed.tcp.flags & kRst, kRst) << "refused";
    EXPECT_EQ(reason("rst_sent"), 1u);
}

// A client whose connect to a peer timed out (the peer died) reuses the port for a new
// connection: its SYN carries a new ISN and must be steered by the policy now in force, not
// follow the half-open entry to the dead peer. A retransmission (the same ISN) still follows.
TEST_F(TupleReuse, ASynWithANewIsnOnAHalfOpenEntrySelectsItsPathAgain) {
    FunctionPolicy to_b;
    to_b.local = 0;
    to_b.peers[kPeerB] = 100;
    install_figlet(to_b);
    auto syn = user_syn(40700);
    syn.seq = 0x10000000;
    auto first = ingress(syn.frame());
    ASSERT_TRUE(first.parsed.outer) << "forwarded to B";
    EXPECT_EQ(first.parsed.outer->dst, kPeerB);

    install_figlet(FunctionPolicy::all_local());  // B left the policy (declared unreachable)
    auto retransmitted = ingress(syn.frame());
    ASSERT_TRUE(retransmitted.parsed.outer) << "a retransmission follows its connection";
    EXPECT_EQ(reason("syn_retransmit"), 1u);

    auto renewed = syn;
    renewed.seq = syn.seq + 15'625'000;  // Linux's ISN for the tuple one second later
    auto again = ingress(renewed.frame());
    EXPECT_FALSE(again.parsed.outer) << "the new connection followed the given-up one to B";
    EXPECT_EQ(again.parsed.ip.dst, kGateway.addr);
    EXPECT_EQ(reason("syn_new_isn"), 1u);
    EXPECT_EQ(reason("syn_retransmit"), 1u);

    // The new connection's own retransmission follows it (local), and its handshake completes.
    EXPECT_EQ(ingress(renewed.frame()).parsed.ip.dst, kGateway.addr);
    EXPECT_EQ(reason("syn_retransmit"), 2u);
    auto synack = egress(gateway_synack(renewed, kNewGatewayIsn).frame());
    EXPECT_EQ(synack.parsed.ip.src, kNode);
    ingress(client_packet(renewed, kAck, kNewGatewayIsn).frame());
    EXPECT_EQ(reason("ct_promoted"), 1u);
}

// An established connection keeps its path whatever SYN comes for its tuple: a blind spoofer
// who guesses the client port must not re-steer it.
TEST_F(TupleReuse, ASynWithANewIsnOnAnEstablishedEntryKeepsItsPath) {
    auto syn = user_syn(40720);
    syn.seq = 0x20000000;
    ASSERT_EQ(ingress(syn.frame()).parsed.ip.dst, kGateway.addr);
    egress(gateway_synack(syn, kOldGatewayIsn).frame());
    ingress(client_packet(syn, kAck, kOldGatewayIsn).frame());
    ASSERT_EQ(reason("ct_promoted"), 1u);

    FunctionPolicy to_b;
    to_b.local = 0;
    to_b.peers[kPeerB] = 100;
    install_figlet(to_b);
    auto spoofed = syn;
    spoofed.seq = 0x70000000;
    auto r = ingress(spoofed.frame());
    EXPECT_FALSE(r.parsed.outer) << "an established connection was re-steered to B";
    EXPECT_EQ(reason("syn_new_isn"), 0u);
    EXPECT_EQ(reason("ct_promoted"), 1u);
    auto data = client_packet(syn, kAck | kPsh, kOldGatewayIsn);
    EXPECT_EQ(ingress(data.frame()).parsed.ip.dst, kGateway.addr) << "still local";
}

}  // namespace
}  // namespace dfaas::test
