// Packets whose whole story is a verdict and a reason, as rows (issue 15, item 5; the shape of
// Katran's PacketAttributes fixtures): the node state the packet meets, the hook, the frame,
// the verdict (TC_ACT_*), the reason counter that must grow by exactly one, and what must come
// out. One parametrised test runs every row in a freshly attached data plane and checks the
// same things for each:
//   - the verdict;
//   - the packet was seen once (pkt_ingress / pkt_egress + 1);
//   - the row's terminal reason (pass_*, drop_*, rst_*) grew by one and no other terminal reason
//     grew at all (none for rows without a reason: steered or not ours);
//   - the row's other counters grew by one, and its `not_counted` ones stayed;
//   - the output: untouched, an RST to the client, an RST back through the peer, or the SYN
//     DNATed to the gateway;
//   - how the test parser reads the output (malformed rows: which fault);
//   - how many connections conntrack holds afterwards.
// Packets whose outcome is a rewrite to check field by field (NAT, encapsulation, the RST's
// fields) and packets that need a connection's history keep their own tests (local_path_test,
// forward_test, reject_test, hardening_test).
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness.h"

namespace dfaas::test {
namespace {

constexpr int kOk = 0;  // TC_ACT_OK (kShot, kRedirect: harness.h)

std::string verdict_name(int retval) {
    switch (retval) {
        case kOk:
            return "TC_ACT_OK";
        case kShot:
            return "TC_ACT_SHOT";
        case kRedirect:
            return "TC_ACT_REDIRECT";
        default:
            return "TC_ACT(" + std::to_string(retval) + ")";
    }
}

// The node state a row's packet meets.
enum class Node {
    FigletLocal,              // figlet on kFport, all local
    FigletRejectAll,          // figlet, every new connection refused with an RST
    FigletRejectAllDropMode,  // the same with reject mode "drop"
    FigletToB,                // figlet, every new connection forwarded to peer B
    FigletWithoutPolicy,      // figlet's port known, no policy installed yet
    SteeringDisabled,         // figlet all local, settings.enabled = false
    ServingForB,              // figlet here and on peer B (B forwards its connections here)
    ServingForBAndC,          // ServingForB, and peer C with its figlet port
    ServingForBLimitZero,     // ServingForB with limit_in 0 for B: forwarded-in SYNs refused
};

enum class Hook { Ingress, Egress };

enum class Output {
    Untouched,        // the frame comes out as it went in
    Dnat,             // the client's packet, DNATed to the gateway, checksums valid
    RstToClient,      // an RST|ACK for the client, checksums valid
    RstThroughPeerB,  // an RST|ACK for the client, encapsulated to peer B, checksums valid
    NotChecked,       // dropped: what the program leaves in the buffer does not leave the node
};

struct VerdictRow {
    const char *name;  // the test's name: Table/PacketVerdict.Row/<name>
    const char *description;
    Node node;
    Hook hook;
    Bytes (*frame)();
    int verdict;
    const char *reason;  // terminal reason (pass_*, drop_*, rst_*) grown by one; nullptr: none
    Output output;
    std::vector<const char *> counted = {};      // non-terminal reasons grown by exactly one
    std::vector<const char *> not_counted = {};  // non-terminal reasons that must not grow
    Malformed parsed_as = Malformed::None;       // the test parser's reading of the output
    size_t conntrack_entries = 0;
};

void PrintTo(const VerdictRow &row, std::ostream *os) {
    *os << row.name;
}

bool is_terminal(const std::string &reason) {
    return reason.starts_with("pass_") || reason.starts_with("drop_") || reason.starts_with("rst_");
}

// ---- frames ----------------------------------------------------------------------------------

TcpPacket syn_without_options() {
    auto syn = Harness::user_syn();
    syn.tcp_options.clear();
    return syn;
}

// A client's packet to peer B's figlet port, as B forwards it here.
TcpPacket client_to_b(uint8_t flags = kSyn) {
    TcpPacket p;
    p.src = kClient;
    p.sport = 41000;
    p.dst = kPeerB;
    p.dport = kPeerFport;
    p.flags = flags;
    p.tcp_options = mss_option(1440);
    return p;
}

Bytes via_b(const TcpPacket &inner) {
    return ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, inner.l3());
}

Bytes via_b(const Bytes &inner_l3) {
    return ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, inner_l3);
}

