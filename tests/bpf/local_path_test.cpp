// The local path: DNAT to the gateway at ingress, source restored at egress.
#include "harness.h"

namespace dfaas::test {
namespace {

class LocalPath : public DataplaneTest {};

// What the gateway sends back for a client packet that was DNATed.
TcpPacket gateway_reply(const TcpPacket &client_pkt, uint8_t flags) {
    TcpPacket r;
    r.eth_src = kNodeMac;
    r.eth_dst = kClientMac;
    r.src = kGateway.addr;
    r.sport = kGateway.port;
    r.dst = client_pkt.src;
    r.dport = client_pkt.sport;
    r.flags = flags;
    r.seq = 5000;
    r.ack = client_pkt.seq + 1;
    return r;
}

TEST_F(LocalPath, SynIsDnatedToTheGatewayWithValidChecksums) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn();
    auto r = ingress(syn.frame());
    EXPECT_EQ(r.retval, 0);
    ASSERT_TRUE(r.parsed.error.empty()) << r.parsed.error;
    EXPECT_EQ(r.parsed.ip.src, kClient);
    EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
    EXPECT_EQ(r.parsed.tcp.sport, syn.sport);
    EXPECT_EQ(r.parsed.tcp.dport, kGateway.port);
    EXPECT_TRUE(r.parsed.ip.checksum_ok);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    EXPECT_EQ(r.parsed.tcp.mss, 1460) << "the local path must not clamp";
    auto st = dp().stats();
    EXPECT_EQ(st.function("figlet")->local.connections, 1u);
    EXPECT_EQ(st.reason("syn_new"), 1u);
}

TEST_F(LocalPath, ReplyIsRestoredToTheFunctionPortAtEgress) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn();
    ingress(syn.frame());
    auto r = egress(gateway_reply(syn, kSyn | kAck).frame());
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.parsed.ip.src, kNode);
    EXPECT_EQ(r.parsed.tcp.sport, kFport);
    EXPECT_EQ(r.parsed.ip.dst, kClient);
    EXPECT_EQ(r.parsed.tcp.dport, syn.sport);
    EXPECT_TRUE(r.parsed.ip.checksum_ok);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    // One entry per connection, keyed by the client's tuple; the SYN-ACK moved its state. The
    // tuple was free at the gateway: the client's own port there.
    auto ct = dp().conntrack();
    ASSERT_EQ(ct.size(), 1u);
    EXPECT_EQ(ct[0].gateway_port, syn.sport);
    EXPECT_EQ(ct[0].client_port, syn.sport);
    EXPECT_EQ(ct[0].service, kNode);
    EXPECT_EQ(ct[0].service_port, kFport);
    EXPECT_EQ(ct[0].state, dp::TcpState::SynRecv);
    EXPECT_EQ(ct[0].path, dp::CtPath::Local);
}

TEST_F(LocalPath, EstablishedPacketsFollowTheConnectionAndCountHttpRequests) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn();
    ingress(syn.frame());
    // The policy changes after the connection started: the connection keeps its path.
    dp().add_peer(kPeerB);
    FunctionPolicy to_b;
    to_b.local = 0;
    to_b.peers[kPeerB] = 100;
    dp().set_policy("figlet", to_b);

    auto data = syn;
    data.flags = kAck | kPsh;
    data.seq = syn.seq + 1;
    data.ack = 5001;
    data.tcp_options.clear();
    std::string req = "GET /function/figlet HTTP/1.1\r\nHost: x\r\n\r\n";
    data.payload.assign(req.begin(), req.end());
    auto r = ingress(data.frame());
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
    EXPECT_EQ(r.parsed.tcp.dport, kGateway.port);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    EXPECT_EQ(r.parsed.tcp.payload, data.payload);

    auto body = data;
    body.payload.assign(100, 'x');  // not a method token: a body segment
    ingress(body.frame());

    auto f = dp().stats().function("figlet");
    EXPECT_EQ(f->local.requests, 1u);
    EXPECT_EQ(f->local.packets, 3u);
    EXPECT_EQ(f->to_peer.at(kPeerB).connections, 0u);
    EXPECT_EQ(dp().stats().reason("http_request"), 1u);
    for (const auto &e : dp().conntrack()) {
        EXPECT_EQ(e.state, dp::TcpState::Established);
    }
}

