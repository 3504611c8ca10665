#include "harness.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace dfaas::test {

Environment &environment() {
    static Environment env;
    return env;
}

namespace {

void run_command(const std::string &cmd) {
    if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0)
        throw std::runtime_error("command failed: " + cmd);
}

}  // namespace

void setup_environment() {
    Environment &env = environment();
    if (geteuid() != 0) {
        env.why_not = "needs root (BPF programs and network namespaces)";
        return;
    }
    // New network and mount namespaces for this process: the veth, routes and the bpffs mount
    // disappear with it, whatever way the tests end.
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
        env.why_not = std::string("unshare: ") + std::strerror(errno);
        return;
    }
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        env.why_not = std::string("make mounts private: ") + std::strerror(errno);
        return;
    }
    char dir[] = "/tmp/dfaas-bpf-test.XXXXXX";
    if (!mkdtemp(dir) || mount("bpf", dir, "bpf", 0, nullptr) != 0) {
        env.why_not = std::string("mount bpffs: ") + std::strerror(errno);
        return;
    }
    env.bpffs_root = dir;
    try {
        run_command("ip link set lo up");
        run_command("ip link add dp0 address " + to_string(kNodeMac) +
                    " type veth peer name dp1 address 02:00:00:00:00:fe");
        run_command("ip addr add 10.0.0.1/24 dev dp0");
        run_command("ip link set dp0 up");
        run_command("ip link set dp1 up");
        // bpf_fib_lookup answers only on forwarding devices; tests of the fallback turn it off.
        run_command("sysctl -qw net.ipv4.conf.dp0.forwarding=1");
        for (auto [ip, m] : {std::pair{kPeerB, kPeerBMac}, std::pair{kPeerC, kPeerCMac},
                             std::pair{kClient, kClientMac}})
            run_command("ip neigh replace " + ip.str() + " lladdr " + to_string(m) +
                        " dev dp0 nud permanent");
    } catch (const std::exception &e) {
        env.why_not = e.what();
        return;
    }
    env.ifindex = static_cast<int>(if_nametoindex("dp0"));
    env.ready = env.ifindex > 0;
}

dp::Settings Harness::default_settings() {
    dp::Settings s;
    s.node = kNode;
    s.gateway = kGateway;
    s.mtu = 1500;
    return s;
}

void DataplaneTest::SetUp() {
    if (!environment().ready) {
        // scripts/test.sh runs as root and sets this: there a missing environment is a failure,
        // never a silent skip.
        if (std::getenv("DFAAS_TESTS_REQUIRE_ROOT")) FAIL() << environment().why_not;
        GTEST_SKIP() << environment().why_not;
    }
    reattach(default_settings());
}

void DataplaneTest::TearDown() {
    if (environment().ready) h_.detach();
}

Harness::~Harness() {
    close_programs();
}

void Harness::attach(const dp::Settings &settings) {
    close_programs();
    dp_.reset();
    dp::Dataplane::detach(bpffs());
    dp::AttachOptions opts;
    opts.interface = "dp0";
    opts.bpffs = bpffs();
    opts.ct_entries = kCtEntries;
    opts.ct_half_open_entries = kCtHalfOpenEntries;
    opts.settings = settings;
    dp_ = dp::Dataplane::attach(opts);
    open_programs();
}

void Harness::detach() {
    close_programs();
    dp_.reset();
    dp::Dataplane::detach(bpffs());
}

void Harness::open_programs() {
    auto st = dp_->status();
    if (!st.ingress_attached || !st.egress_attached)
        throw std::runtime_error("programs not attached after attach()");
    ingress_fd_ = bpf_prog_get_fd_by_id(st.ingress_prog_id);
    egress_fd_ = bpf_prog_get_fd_by_id(st.egress_prog_id);
    if (ingress_fd_ < 0 || egress_fd_ < 0)
        throw std::runtime_error(std::string("open attached programs: ") + std::strerror(errno));
}

