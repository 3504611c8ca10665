// Hostile packets (issue 14): IP-in-IP from strangers and from peers overstepping their rights,
// a SYN flood against conntrack, blind RST/FIN, and the capacity one CPU can use.
#include <arpa/inet.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "harness.h"

namespace dfaas::test {
namespace {

constexpr uint32_t kServerIsn = 0x5a5a0000;  // the gateway's (or peer's) initial sequence number

// Runs the calling thread on one CPU for its lifetime (BPF_PROG_TEST_RUN and map updates run
// on the caller's CPU): every insert then draws from that CPU's share of an LRU.
class OnOneCpu {
  public:
    explicit OnOneCpu(int cpu) {
        sched_getaffinity(0, sizeof(old_), &old_);
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        ok_ = sched_setaffinity(0, sizeof(set), &set) == 0;
    }
    ~OnOneCpu() { sched_setaffinity(0, sizeof(old_), &old_); }
    bool ok() const { return ok_; }

  private:
    cpu_set_t old_{};
    bool ok_ = false;
};

class Hardening : public DataplaneTest {
  protected:
    // figlet served here (kNode:kFport) and on peer B (kPeerB:kPeerFport, B forwards it here).
    void serve_figlet_for_b(const FunctionPolicy &policy) {
        install_figlet(policy);
        dp().add_peer(kPeerB);
        dp().set_service(dp::Service{kPeerB, kPeerFport, "figlet", false});
    }

    std::optional<dp::CtEntry> entry_of(uint16_t client_port) {
        for (const auto &e : dp().conntrack())
            if (e.client_port == client_port) return e;
        return std::nullopt;
    }

    static TcpPacket ack_of(const TcpPacket &syn, uint32_t server_isn = kServerIsn) {
        return DataplaneTest::ack_of(syn, server_isn);
    }

    // The gateway's packet to the client of `syn` (as the stack sends it, before egress).
    static TcpPacket from_gateway(const TcpPacket &syn, uint8_t flags, uint32_t seq) {
        TcpPacket r;
        r.eth_src = kNodeMac;
        r.eth_dst = kClientMac;
        r.src = kGateway.addr;
        r.sport = kGateway.port;
        r.dst = syn.src;
        r.dport = syn.sport;
        r.flags = flags;
        r.seq = seq;
        r.ack = syn.seq + 1;
        return r;
    }

    // Peer B's encapsulated packet for a connection this node forwarded to it.
    static Bytes from_b_reply(const TcpPacket &syn, uint8_t flags, uint32_t seq) {
        TcpPacket inner;
        inner.src = syn.dst;
        inner.sport = syn.dport;
        inner.dst = syn.src;
        inner.dport = syn.sport;
        inner.flags = flags;
        inner.seq = seq;
        inner.ack = syn.seq + 1;
        return ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, inner.l3());
    }

    enum class Path { Local, Forward, ForwardedIn };

    // A user connection through the whole handshake; returns the client's ACK (the template
    // for later client packets) and which path the policy chose.
    std::pair<TcpPacket, Path> user_handshake(uint16_t client_port) {
        auto syn = user_syn(client_port);
        syn.seq = 0x01000000u + client_port;
        auto r = ingress(syn.frame());
        Path path = r.parsed.outer ? Path::Forward : Path::Local;
        if (path == Path::Local) {
            EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
            EXPECT_EQ(egress(from_gateway(syn, kSyn | kAck, kServerIsn).frame()).retval, 0);
        } else {
            EXPECT_EQ(ingress(from_b_reply(syn, kSyn | kAck, kServerIsn)).retval, kRedirect);
        }
        auto ack = ack_of(syn);
        ingress(ack.frame());
        return {ack, path};
    }