TEST_F(LocalPath, RetransmittedRequestCountsOnce) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn();
    ingress(syn.frame());
    auto data = syn;
    data.flags = kAck | kPsh;
    data.seq = syn.seq + 1;
    data.tcp_options.clear();
    std::string req = "POST /function/figlet HTTP/1.1\r\n\r\nhi";
    data.payload.assign(req.begin(), req.end());
    ingress(data.frame());
    ingress(data.frame());  // the same segment again: a retransmission
    auto next = data;
    next.seq = data.seq + uint32_t(data.payload.size());  // a second request (keep-alive)
    ingress(next.frame());
    EXPECT_EQ(dp().stats().function("figlet")->local.requests, 2u);
}

TEST_F(LocalPath, IpOptionsAreKeptAndChecksumsStayValid) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn();
    syn.ip_options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
    auto r = ingress(syn.frame());
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.parsed.ip.ihl_bytes, 24);
    EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
    EXPECT_TRUE(r.parsed.ip.checksum_ok);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    EXPECT_EQ(reason("ip_options"), 1u);
}

// Egress writes source address and port with one store when the header has no options
// (bpf/lib/csum.h, rewrite_snat); with options they are apart and written one by one.
TEST_F(LocalPath, ReplyWithIpOptionsIsRestoredWithValidChecksums) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn();
    ingress(syn.frame());
    auto reply = gateway_reply(syn, kSyn | kAck);
    reply.ip_options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
    auto r = egress(reply.frame());
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.parsed.ip.ihl_bytes, 24);
    EXPECT_EQ(r.parsed.ip.src, kNode);
    EXPECT_EQ(r.parsed.ip.dst, kClient);
    EXPECT_EQ(r.parsed.tcp.sport, kFport);
    EXPECT_EQ(r.parsed.tcp.dport, syn.sport);
    EXPECT_TRUE(r.parsed.ip.checksum_ok);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
}

TEST_F(LocalPath, SynRetransmitFollowsTheTrackedDecision) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn();
    ingress(syn.frame());
    FunctionPolicy reject_all;
    reject_all.local = 0;
    reject_all.reject = 100;
    dp().set_policy("figlet", reject_all);
    auto r = ingress(syn.frame());
    EXPECT_EQ(r.retval, 0) << "a retransmitted SYN keeps the connection's path";
    EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
    EXPECT_EQ(reason("syn_retransmit"), 1u);
    EXPECT_EQ(dp().stats().function("figlet")->local.connections, 1u);
}

// A client reuses the tuple of a finished local connection (port reuse at a high connection
// rate) and the new connection goes to a peer: the old connection's entry must not catch the
// new connection's later packets (they were DNATed to the local gateway, which knew nothing of
// them, and the request timed out).
TEST_F(LocalPath, TupleOfAFinishedLocalConnectionCanGoToAPeer) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn(40003);
    ingress(syn.frame());
    // The server's FIN is judged by its sequence window: the SYN-ACK opens it.
    egress(gateway_reply(syn, kSyn | kAck).frame());
    auto fin = syn;
    fin.flags = kFin | kAck;
    fin.tcp_options.clear();
    ingress(fin.frame());
    egress(gateway_reply(syn, kFin | kAck).frame());

    FunctionPolicy to_b;
    to_b.local = 0;
    to_b.peers[kPeerB] = 100;
    install_figlet(to_b);
    auto again = ingress(syn.frame());
    ASSERT_TRUE(again.parsed.outer) << "the new SYN selects: to B";
    EXPECT_EQ(again.parsed.outer->dst, kPeerB);

    auto ack = syn;
    ack.flags = kAck;
    ack.seq = syn.seq + 1;
    ack.tcp_options.clear();
    auto r = ingress(ack.frame());
    ASSERT_TRUE(r.parsed.outer) << "the ACK follows the new connection to B, not the old one";
    EXPECT_EQ(r.parsed.outer->dst, kPeerB);
    EXPECT_EQ(r.parsed.ip.dst, kNode);
    EXPECT_EQ(reason("syn_retransmit"), 0u);
}