Bytes via_stranger(const TcpPacket &inner) {
    return ipip_frame(mac(0x50), kNodeMac, kStranger, kNode, inner.l3());
}

// The gateway's packet towards a client, as the stack sends it (before egress).
TcpPacket from_gateway() {
    TcpPacket p;
    p.eth_src = kNodeMac;
    p.eth_dst = kClientMac;
    p.src = kGateway.addr;
    p.sport = kGateway.port;
    p.dst = kClient;
    p.dport = 50000;
    p.flags = kAck;
    return p;
}

Bytes set_byte(Bytes frame, size_t offset, uint8_t value) {
    frame.at(offset) = value;
    return frame;
}

Bytes set_total_length(Bytes frame, size_t ip_offset, uint16_t tot_len) {
    frame.at(ip_offset + 2) = uint8_t(tot_len >> 8);
    frame.at(ip_offset + 3) = uint8_t(tot_len);
    return frame;
}

constexpr size_t kIp = 14;        // the IPv4 header in an Ethernet frame
constexpr size_t kTcp = 14 + 20;  // the TCP header after an IPv4 header without options
constexpr size_t kInnerIp = 14 + 20;

// ---- rows ------------------------------------------------------------------------------------

// Not ours: passed to the stack untouched, counted by why.
const VerdictRow kPassthroughRows[] = {
    {.name = "Ipv6",
     .description = "IPv6 is not steered",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame = [] { return ipv6_frame(); },
     .verdict = kOk,
     .reason = "pass_not_ipv4",
     .output = Output::Untouched},
    {.name = "Udp",
     .description = "UDP to the function port is not steered",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame = [] { return udp_frame(kClient, kNode, 5000, kFport); },
     .verdict = kOk,
     .reason = "pass_not_tcp",
     .output = Output::Untouched},
    {.name = "Icmp",
     .description = "ICMP is not steered",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame = [] { return icmp_frame(kClient, kNode); },
     .verdict = kOk,
     .reason = "pass_not_tcp",
     .output = Output::Untouched},
    {.name = "TcpToAnotherPort",
     .description = "a SYN to a port that is no function's",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = Harness::user_syn();
             syn.dport = 22;
             return syn.frame();
         },
     .verdict = kOk,
     .reason = "pass_no_service",
     .output = Output::Untouched,
     .not_counted = {"syn_new"}},
    {.name = "TcpToAnotherAddress",
     .description = "a SYN to the function port of an address that is not this node",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = Harness::user_syn();
             syn.dst = kPeerC;
             return syn.frame();
         },
     .verdict = kOk,
     .reason = "pass_no_service",
     .output = Output::Untouched},
    {.name = "MidFlowPacketWithoutConntrack",
     .description = "an ACK of a connection nobody tracks: never guess a path mid-flow",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto ack = syn_without_options();
             ack.flags = kAck;
             return ack.frame();
         },
     .verdict = kOk,
     .reason = "pass_ct_miss_midflow",
     .output = Output::Untouched},
    {.name = "SynAckFromAClientIsNotANewConnection",
     .description = "SYN|ACK to a function port selects nothing, even when all is refused",
     .node = Node::FigletRejectAll,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto p = Harness::user_syn();
             p.flags = kSyn | kAck;
             return p.frame();
         },
     .verdict = kOk,
     .reason = "pass_ct_miss_midflow",
     .output = Output::Untouched,
     .not_counted = {"syn_new"}},
    {.name = "SynRstIsNotANewConnection",
     .description = "SYN|RST to a function port selects nothing",
     .node = Node::FigletRejectAll,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto p = syn_without_options();
             p.flags = kSyn | kRst;
             return p.frame();
         },
     .verdict = kOk,
     .reason = "pass_ct_miss_midflow",
     .output = Output::Untouched,
     .not_counted = {"syn_new"}},
    {.name = "NoPolicyPassesToTheStack",
     .description = "a SYN to a function port before its policy is installed",
     .node = Node::FigletWithoutPolicy,
     .hook = Hook::Ingress,
     .frame = [] { return Harness::user_syn().frame(); },
     .verdict = kOk,
     .reason = "pass_no_policy",
     .output = Output::Untouched,
     .not_counted = {"syn_new"}},
    {.name = "DisabledSteeringPassesEverything",
     .description = "with steering off a SYN to a function port is not looked at",
     .node = Node::SteeringDisabled,
     .hook = Hook::Ingress,
     .frame = [] { return Harness::user_syn().frame(); },
     .verdict = kOk,
     .reason = nullptr,
     .output = Output::Untouched,
     .not_counted = {"syn_new"}},
    {.name = "EgressTrafficNotFromTheGatewayIsUntouched",
     .description = "this node's own traffic (ssh) leaves as it is, without a counter",
     .node = Node::FigletLocal,
     .hook = Hook::Egress,
     .frame =
         [] {
             auto p = from_gateway();
             p.src = kNode;
             p.sport = 22;
             return p.frame();
         },
     .verdict = kOk,
     .reason = nullptr,
     .output = Output::Untouched},
    {.name = "EgressFromTheGatewayWithoutConntrackIsCounted",
     .description = "the gateway answers a connection nobody tracks: left alone, counted",
     .node = Node::FigletLocal,
     .hook = Hook::Egress,
     .frame = [] { return from_gateway().frame(); },
     .verdict = kOk,
     .reason = "pass_egress_no_ct",
     .output = Output::Untouched},
};