    // A connection peer B forwards here, through the whole handshake; returns B's ACK.
    TcpPacket forwarded_in_handshake(uint16_t client_port) {
        auto syn = client_to_b(client_port);
        syn.seq = 0x02000000u + client_port;
        auto r = ingress(via_b(syn));
        EXPECT_EQ(r.retval, 0);
        EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
        egress(from_gateway(syn, kSyn | kAck, kServerIsn).frame());
        auto ack = ack_of(syn);
        ingress(via_b(ack));
        return ack;
    }
};

// ---- IP-in-IP ------------------------------------------------------------------------------

TEST_F(Hardening, IpipFromAPeerForAFunctionThisNodeDoesNotServeIsDropped) {
    serve_figlet_for_b(FunctionPolicy::all_local());
    // B has "env" on port 31600; this node has no function port for it.
    dp().set_service(dp::Service{kPeerB, 31600, "env", false});
    auto syn = client_to_b(41000);
    syn.dport = 31600;
    auto r = ingress(via_b(syn));
    EXPECT_EQ(r.retval, kShot);
    EXPECT_EQ(reason("drop_fwd_in_no_service"), 1u);
    // Once this node serves env too, B may forward it.
    dp().set_service(dp::Service{kNode, 31600, "env", true});
    r = ingress(via_b(syn));
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
    // And not after the local port is gone again.
    dp().delete_service(kNode, 31600);
    syn.sport = 41001;
    r = ingress(via_b(syn));
    EXPECT_EQ(r.retval, kShot);
    EXPECT_EQ(reason("drop_fwd_in_no_service"), 2u);
}

TEST_F(Hardening, ForwardedInWithoutALimitForThePeerGetsTheDefaultLimitIn) {
    auto s = default_settings();
    s.default_limit_in = 2;
    reattach(s);
    FunctionPolicy p = FunctionPolicy::all_local();  // names no limit_in for B
    serve_figlet_for_b(p);
    EXPECT_EQ(dp().settings().default_limit_in, 2u);
    for (uint16_t port = 41001; port <= 41002; ++port) {
        EXPECT_EQ(ingress(via_b(client_to_b(port))).retval, 0);
        complete_handshake(client_to_b(port), kPeerB);  // limits count completed connections
    }
    auto r = ingress(via_b(client_to_b(41003)));
    EXPECT_EQ(r.retval, kRedirect);
    EXPECT_EQ(r.parsed.tcp.flags, kRst | kAck) << "over the default: refused";
    auto f = dp().stats().function("figlet");
    EXPECT_EQ(f->forwarded_in_by_peer.at(kPeerB).accepted, 2u);
    EXPECT_EQ(f->forwarded_in_by_peer.at(kPeerB).rejected, 1u);
    EXPECT_EQ(reason("fwd_in_default_limit"), 3u);
}

TEST_F(Hardening, ForwardedInOfAFunctionWithoutPolicyGetsTheDefaultLimitIn) {
    auto s = default_settings();
    s.default_limit_in = 1;
    reattach(s);
    dp().add_peer(kPeerB);
    dp().set_service(dp::Service{kNode, kFport, "figlet", true});
    dp().set_service(dp::Service{kPeerB, kPeerFport, "figlet", false});
    EXPECT_EQ(ingress(via_b(client_to_b(41001))).retval, 0);
    complete_handshake(client_to_b(41001), kPeerB);
    auto r = ingress(via_b(client_to_b(41002)));
    EXPECT_EQ(r.retval, kRedirect);
    EXPECT_EQ(r.parsed.tcp.flags, kRst | kAck);
}

TEST_F(Hardening, ANamedLimitInOverridesTheDefaultAndUnlimitedDefaultTurnsItOff) {
    auto s = default_settings();
    s.default_limit_in = 1;
    reattach(s);
    FunctionPolicy p = FunctionPolicy::all_local();
    p.limit_in[kPeerB] = 3;
    serve_figlet_for_b(p);
    for (uint16_t port = 41001; port <= 41003; ++port) {
        EXPECT_EQ(ingress(via_b(client_to_b(port))).retval, 0) << port;
        complete_handshake(client_to_b(port), kPeerB);
    }
    EXPECT_EQ(reason("fwd_in_default_limit"), 0u);

    s.default_limit_in = DFAAS_UNLIMITED;
    dp().update_settings(s);
    dp().set_policy("figlet", FunctionPolicy::all_local());
    for (uint16_t port = 42001; port <= 42010; ++port)
        EXPECT_EQ(ingress(via_b(client_to_b(port))).retval, 0) << port;
}

TEST_F(Hardening, DefaultLimitInDefaultsToTheDocumentedValue) {
    EXPECT_EQ(default_settings().default_limit_in, uint32_t(DFAAS_DEFAULT_LIMIT_IN));
    EXPECT_EQ(dp().settings().default_limit_in, uint32_t(DFAAS_DEFAULT_LIMIT_IN));
}

// ---- conntrack: half-open table, promotion -------------------------------------------------

TEST_F(Hardening, TheClientsAckPromotesTheConnectionOnEveryPath) {
    FunctionPolicy half;
    half.local = 50;
    half.peers[kPeerB] = 50;
    serve_figlet_for_b(half);
    bool seen_local = false, seen_forward = false;
    for (uint16_t port = 40000; port < 40100 && !(seen_local && seen_forward); ++port) {
        auto [ack, path] = user_handshake(port);
        (path == Path::Local ? seen_local : seen_forward) = true;
    }
    ASSERT_TRUE(seen_local && seen_forward);
    forwarded_in_handshake(41000);
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct_half_open"), 0u);
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct"), reason("ct_promoted"));
    EXPECT_EQ(reason("ct_promoted"), reason("syn_new"));
    for (const auto &e : dp().conntrack())
        EXPECT_EQ(e.state, dp::TcpState::Established) << e.client_port;
}

TEST_F(Hardening, AnAckThatDoesNotAcknowledgeTheSynAckIsNotPromoted) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn();
    ingress(syn.frame());
    // A blind ACK before any SYN-ACK, then one with a guessed acknowledgment number.
    auto blind = ack_of(syn);
    EXPECT_EQ(ingress(blind.frame()).retval, 0) << "still delivered: the gateway judges it";
    egress(from_gateway(syn, kSyn | kAck, kServerIsn).frame());
    auto guessed = ack_of(syn, kServerIsn + 0x01000000);
    ingress(guessed.frame());
    EXPECT_EQ(reason("ct_ack_unconfirmed"), 2u);
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct"), 0u);
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct_half_open"), 1u);
    // The real ACK promotes.
    ingress(ack_of(syn).frame());
    EXPECT_EQ(reason("ct_promoted"), 1u);
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct"), 1u);
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct_half_open"), 0u);
}

