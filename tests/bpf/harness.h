// Test harness for the data plane: a private network and mount namespace (made in main, gone
// when the process exits, even after a crash), a veth with static neighbours, a private bpffs,
// and the real programs attached and run with BPF_PROG_TEST_RUN.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "dfaas/abi.h"
#include "dfaas/dataplane/dataplane.h"
#include "packet.h"

namespace dfaas::test {

// Entries of a hash map pinned under `bpffs` (keys up to 64 bytes).
inline size_t pinned_entries(const std::string &bpffs, const std::string &name) {
    int fd = bpf_obj_get((bpffs + "/" + name).c_str());
    if (fd < 0) throw std::runtime_error("open pinned map " + name + ": " + std::strerror(errno));
    size_t n = 0;
    unsigned char key[64] = {}, next[64] = {};
    const void *prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, next) == 0) {
        ++n;
        std::memcpy(key, next, sizeof(key));
        prev = key;
    }
    close(fd);
    return n;
}

// Addresses of the test topology (all on dp0's /24).
inline const Ipv4 kNode = *Ipv4::parse("10.0.0.1");  // node A, where the programs run
inline const Ipv4 kPeerB = *Ipv4::parse("10.0.0.2");
inline const Ipv4 kPeerC = *Ipv4::parse("10.0.0.3");
inline const Ipv4 kClient = *Ipv4::parse("10.0.0.100");
inline const Ipv4 kStranger = *Ipv4::parse("10.0.0.50");  // not a peer
inline const Endpoint kGateway{kNode, 8080};
inline const Mac kNodeMac = mac(0x01), kPeerBMac = mac(0x02), kPeerCMac = mac(0x03),
                 kClientMac = mac(0x10);
constexpr uint16_t kFport = 31000;      // figlet on node A
constexpr uint16_t kPeerFport = 31500;  // figlet's port on peer B
constexpr int kRedirect = 7;            // TC_ACT_REDIRECT
constexpr int kShot = 2;                // TC_ACT_SHOT

// Made once by main(); tests read it.
struct Environment {
    std::string bpffs_root;  // private bpffs mount
    int ifindex = 0;         // dp0
    bool ready = false;
    std::string why_not;  // when not ready (not root, ...)
};
Environment &environment();
void setup_environment();

struct RunResult {
    int retval = -1;
    Bytes out;
    Parsed parsed;
};

// The data plane attached to dp0 in the test environment, with its programs at hand for
// BPF_PROG_TEST_RUN. Used by the packet tests and the benchmarks.
class Harness {
  public:
    // Conntrack sizes the harness attaches with (established, half-open).
    static constexpr uint32_t kCtEntries = 64 * 1024;
    static constexpr uint32_t kCtHalfOpenEntries = 16 * 1024;

    ~Harness();
    // (Re-)attaches with these settings; maps start empty.
    void attach(const dp::Settings &settings);
    void detach();
    static dp::Settings default_settings();

    RunResult ingress(const Bytes &frame) { return run(ingress_fd_, frame); }
    RunResult egress(const Bytes &frame) { return run(egress_fd_, frame); }
    // Runs once and returns the kernel's measurement of the program run alone (ns).
    uint64_t time_ingress(const Bytes &frame) { return time_run(ingress_fd_, frame); }
    uint64_t time_egress(const Bytes &frame) { return time_run(egress_fd_, frame); }

    // A user SYN from the client to node A's function port.
    static TcpPacket user_syn(uint16_t client_port = 40000);
    // figlet with port kFport on this node; peers the policy names are added first.
    void install_figlet(const FunctionPolicy &policy);

    dp::Dataplane &dp() { return *dp_; }
    std::string bpffs() const { return environment().bpffs_root + "/node"; }

  private:
    RunResult run(int prog_fd, const Bytes &frame);
    uint64_t time_run(int prog_fd, const Bytes &frame);
    void open_programs();
    void close_programs();

    std::unique_ptr<dp::Dataplane> dp_;
    int ingress_fd_ = -1, egress_fd_ = -1;
};

class DataplaneTest : public ::testing::Test {
  protected:
    void SetUp() override;
    void TearDown() override;

    void reattach(const dp::Settings &settings) { h_.attach(settings); }
    dp::Settings default_settings() const { return Harness::default_settings(); }
    RunResult ingress(const Bytes &frame) { return h_.ingress(frame); }
    RunResult egress(const Bytes &frame) { return h_.egress(frame); }
    uint64_t reason(const std::string &name) { return h_.dp().stats().reason(name); }
    TcpPacket user_syn(uint16_t client_port = 40000) const {
        return Harness::user_syn(client_port);
    }
    void install_figlet(const FunctionPolicy &policy) { h_.install_figlet(policy); }
    // Completes the handshake of a SYN the data plane admitted: the gateway's SYN-ACK through
    // egress, then the client's ACK of it through ingress (IP-in-IP from `via_peer` for a
    // connection a peer forwarded here). The local cap and limit_in count a connection only
    // then (bpf/lib/ct.h), so tests of the caps complete what they admit.
    void complete_handshake(const TcpPacket &syn, std::optional<Ipv4> via_peer = std::nullopt);
    // The gateway's initial sequence number in complete_handshake's SYN-ACK.
    static constexpr uint32_t kHandshakeGatewayIsn = 0x3c3c0000;
    // The gateway's SYN-ACK to the client of `syn`, as its stack sends it (before egress).
    static TcpPacket gateway_synack(const TcpPacket &syn, uint32_t gateway_isn);
    // The client's ACK of `syn`'s handshake, acknowledging the server's ISN `server_isn`.
    static TcpPacket ack_of(const TcpPacket &syn, uint32_t server_isn);
    // A client's packet to peer B's figlet port (kPeerB:kPeerFport), as B forwards it here
    // (inner packet: wrap it with via_b).
    static TcpPacket client_to_b(uint16_t client_port, uint8_t flags = kSyn, Ipv4 client = kClient);
    // `inner` encapsulated by peer B towards this node.
    static Bytes via_b(const TcpPacket &inner);
    dp::Dataplane &dp() { return h_.dp(); }
    std::string bpffs() const { return h_.bpffs(); }

  private:
    Harness h_;
};

}  // namespace dfaas::test