// Hostile or broken packets (issue 14): the program judges only what it can read; the rest goes
// to the stack untouched (the stack drops what is really broken), and tunnel packets dressed as
// ours from anyone but a peer, or overstepping a peer's rights, are dropped.
const VerdictRow kHardeningRows[] = {
    {.name = "FirstFragment",
     .description = "a first fragment (MF) is the stack's to reassemble",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = Harness::user_syn();
             syn.frag = 0x2000;  // MF
             return syn.frame();
         },
     .verdict = kOk,
     .reason = "pass_fragment",
     .output = Output::Untouched,
     .not_counted = {"syn_new"}},
    {.name = "LaterFragment",
     .description = "a later fragment (offset 128) is the stack's",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = Harness::user_syn();
             syn.frag = 0x0010;  // offset 128
             return syn.frame();
         },
     .verdict = kOk,
     .reason = "pass_fragment",
     .output = Output::Untouched},
    {.name = "DontFragmentIsNotAFragment",
     .description = "DF alone is an ordinary packet: the SYN is steered",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = Harness::user_syn();
             syn.frag = 0x4000;  // DF
             return syn.frame();
         },
     .verdict = kOk,
     .reason = nullptr,
     .output = Output::Dnat,
     .counted = {"syn_new"},
     .conntrack_entries = 1},
    {.name = "FragmentFromAPeer",
     .description = "a forwarded SYN fragmented inside the tunnel is the stack's",
     .node = Node::ServingForB,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = client_to_b();
             syn.frag = 0x2000;
             return via_b(syn);
         },
     .verdict = kOk,
     .reason = "pass_fragment",
     .output = Output::Untouched},
    {.name = "IpOptionsOnASteeredSyn",
     .description = "IP options are counted and kept, the SYN is steered",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = Harness::user_syn();
             syn.ip_options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
             return syn.frame();
         },
     .verdict = kOk,
     .reason = nullptr,
     .output = Output::Dnat,
     .counted = {"ip_options", "syn_new"},
     .conntrack_entries = 1},
    {.name = "LongestHeadersOnASteeredSyn",
     .description = "40 bytes of IP options and 40 of TCP options: the most a header holds",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = Harness::user_syn();
             syn.ip_options = Bytes(40, 0x01);
             syn.tcp_options = typical_syn_options(1460);
             syn.tcp_options.resize(40, 0x01);
             return syn.frame();
         },
     .verdict = kOk,
     .reason = nullptr,
     .output = Output::Dnat,
     .counted = {"ip_options", "syn_new"},
     .conntrack_entries = 1},
    {.name = "IpOptionsOnAPacketNotOurs",
     .description = "IP options are counted only on steered packets",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = Harness::user_syn();
             syn.dport = 22;
             syn.ip_options = {0x01, 0x01, 0x01, 0x00};
             return syn.frame();
         },
     .verdict = kOk,
     .reason = "pass_no_service",
     .output = Output::Untouched,
     .not_counted = {"ip_options"}},
    // (A frame shorter than an IPv4 header never reaches the program: BPF_PROG_TEST_RUN refuses
    // it, as the stack drops it before TC.)
    {.name = "IpHeaderLongerThanThePacket",
     .description = "IHL 15: a 60-byte header in a 40-byte packet",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame = [] { return set_byte(syn_without_options().frame(), kIp, 0x4f); },
     .verdict = kOk,
     .reason = "pass_malformed",
     .output = Output::Untouched,
     .parsed_as = Malformed::TruncatedIpv4},
    {.name = "BadIhl",
     .description = "IHL 3, below the 20-byte minimum",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame = [] { return set_byte(Harness::user_syn().frame(), kIp, 0x43); },
     .verdict = kOk,
     .reason = "pass_malformed",
     .output = Output::Untouched,
     .parsed_as = Malformed::BadIpv4Header},
    {.name = "NotVersion4",
     .description = "an IPv4 Ethernet type with version 6 in the header",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame = [] { return set_byte(Harness::user_syn().frame(), kIp, 0x65); },
     .verdict = kOk,
     .reason = "pass_malformed",
     .output = Output::Untouched,
     .parsed_as = Malformed::BadIpv4Header},
    {.name = "IpTotalLengthBelowTheHeader",
     .description = "total length 10, below the 20-byte header",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame = [] { return set_total_length(Harness::user_syn().frame(), kIp, 10); },
     .verdict = kOk,
     .reason = "pass_malformed",
     .output = Output::Untouched,
     .parsed_as = Malformed::Ipv4TotalLengthBelowHeader},
    {.name = "IpTotalLengthBeyondThePacket",
     .description = "total length 0x05xx in a 74-byte frame",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame = [] { return set_byte(Harness::user_syn().frame(), kIp + 2, 0x05); },
     .verdict = kOk,
     .reason = "pass_malformed",
     .output = Output::Untouched,
     .parsed_as = Malformed::Ipv4TotalLengthBeyondFrame},
    {.name = "TruncatedTcpHeader",
     .description = "the frame ends 10 bytes into the TCP header",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto frame = Harness::user_syn().frame();
             frame.resize(kTcp + 10);
             return frame;
         },
     .verdict = kOk,
     .reason = "pass_malformed",
     .output = Output::Untouched,
     .parsed_as = Malformed::Ipv4TotalLengthBeyondFrame},
    {.name = "TcpShorterThanItsHeader",
     .description = "total length leaves 10 bytes for TCP",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame = [] { return set_total_length(Harness::user_syn().frame(), kIp, 30); },
     .verdict = kOk,
     .reason = "pass_malformed",
     .output = Output::Untouched,
     .parsed_as = Malformed::TruncatedTcp},
    {.name = "TcpDataOffsetBeyondThePacket",
     .description = "data offset 15: a 60-byte header in a 40-byte segment",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame = [] { return set_byte(Harness::user_syn().frame(), kTcp + 12, 0xf0); },
     .verdict = kOk,
     .reason = "pass_malformed",
     .output = Output::Untouched,
     .parsed_as = Malformed::BadTcpDataOffset},
    {.name = "TcpDataOffsetBelowTheMinimum",
     .description = "data offset 4: a 16-byte TCP header",
     .node = Node::FigletLocal,
     .hook = Hook::Ingress,
     .frame = [] { return set_byte(Harness::user_syn().frame(), kTcp + 12, 0x40); },
     .verdict = kOk,
     .reason = "pass_malformed",
     .output = Output::Untouched,
     .parsed_as = Malformed::BadTcpDataOffset},
    {.name = "IpipFromAPeerWithInnerTotalLengthBelowTheHeader",
     .description = "the inner header's total length 10 < IHL (issue 14's parser crash)",
     .node = Node::ServingForB,
     .hook = Hook::Ingress,
     .frame = [] { return set_total_length(via_b(client_to_b()), kInnerIp, 10); },
     .verdict = kOk,
     .reason = "pass_malformed",
     .output = Output::Untouched,
     .parsed_as = Malformed::Ipv4TotalLengthBelowHeader},
    {.name = "IpipFromAPeerWithInnerTcpDataOffsetBeyondThePacket",
     .description = "the inner TCP header claims 60 bytes of a 24-byte segment",
     .node = Node::ServingForB,
     .hook = Hook::Ingress,
     .frame = [] { return set_byte(via_b(client_to_b()), kInnerIp + 20 + 12, 0xf0); },
     .verdict = kOk,
     .reason = "pass_malformed",
     .output = Output::Untouched,
     .parsed_as = Malformed::BadTcpDataOffset},
    {.name = "IpipFromAPeerCarryingUdp",
     .description = "a peer's tunnel carrying UDP is not steered",
     .node = Node::ServingForB,
     .hook = Hook::Ingress,
     .frame =
         [] {
             Bytes udp = udp_frame(kClient, kPeerB, 5000, kPeerFport);
             return via_b(Bytes(udp.begin() + 14, udp.end()));
         },
     .verdict = kOk,
     .reason = "pass_not_tcp",
     .output = Output::Untouched},
    {.name = "IpipInsideIpipFromAPeer",
     .description = "a tunnel in the tunnel is not unwrapped twice",
     .node = Node::ServingForB,
     .hook = Hook::Ingress,
     .frame =
         [] {
             Bytes inner = via_b(client_to_b());
             return via_b(Bytes(inner.begin() + 14, inner.end()));
         },
     .verdict = kOk,
     .reason = "pass_not_tcp",
     .output = Output::Untouched},
    {.name = "IpipFromAStrangerToAFunctionPort",
     .description = "a stranger's tunnel to this node's function port",
     .node = Node::FigletToB,
     .hook = Hook::Ingress,
     .frame = [] { return via_stranger(Harness::user_syn()); },
     .verdict = kShot,
     .reason = "drop_ipip_not_peer",
     .output = Output::NotChecked},
    {.name = "IpipFromAStrangerSpoofingAForwardedConnection",
     .description = "a stranger's tunnel dressed as peer B forwarding a client to B's port",
     .node = Node::ServingForB,
     .hook = Hook::Ingress,
     .frame = [] { return via_stranger(client_to_b()); },
     .verdict = kShot,
     .reason = "drop_ipip_not_peer",
     .output = Output::NotChecked},
    {.name = "IpipFromAStrangerSpoofingAForwardedReply",
     .description = "a stranger's tunnel dressed as a peer's reply (from this node's address)",
     .node = Node::FigletToB,
     .hook = Hook::Ingress,
     .frame =
         [] {
             TcpPacket reply;
             reply.src = kNode;
             reply.sport = kFport;
             reply.dst = kClient;
             reply.dport = 40000;
             reply.flags = kSyn | kAck;
             return via_stranger(reply);
         },
     .verdict = kShot,
     .reason = "drop_ipip_not_peer",
     .output = Output::NotChecked},
    {.name = "IpipFromAStrangerNotDressedAsOurs",
     .description = "another tunnel (a CNI's, between pod addresses) is not ours to judge",
     .node = Node::FigletToB,
     .hook = Hook::Ingress,
     .frame =
         [] {
             TcpPacket inner = Harness::user_syn();
             inner.src = *Ipv4::parse("192.168.7.10");
             inner.dst = *Ipv4::parse("192.168.9.20");
             inner.dport = 8443;
             return via_stranger(inner);
         },
     .verdict = kOk,
     .reason = "pass_ipip_unknown_peer",
     .output = Output::Untouched},
    {.name = "IpipFromAPeerToAnotherAddressThanThisNode",
     .description = "peer B's tunnel addressed to C, delivered here",
     .node = Node::ServingForB,
     .hook = Hook::Ingress,
     .frame = [] { return ipip_frame(kPeerBMac, kNodeMac, kPeerB, kPeerC, client_to_b().l3()); },
     .verdict = kShot,
     .reason = "drop_ipip_not_for_node",
     .output = Output::NotChecked},
    {.name = "IpipFromAPeerForAnotherNodesFunctionPort",
     .description = "B may forward only its own users' connections, not ones made to C",
     .node = Node::ServingForBAndC,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto to_c = client_to_b();
             to_c.dst = kPeerC;
             return via_b(to_c);
         },
     .verdict = kShot,
     .reason = "drop_ipip_foreign_service",
     .output = Output::NotChecked},
    {.name = "IpipFromAPeerIntoThisNodesFunctionPort",
     .description = "B may not bypass the user path's policy into this node's function port",
     .node = Node::ServingForBAndC,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto to_us = client_to_b();
             to_us.dst = kNode;
             to_us.dport = kFport;
             return via_b(to_us);
         },
     .verdict = kShot,
     .reason = "drop_ipip_foreign_service",
     .output = Output::NotChecked},
    {.name = "IpipFromAPeerForAnUnknownFunctionPort",
     .description = "B forwards a connection to a port of B's that is no function's",
     .node = Node::ServingForB,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = client_to_b();
             syn.dport = 31999;
             return via_b(syn);
         },
     .verdict = kShot,
     .reason = "drop_fwd_in_no_service",
     .output = Output::NotChecked},
};