TEST_F(Hardening, ARetransmittedSynFindsItsHalfOpenEntry) {
    FunctionPolicy to_b;
    to_b.local = 0;
    to_b.peers[kPeerB] = 100;
    install_figlet(to_b);
    auto syn = user_syn();
    auto first = ingress(syn.frame());
    auto again = ingress(syn.frame());
    EXPECT_EQ(again.retval, kRedirect);
    ASSERT_TRUE(again.parsed.outer);
    EXPECT_EQ(again.parsed.outer->dst, first.parsed.outer->dst);
    EXPECT_EQ(reason("syn_new"), 1u);
    EXPECT_EQ(reason("syn_retransmit"), 1u);
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct_half_open"), 1u);
}

TEST_F(Hardening, ASynFloodDoesNotEvictEstablishedConnections) {
    // Everything from one CPU: connections and flood share that CPU's LRU lists, whatever the
    // table's LRU flavour (RSS puts a flow's packets, and a flood's, on one queue).
    OnOneCpu pin(0);
    ASSERT_TRUE(pin.ok());
    FunctionPolicy half;
    half.local = 50;
    half.peers[kPeerB] = 50;
    serve_figlet_for_b(half);
    // Established connections on all three paths.
    std::vector<std::pair<TcpPacket, Path>> established;
    for (uint16_t port = 40000; port < 40064; ++port)
        established.push_back(user_handshake(port));
    for (uint16_t port = 41000; port < 41032; ++port)
        established.emplace_back(forwarded_in_handshake(port), Path::ForwardedIn);
    size_t local = 0, forward = 0;
    for (const auto &[pkt, path] : established) {
        if (path == Path::Local) ++local;
        if (path == Path::Forward) ++forward;
    }
    ASSERT_GT(local, 0u);
    ASSERT_GT(forward, 0u);
    EXPECT_EQ(reason("ct_promoted"), established.size());

    // Spoofed SYNs: more than both tables hold together, so a single table (or per-CPU lists)
    // would have evicted everything above.
    const uint32_t flood = Harness::kCtHalfOpenEntries + Harness::kCtEntries + 1;
    for (uint32_t i = 0; i < flood; ++i) {
        TcpPacket syn = user_syn(uint16_t(1024 + i % 50000));
        syn.eth_src = mac(0x66);
        syn.src = Ipv4{(uint32_t(172) << 24 | 16u << 16) + i / 50000 + 1};
        syn.seq = i * 2654435761u;
        ingress(syn.frame());
    }
    EXPECT_GE(reason("syn_new"), flood);
    EXPECT_LE(pinned_entries(bpffs(), "dfaas_ct_half_open"), Harness::kCtHalfOpenEntries);
    // The gateway-side index of every established DNATed connection is still there.
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct_gw"), local + 32);

    for (auto [pkt, path] : established) {
        std::string req = "GET /function/figlet HTTP/1.1\r\n\r\n";
        pkt.flags = kAck | kPsh;
        pkt.payload.assign(req.begin(), req.end());
        if (path == Path::ForwardedIn) {
            auto r = ingress(via_b(pkt));
            EXPECT_EQ(r.retval, 0) << pkt.sport;
            EXPECT_FALSE(r.parsed.outer);
            EXPECT_EQ(r.parsed.ip.dst, kGateway.addr) << pkt.sport;
            EXPECT_EQ(r.parsed.tcp.dport, kGateway.port);
            // Its gateway-side index survived the flood: the reply still goes back to B.
            auto reply = egress(from_gateway(pkt, kAck, kServerIsn + 1).frame());
            ASSERT_TRUE(reply.parsed.outer) << "forwarded-in reply lost its index" << pkt.sport;
            EXPECT_EQ(reply.parsed.outer->dst, kPeerB);
            EXPECT_EQ(reply.parsed.tcp.dport, pkt.sport);
            continue;
        }
        auto r = ingress(pkt.frame());
        if (path == Path::Local) {
            EXPECT_EQ(r.retval, 0) << pkt.sport;
            EXPECT_EQ(r.parsed.ip.dst, kGateway.addr) << "local connection lost its DNAT";
            // and the gateway's reply is still restored to the function port
            auto reply = egress(from_gateway(pkt, kAck, kServerIsn + 1).frame());
            EXPECT_EQ(reply.parsed.ip.src, kNode);
            EXPECT_EQ(reply.parsed.tcp.sport, kFport);
        } else {
            EXPECT_EQ(r.retval, kRedirect) << pkt.sport;
            ASSERT_TRUE(r.parsed.outer) << "forwarded connection lost its peer";
            EXPECT_EQ(r.parsed.outer->dst, kPeerB);
        }
    }
    EXPECT_EQ(reason("pass_ct_miss_midflow"), 0u);
    EXPECT_EQ(reason("pass_egress_no_ct"), 0u);
    std::cout << "[ flood    ] " << flood << " spoofed SYNs; " << established.size()
              << " established connections (" << local << " local, " << forward
              << " forwarded, 32 forwarded-in) all steered; half-open table "
              << pinned_entries(bpffs(), "dfaas_ct_half_open") << '/' << Harness::kCtHalfOpenEntries
              << '\n';
}