void Harness::close_programs() {
    if (ingress_fd_ >= 0) close(ingress_fd_);
    if (egress_fd_ >= 0) close(egress_fd_);
    ingress_fd_ = egress_fd_ = -1;
}

RunResult Harness::run(int prog_fd, const Bytes &frame) {
    RunResult r;
    r.out.resize(frame.size() + 256);
    __sk_buff ctx{};
    ctx.ifindex = environment().ifindex;  // bpf_fib_lookup needs a real device
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = r.out.data(),
                .data_size_in = uint32_t(frame.size()), .data_size_out = uint32_t(r.out.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
        throw std::runtime_error(std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno));
    r.retval = static_cast<int>(opts.retval);
    r.out.resize(opts.data_size_out);
    r.parsed = parse(r.out);
    return r;
}

uint64_t Harness::time_run(int prog_fd, const Bytes &frame) {
    // repeat = 1 and a fresh skb per call: the kernel times the program run alone. (With
    // repeat > 1 it would rerun on the packet the previous run rewrote.)
    __sk_buff ctx{};
    ctx.ifindex = environment().ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = uint32_t(frame.size()), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
                .repeat = 1);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
        throw std::runtime_error(std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno));
    return opts.duration;
}

TcpPacket Harness::user_syn(uint16_t client_port) {
    TcpPacket p;
    p.eth_src = kClientMac;
    p.eth_dst = kNodeMac;
    p.src = kClient;
    p.dst = kNode;
    p.sport = client_port;
    p.dport = kFport;
    p.flags = kSyn;
    p.tcp_options = typical_syn_options(1460);
    return p;
}

void Harness::install_figlet(const FunctionPolicy &policy) {
    dp::Service svc{kNode, kFport, "figlet", true};
    dp_->set_service(svc);
    for (const auto &[peer, w] : policy.peers)
        dp_->add_peer(peer);
    for (const auto &[peer, w] : policy.overflow)
        dp_->add_peer(peer);
    for (const auto &[peer, w] : policy.limit_in)
        dp_->add_peer(peer);
    dp_->set_policy("figlet", policy);
}

TcpPacket DataplaneTest::gateway_synack(const TcpPacket &syn, uint32_t gateway_isn) {
    TcpPacket synack;
    synack.eth_src = kNodeMac;
    synack.eth_dst = syn.eth_src;
    synack.src = kGateway.addr;
    synack.sport = kGateway.port;
    synack.dst = syn.src;
    synack.dport = syn.sport;
    synack.flags = kSyn | kAck;
    synack.seq = gateway_isn;
    synack.ack = syn.seq + 1;
    return synack;
}

TcpPacket DataplaneTest::ack_of(const TcpPacket &syn, uint32_t server_isn) {
    auto ack = syn;
    ack.flags = kAck;
    ack.seq = syn.seq + 1;
    ack.ack = server_isn + 1;
    ack.tcp_options.clear();
    return ack;
}

TcpPacket DataplaneTest::client_to_b(uint16_t client_port, uint8_t flags, Ipv4 client) {
    TcpPacket p;
    p.src = client;
    p.sport = client_port;
    p.dst = kPeerB;
    p.dport = kPeerFport;
    p.flags = flags;
    return p;
}

Bytes DataplaneTest::via_b(const TcpPacket &inner) {
    return ipip_frame(kPeerBMac, kNodeMac, kPeerB, kNode, inner.l3());
}

void DataplaneTest::complete_handshake(const TcpPacket &syn, std::optional<Ipv4> via_peer) {
    egress(gateway_synack(syn, kHandshakeGatewayIsn).frame());
    auto ack = ack_of(syn, kHandshakeGatewayIsn);
    if (via_peer)
        ingress(ipip_frame(syn.eth_src, kNodeMac, *via_peer, kNode, ack.l3()));
    else
        ingress(ack.frame());
}

}  // namespace dfaas::test