// Refused new connections: an RST|ACK built in place and bounced out, or a counted drop.
const VerdictRow kRejectRows[] = {
    {.name = "SynWithTypicalOptionsGetsAnRst",
     .description = "a Linux SYN (MSS, SACK, timestamps, WS) to a function refusing everything",
     .node = Node::FigletRejectAll,
     .hook = Hook::Ingress,
     .frame = [] { return Harness::user_syn().frame(); },
     .verdict = kRedirect,
     .reason = "rst_sent",
     .output = Output::RstToClient,
     .counted = {"syn_new"}},
    {.name = "SynWithoutOptionsGetsAnRst",
     .description = "a bare 40-byte SYN",
     .node = Node::FigletRejectAll,
     .hook = Hook::Ingress,
     .frame = [] { return syn_without_options().frame(); },
     .verdict = kRedirect,
     .reason = "rst_sent",
     .output = Output::RstToClient,
     .counted = {"syn_new"}},
    {.name = "SynWithIpOptionsGetsAnRst",
     .description = "a SYN with IP options (the RST goes without them)",
     .node = Node::FigletRejectAll,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = Harness::user_syn();
             syn.ip_options = {0x01, 0x01, 0x01, 0x00, 0x01, 0x01, 0x01, 0x00};
             return syn.frame();
         },
     .verdict = kRedirect,
     .reason = "rst_sent",
     .output = Output::RstToClient,
     .counted = {"syn_new", "ip_options"}},
    {.name = "SynWithPayloadIsDropped",
     .description = "a SYN carrying data cannot become an RST in place: dropped, counted",
     .node = Node::FigletRejectAll,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = Harness::user_syn();
             syn.payload = {'G', 'E', 'T', ' '};
             return syn.frame();
         },
     .verdict = kShot,
     .reason = "rst_failed",
     .output = Output::NotChecked,
     .counted = {"syn_new"}},
    {.name = "DropModeDropsTheSynAndRemembersIt",
     .description = "reject mode drop: the SYN is dropped and its connection tracked for retries",
     .node = Node::FigletRejectAllDropMode,
     .hook = Hook::Ingress,
     .frame = [] { return Harness::user_syn().frame(); },
     .verdict = kShot,
     .reason = "drop_reject",
     .output = Output::NotChecked,
     .counted = {"syn_new"},
     .not_counted = {"syn_guard"},
     .conntrack_entries = 1},
    {.name = "ForwardedInOverLimitZeroGetsAnRstThroughThePeer",
     .description = "limit_in 0 for B: B's forwarded SYN is refused back through B",
     .node = Node::ServingForBLimitZero,
     .hook = Hook::Ingress,
     .frame = [] { return via_b(client_to_b()); },
     .verdict = kRedirect,
     .reason = "rst_sent",
     .output = Output::RstThroughPeerB,
     .counted = {"syn_new"}},
    {.name = "ForwardedInWithTypicalOptionsOverLimitZeroGetsAnRst",
     .description = "the same with a 20-byte option block (MSS, SACK, timestamps, WS)",
     .node = Node::ServingForBLimitZero,
     .hook = Hook::Ingress,
     .frame =
         [] {
             auto syn = client_to_b();
             syn.tcp_options = typical_syn_options(1440);
             return via_b(syn);
         },
     .verdict = kRedirect,
     .reason = "rst_sent",
     .output = Output::RstThroughPeerB,
     .counted = {"syn_new"}},
};