// ---- capacity usable from one CPU ------------------------------------------------------------

TEST_F(Hardening, TheWholeEstablishedTableIsUsableFromOneCpu) {
    OnOneCpu pin(0);
    ASSERT_TRUE(pin.ok());
    int fd = bpf_obj_get((bpffs() + "/dfaas_ct").c_str());
    ASSERT_GE(fd, 0);
    dfaas_ct_entry entry{};
    entry.path = DFAAS_PATH_LOCAL;
    entry.state = DFAAS_TCP_ESTABLISHED;
    for (uint32_t i = 0; i < Harness::kCtEntries; ++i) {
        dfaas_ct_key key{};
        key.client_addr = htonl((uint32_t(10) << 24) + 0x100000 + i);
        key.service_addr = kNode.network();
        key.client_port = htons(40000);
        key.service_port = htons(kFport);
        ASSERT_EQ(bpf_map_update_elem(fd, &key, &entry, BPF_NOEXIST), 0) << i;
    }
    close(fd);
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct"), Harness::kCtEntries)
        << "entries inserted on one CPU were evicted before the table was full";
}

TEST_F(Hardening, TheWholeHalfOpenTableIsUsableFromOneCpu) {
    install_figlet(FunctionPolicy::all_local());
    OnOneCpu pin(0);
    ASSERT_TRUE(pin.ok());
    for (uint32_t i = 0; i < Harness::kCtHalfOpenEntries; ++i) {
        TcpPacket syn = user_syn(uint16_t(1024 + i % 50000));
        syn.src = Ipv4{(uint32_t(172) << 24 | 16u << 16) + i / 50000 + 1};
        ASSERT_EQ(ingress(syn.frame()).retval, 0);
    }
    EXPECT_EQ(pinned_entries(bpffs(), "dfaas_ct_half_open"), Harness::kCtHalfOpenEntries);
}

// ---- RST and FIN only inside the sequence window ------------------------------------------

TEST_F(Hardening, AClientRstOutsideTheWindowChangesNothing) {
    install_figlet(FunctionPolicy::all_local());
    auto [ack, path] = user_handshake(40000);
    auto rst = ack;
    rst.flags = kRst;
    rst.seq = ack.seq + 0x80000000u;
    EXPECT_EQ(ingress(rst.frame()).retval, 0) << "delivered: the gateway drops it itself";
    EXPECT_EQ(reason("ct_out_of_window"), 1u);
    EXPECT_EQ(entry_of(40000)->state, dp::TcpState::Established);
    rst.seq = ack.seq - 0x30000;  // three 64 KiB units behind: still outside
    ingress(rst.frame());
    EXPECT_EQ(reason("ct_out_of_window"), 2u);
    EXPECT_EQ(entry_of(40000)->state, dp::TcpState::Established);
    // In the window: the connection ends.
    rst.seq = ack.seq;
    ingress(rst.frame());
    EXPECT_EQ(entry_of(40000)->state, dp::TcpState::Closed);
    EXPECT_EQ(reason("ct_out_of_window"), 2u);
}