TEST_F(LocalPath, FinAndRstMoveTheState) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn(40001);
    ingress(syn.frame());
    // The server's FIN is judged by its sequence window: the SYN-ACK opens it.
    egress(gateway_reply(syn, kSyn | kAck).frame());
    auto fin = syn;
    fin.flags = kFin | kAck;
    fin.tcp_options.clear();
    ingress(fin.frame());
    for (const auto &e : dp().conntrack()) {
        EXPECT_EQ(e.state, dp::TcpState::Closing);
    }
    egress(gateway_reply(syn, kFin | kAck).frame());
    for (const auto &e : dp().conntrack()) {
        EXPECT_EQ(e.state, dp::TcpState::Closed);
    }

    auto syn2 = user_syn(40002);
    ingress(syn2.frame());
    auto rst = syn2;
    rst.flags = kRst;
    rst.tcp_options.clear();
    ingress(rst.frame());
    for (const auto &e : dp().conntrack())
        if (e.client_port == 40002) {
            EXPECT_EQ(e.state, dp::TcpState::Closed);
        }
}

TEST_F(LocalPath, NewSynOnAClosedTupleSelectsAgain) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn(40003);
    ingress(syn.frame());
    auto rst = syn;
    rst.flags = kRst;
    rst.tcp_options.clear();
    ingress(rst.frame());
    dp().add_peer(kPeerB);
    FunctionPolicy to_b;
    to_b.local = 0;
    to_b.peers[kPeerB] = 100;
    dp().set_policy("figlet", to_b);
    auto r = ingress(syn.frame());
    EXPECT_EQ(r.retval, kRedirect);
    ASSERT_TRUE(r.parsed.outer);
    EXPECT_EQ(r.parsed.outer->dst, kPeerB);
    EXPECT_EQ(reason("syn_retransmit"), 0u);
    EXPECT_EQ(reason("syn_new"), 2u);
}

TEST_F(LocalPath, SameClientTupleToAnotherFunctionPortIsRemappedNotMixed) {
    install_figlet(FunctionPolicy::all_local());
    dp().set_service(dp::Service{kNode, kFport + 1, "shasum", true});
    dp().set_policy("shasum", FunctionPolicy::all_local());
    auto syn = user_syn(40020);
    ingress(syn.frame());
    // Same client address and port, another function port: after DNAT both would be one
    // socket tuple at the gateway, so the second gets another client port there.
    auto other = user_syn(40020);
    other.dport = kFport + 1;
    auto r = ingress(other.frame());
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
    EXPECT_NE(r.parsed.tcp.sport, 40020);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    EXPECT_EQ(reason("ct_collision"), 1u);
    EXPECT_EQ(reason("rst_sent"), 0u);
    auto ct = dp().conntrack();
    ASSERT_EQ(ct.size(), 2u);
    for (const auto &e : ct) {
        EXPECT_EQ(e.client_port, 40020);
        EXPECT_EQ(e.gateway_port, e.service_port == kFport ? 40020 : r.parsed.tcp.sport);
    }
    // The first connection is untouched.
    auto data = syn;
    data.flags = kAck;
    data.tcp_options.clear();
    auto d = ingress(data.frame());
    EXPECT_EQ(d.parsed.ip.dst, kGateway.addr);
    EXPECT_EQ(d.parsed.tcp.sport, 40020);
}

TEST_F(LocalPath, GarbageCollectionExpiresClosedConnectionsOnly) {
    auto s = default_settings();
    s.ct_timeout_closing = std::chrono::milliseconds(1);
    reattach(s);
    install_figlet(FunctionPolicy::all_local());
    ingress(user_syn(40010).frame());  // stays open (SYN timeout 10 s)
    auto syn = user_syn(40011);
    ingress(syn.frame());
    auto rst = syn;
    rst.flags = kRst;
    rst.tcp_options.clear();
    ingress(rst.frame());
    EXPECT_EQ(dp().conntrack().size(), 2u);
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct_gw_half_open"), 2u);
    usleep(20000);
    auto gc = dp().collect_garbage();
    EXPECT_EQ(gc.expired, 1u);
    auto left = dp().conntrack();
    ASSERT_EQ(left.size(), 1u);
    for (const auto &e : left)
        EXPECT_EQ(e.client_port, 40010);
    // The expired connection's gateway-side index entry went with it.
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct_gw_half_open"), 1u);
}

}  // namespace
}  // namespace dfaas::test