// ---- the test --------------------------------------------------------------------------------

class PacketVerdict : public DataplaneTest, public ::testing::WithParamInterface<VerdictRow> {
  protected:
    void prepare(Node node) {
        FunctionPolicy refuse_all;
        refuse_all.local = 0;
        refuse_all.reject = 100;
        switch (node) {
            case Node::FigletLocal:
                install_figlet(FunctionPolicy::all_local());
                return;
            case Node::FigletRejectAll:
                install_figlet(refuse_all);
                return;
            case Node::FigletRejectAllDropMode: {
                auto s = default_settings();
                s.reject_mode = RejectMode::Drop;
                reattach(s);
                install_figlet(refuse_all);
                return;
            }
            case Node::FigletToB: {
                FunctionPolicy to_b;
                to_b.local = 0;
                to_b.peers[kPeerB] = 100;
                install_figlet(to_b);
                return;
            }
            case Node::FigletWithoutPolicy:
                dp().set_service(dp::Service{kNode, kFport, "figlet", true});
                return;
            case Node::SteeringDisabled: {
                install_figlet(FunctionPolicy::all_local());
                auto s = default_settings();
                s.enabled = false;
                dp().update_settings(s);
                return;
            }
            case Node::ServingForB:
            case Node::ServingForBAndC:
            case Node::ServingForBLimitZero: {
                FunctionPolicy p = FunctionPolicy::all_local();
                if (node == Node::ServingForBLimitZero) p.limit_in[kPeerB] = 0;
                install_figlet(p);
                dp().add_peer(kPeerB);
                dp().set_service(dp::Service{kPeerB, kPeerFport, "figlet", false});
                if (node == Node::ServingForBAndC) {
                    dp().add_peer(kPeerC);
                    dp().set_service(dp::Service{kPeerC, kPeerFport, "figlet", false});
                }
                return;
            }
        }
        FAIL() << "unknown node state";
    }