TEST_F(Hardening, TheWindowFollowsTheDataSent) {
    install_figlet(FunctionPolicy::all_local());
    auto [ack, path] = user_handshake(40000);
    // 1 MiB of client data in 1400-byte segments moves the window along.
    auto data = ack;
    data.flags = kAck | kPsh;
    data.payload.assign(1400, 'x');
    for (int i = 0; i < 750; ++i, data.seq += 1400)
        ingress(data.frame());
    auto rst = ack;
    rst.flags = kRst;
    rst.seq = ack.seq;  // where the connection was 1 MiB ago
    ingress(rst.frame());
    EXPECT_EQ(reason("ct_out_of_window"), 1u);
    EXPECT_EQ(entry_of(40000)->state, dp::TcpState::Established);
    rst.seq = data.seq;
    ingress(rst.frame());
    EXPECT_EQ(entry_of(40000)->state, dp::TcpState::Closed);
}

TEST_F(Hardening, AServerFinOutsideTheWindowChangesNothingInsideItCloses) {
    install_figlet(FunctionPolicy::all_local());
    auto [ack, path] = user_handshake(40000);
    auto syn = user_syn(40000);
    syn.seq = ack.seq - 1;
    auto fin = from_gateway(syn, kFin | kAck, kServerIsn + 1 + 0x40000000u);
    EXPECT_EQ(egress(fin.frame()).parsed.tcp.sport, kFport) << "still restored";
    EXPECT_EQ(reason("ct_out_of_window"), 1u);
    EXPECT_EQ(entry_of(40000)->state, dp::TcpState::Established);
    fin.seq = kServerIsn + 1;
    egress(fin.frame());
    EXPECT_EQ(entry_of(40000)->state, dp::TcpState::Closing);
    // The client's FIN in its window completes the close.
    auto cfin = ack;
    cfin.flags = kFin | kAck;
    ingress(cfin.frame());
    EXPECT_EQ(entry_of(40000)->state, dp::TcpState::Closed);
    EXPECT_EQ(reason("ct_out_of_window"), 1u);
}

TEST_F(Hardening, AClientFinOutsideTheWindowIsCountedAndIgnored) {
    install_figlet(FunctionPolicy::all_local());
    auto [ack, path] = user_handshake(40000);
    auto fin = ack;
    fin.flags = kFin | kAck;
    fin.seq = ack.seq + 0x00300000u;
    ingress(fin.frame());
    EXPECT_EQ(reason("ct_out_of_window"), 1u);
    EXPECT_EQ(entry_of(40000)->state, dp::TcpState::Established);
}

TEST_F(Hardening, APeersRstOutsideTheWindowKeepsAForwardedConnection) {
    FunctionPolicy to_b;
    to_b.local = 0;
    to_b.peers[kPeerB] = 100;
    install_figlet(to_b);
    auto [ack, path] = user_handshake(40000);
    ASSERT_EQ(path, Path::Forward);
    auto syn = user_syn(40000);
    syn.seq = ack.seq - 1;
    ingress(from_b_reply(syn, kRst | kAck, kServerIsn + 1 + 0x20000000u));
    EXPECT_EQ(reason("ct_out_of_window"), 1u);
    EXPECT_EQ(entry_of(40000)->state, dp::TcpState::Established);
    ingress(from_b_reply(syn, kRst | kAck, kServerIsn + 1));
    EXPECT_EQ(entry_of(40000)->state, dp::TcpState::Closed);
}

TEST_F(Hardening, TheRefusingRstOfAHalfOpenConnectionMustAcknowledgeTheSyn) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn();
    syn.seq = 0x01000000;
    ingress(syn.frame());
    auto rst = from_gateway(syn, kRst | kAck, 0);
    rst.ack = syn.seq + 0x10000000u;  // not the SYN's
    egress(rst.frame());
    EXPECT_EQ(reason("ct_out_of_window"), 1u);
    EXPECT_EQ(entry_of(syn.sport)->state, dp::TcpState::SynSent);
    rst.ack = syn.seq + 1;
    egress(rst.frame());
    EXPECT_EQ(entry_of(syn.sport)->state, dp::TcpState::Closed);
}

}  // namespace
}  // namespace dfaas::test