    std::map<std::string, uint64_t> counters() {
        std::map<std::string, uint64_t> m;
        for (const auto &[name, value] : dp().stats().reasons)
            m[name] = value;
        return m;
    }

    void expect_output(const VerdictRow &row, const Bytes &in, const RunResult &r) {
        const Parsed &p = r.parsed;
        switch (row.output) {
            case Output::Untouched:
                EXPECT_EQ(r.out, in) << "must pass untouched";
                return;
            case Output::Dnat:
                ASSERT_TRUE(p.ok()) << p.error;
                EXPECT_FALSE(p.outer);
                EXPECT_EQ(p.ip.src, kClient);
                EXPECT_EQ(p.ip.dst, kGateway.addr);
                EXPECT_EQ(p.tcp.dport, kGateway.port);
                EXPECT_TRUE(p.ip.checksum_ok);
                EXPECT_TRUE(p.tcp.checksum_ok);
                return;
            case Output::RstToClient:
                ASSERT_TRUE(p.ok()) << p.error;
                EXPECT_FALSE(p.outer);
                EXPECT_EQ(p.ip.src, kNode);
                EXPECT_EQ(p.ip.dst, kClient);
                EXPECT_EQ(p.eth_dst, kClientMac);
                EXPECT_EQ(p.tcp.flags, kRst | kAck);
                EXPECT_TRUE(p.ip.checksum_ok);
                EXPECT_TRUE(p.tcp.checksum_ok);
                return;
            case Output::RstThroughPeerB:
                ASSERT_TRUE(p.ok()) << p.error;
                ASSERT_TRUE(p.outer) << "the RST goes back encapsulated";
                EXPECT_EQ(p.outer->src, kNode);
                EXPECT_EQ(p.outer->dst, kPeerB);
                EXPECT_TRUE(p.outer->checksum_ok);
                EXPECT_EQ(p.eth_dst, kPeerBMac);
                EXPECT_EQ(p.ip.src, kPeerB);
                EXPECT_EQ(p.ip.dst, kClient);
                EXPECT_EQ(p.tcp.flags, kRst | kAck);
                EXPECT_TRUE(p.ip.checksum_ok);
                EXPECT_TRUE(p.tcp.checksum_ok);
                return;
            case Output::NotChecked:
                return;
        }
    }
};

TEST_P(PacketVerdict, Row) {
    const VerdictRow &row = GetParam();
    SCOPED_TRACE(row.description);
    prepare(row.node);
    const auto before = counters();
    if (row.reason) {
        ASSERT_TRUE(before.contains(row.reason)) << "no reason named " << row.reason;
    }
    for (const char *name : row.counted)
        ASSERT_TRUE(before.contains(name)) << "no reason named " << name;
    for (const char *name : row.not_counted)
        ASSERT_TRUE(before.contains(name)) << "no reason named " << name;

    const Bytes frame = row.frame();
    const RunResult r = row.hook == Hook::Ingress ? ingress(frame) : egress(frame);
    EXPECT_EQ(verdict_name(r.retval), verdict_name(row.verdict));

    std::map<std::string, uint64_t> grown;
    for (const auto &[name, value] : counters())
        if (value != before.at(name)) grown[name] = value - before.at(name);
    EXPECT_EQ(grown[row.hook == Hook::Ingress ? "pkt_ingress" : "pkt_egress"], 1u);
    std::set<std::string> terminal_grown;
    for (const auto &entry : grown)
        if (is_terminal(entry.first)) terminal_grown.insert(entry.first);
    EXPECT_EQ(terminal_grown,
              row.reason ? std::set<std::string>{row.reason} : std::set<std::string>{})
        << "the packet's terminal reason";
    if (row.reason) {
        EXPECT_EQ(grown[row.reason], 1u) << row.reason;
    }
    for (const char *name : row.counted)
        EXPECT_EQ(grown[name], 1u) << name;
    for (const char *name : row.not_counted)
        EXPECT_EQ(grown[name], 0u) << name;

    expect_output(row, frame, r);
    EXPECT_EQ(r.parsed.malformed, row.parsed_as)
        << "the test parser read the output as: " << to_string(r.parsed.malformed) << " ("
        << r.parsed.error << ")";
    EXPECT_EQ(dp().conntrack().size(), row.conntrack_entries);
}

std::string row_name(const ::testing::TestParamInfo<VerdictRow> &info) {
    return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Passthrough, PacketVerdict, ::testing::ValuesIn(kPassthroughRows),
                         row_name);
INSTANTIATE_TEST_SUITE_P(Hardening, PacketVerdict, ::testing::ValuesIn(kHardeningRows), row_name);
INSTANTIATE_TEST_SUITE_P(Reject, PacketVerdict, ::testing::ValuesIn(kRejectRows), row_name);

}  // namespace
}  // namespace dfaas::test
