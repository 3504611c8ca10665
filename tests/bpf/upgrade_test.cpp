// Upgrading in place over the maps of an earlier ABI (2, and 5: the release before the conntrack
// entry grew by the HTTP fields): the current programs load over pins laid out as that ABI left
// them, an established connection keeps being steered, the counters are kept, and the policies are
// laid out again for the current selection (ABI 4: SWRR tables with a length; ABI 2 and 3 share the
// policy layout) (docs/architecture.md, "ABI version rule").
//
// The ABI 2 maps are made here from a table (not from the current object), filled with the state
// of a connection that the current programs established, and pinned in a directory of their own.
#include <bpf/libbpf.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "harness.h"

namespace dfaas::test {
namespace {

// Every pinned map as ABI 2 defined it (bpf/lib/maps.h at commit 1b62311): the layout a node
// running the previous release has pinned. Never edit to follow the current layout: that is
// exactly what this test must catch.
struct PinnedLayout {
    const char *name;
    bpf_map_type type;
    uint32_t key_size, value_size, max_entries, flags;
};
constexpr uint32_t kAbi2Reasons = 41;
constexpr uint32_t kAbi2StatPaths = 36;
constexpr uint32_t kAbi2PolicySize = 1244;  // dfaas_policy without table_len, overflow_len
const PinnedLayout kAbi2Maps[] = {
    {"dfaas_config", BPF_MAP_TYPE_ARRAY, 4, 80, 1, 0},
    {"dfaas_services", BPF_MAP_TYPE_HASH, 8, 8, 4 * 256 * 8, 0},
    {"dfaas_functions", BPF_MAP_TYPE_ARRAY, 4, 72, 256, 0},
    {"dfaas_policies", BPF_MAP_TYPE_ARRAY, 4, 1244, 256, 0},
    {"dfaas_peers", BPF_MAP_TYPE_HASH, 4, 8, 32, 0},
    {"dfaas_peer_addrs", BPF_MAP_TYPE_ARRAY, 4, 8, 32, 0},
    {"dfaas_peer_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32, 32, 0},
    {"dfaas_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32, 256 * kAbi2StatPaths, 0},
    {"dfaas_fwd_in_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 16, 256 * 32, 0},
    {"dfaas_reasons", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, kAbi2Reasons, 0},
    {"dfaas_rate_local", BPF_MAP_TYPE_ARRAY, 4, 24, 256, 0},
    {"dfaas_rate_fwd_in", BPF_MAP_TYPE_ARRAY, 4, 24, 256 * 32, 0},
    {"dfaas_rate_syn", BPF_MAP_TYPE_ARRAY, 4, 24, 1, 0},
    // Conntrack sizes come from the configuration; the harness's sizes, as a node would have.
    {"dfaas_ct", BPF_MAP_TYPE_LRU_HASH, 16, 64, Harness::kCtEntries, 0},
    {"dfaas_ct_half_open", BPF_MAP_TYPE_LRU_HASH, 16, 64, Harness::kCtHalfOpenEntries, 0},
};

// Every pinned map as ABI 5 defined it (bpf/lib/maps.h at commit 38f08c0): dfaas_http_stats did
// not exist and the conntrack value was 64 bytes. Never edit to follow the current layout.
constexpr uint32_t kAbi5CtEntrySize = 64;
const PinnedLayout kAbi5Maps[] = {
    {"dfaas_config", BPF_MAP_TYPE_ARRAY, 4, 80, 1, 0},
    {"dfaas_services", BPF_MAP_TYPE_HASH, 8, 8, 4 * 256 * 8, 0},
    {"dfaas_functions", BPF_MAP_TYPE_ARRAY, 4, 72, 256, 0},
    {"dfaas_policies", BPF_MAP_TYPE_ARRAY, 4, 1248, 256, 0},
    {"dfaas_peers", BPF_MAP_TYPE_HASH, 4, 8, 32, 0},
    {"dfaas_peer_addrs", BPF_MAP_TYPE_ARRAY, 4, 8, 32, 0},
    {"dfaas_peer_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32, 32, 0},
    {"dfaas_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32, 256 * 48, 0},
    {"dfaas_fwd_in_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 16, 256 * 32, 0},
    {"dfaas_reasons", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 128, 0},
    {"dfaas_rate_local", BPF_MAP_TYPE_ARRAY, 4, 24, 256, 0},
    {"dfaas_rate_fwd_in", BPF_MAP_TYPE_ARRAY, 4, 24, 256 * 32, 0},
    {"dfaas_rate_syn", BPF_MAP_TYPE_ARRAY, 4, 24, 1, 0},
    {"dfaas_ct", BPF_MAP_TYPE_LRU_HASH, 12, kAbi5CtEntrySize, Harness::kCtEntries, 0},
    {"dfaas_ct_half_open", BPF_MAP_TYPE_LRU_HASH, 12, kAbi5CtEntrySize, Harness::kCtHalfOpenEntries,
     0},
    {"dfaas_ct_gw", BPF_MAP_TYPE_LRU_HASH, 8, 12, Harness::kCtEntries, 0},
    {"dfaas_ct_gw_half_open", BPF_MAP_TYPE_LRU_HASH, 8, 12, Harness::kCtHalfOpenEntries, 0},
    {"dfaas_ct_ports", BPF_MAP_TYPE_ARRAY, 4, 8192, 1, 0},
    {"dfaas_events", BPF_MAP_TYPE_RINGBUF, 0, 0, 256 * 1024, 0},
    {"dfaas_event_config", BPF_MAP_TYPE_ARRAY, 4, 24, 1, 0},
};

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) close(fd);
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
};

bpf_map_info map_info(int fd) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
        throw std::runtime_error(std::string("map info: ") + std::strerror(errno));
    return info;
}

size_t lookup_bytes(bpf_map_type type, uint32_t value_size) {
    bool percpu = type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
                  type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    return percpu ? size_t(libbpf_num_possible_cpus()) * ((value_size + 7) / 8 * 8) : value_size;
}

uint32_t pinned_max_entries(const std::string &path) {
    Fd fd(bpf_obj_get(path.c_str()));
    if (fd.fd < 0) return 0;
    return map_info(fd.fd).max_entries;
}

// Where the current layout keeps what ABI 2 kept at `abi2_key` (nullopt: ABI 2 had no such
// element to fill).
std::optional<uint32_t> current_key_of(const std::string &name, uint32_t abi2_key) {
    if (name == "dfaas_stats")
        return abi2_key / kAbi2StatPaths * DFAAS_STAT_PATHS + abi2_key % kAbi2StatPaths;
    return abi2_key;
}

// A conntrack key as ABI 2 and 3 laid it out: LOCAL and FORWARDED_IN connections under the tuple
// after DNAT (client -> gateway, kind 1), the others under the client's tuple (kind 0).
struct CtKeyAbi2 {
    uint32_t client_addr, service_addr;
    uint16_t client_port, service_port;
    uint8_t kind, pad[3];
};
static_assert(sizeof(CtKeyAbi2) == 16);

// Writes the current conntrack table `src` into the ABI 2 table `dst` as ABI 2 keyed it.
void fill_abi2_conntrack(int src, int dst, const dfaas_config &cfg) {
    dfaas_ct_key key{}, next{};
    const void *prev = nullptr;
    while (bpf_map_get_next_key(src, prev, &next) == 0) {
        key = next;
        prev = &key;
        dfaas_ct_entry entry{};
        if (bpf_map_lookup_elem(src, &key, &entry) != 0) continue;
        CtKeyAbi2 old{key.client_addr, key.service_addr, key.client_port, key.service_port, 0, {}};
        if (entry.path == DFAAS_PATH_LOCAL || entry.path == DFAAS_PATH_FORWARDED_IN) {
            old = CtKeyAbi2{
                key.client_addr, cfg.gateway_addr, entry.gateway_port, cfg.gateway_port, 1, {}};
            std::memset(&entry.client_macs, 0, sizeof(entry.client_macs));
        }
        if (bpf_map_update_elem(dst, &old, &entry, BPF_ANY) != 0)
            throw std::runtime_error("fill ABI 2 conntrack");
    }
}

// Makes the maps of ABI `version` under `dir` from `layouts` (kAbi2Maps, kAbi5Maps or a broken
// layout) and fills them with what the current data plane pinned under `current` holds.
void pin_previous_layout(const std::string &current, const std::string &dir,
                         const std::vector<PinnedLayout> &layouts, uint32_t version = 2) {
    std::filesystem::create_directories(dir);
    for (const auto &l : layouts) {
        Fd src(bpf_obj_get((current + "/" + l.name).c_str()));
        if (src.fd < 0) throw std::runtime_error(std::string("open current ") + l.name);
        auto info = map_info(src.fd);
        // The programs need the value's BTF for spin-locked values (policies, rate windows);
        // take it from the current map when the value is laid out the same.
        LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = l.flags);
        Fd btf(info.btf_id ? bpf_btf_get_fd_by_id(info.btf_id) : -1);
        if (btf.fd >= 0 && info.key_size == l.key_size && info.value_size == l.value_size) {
            opts.btf_fd = uint32_t(btf.fd);
            opts.btf_key_type_id = info.btf_key_type_id;
            opts.btf_value_type_id = info.btf_value_type_id;
        }
        Fd dst(bpf_map_create(l.type, l.name, l.key_size, l.value_size, l.max_entries, &opts));
        if (dst.fd < 0)
            throw std::runtime_error(std::string("create ABI 2 ") + l.name + ": " +
                                     std::strerror(errno));
        if (std::string(l.name) == "dfaas_policies" && l.value_size == kAbi2PolicySize &&
            info.value_size > l.value_size) {
            // The current value with its ABI 2 prefix only, and its tables as ABI 2 laid them
            // out: each target's slots in one block (the current ones sorted).
            dfaas_policy value{};
            for (uint32_t k = 0; k < l.max_entries; ++k) {
                if (bpf_map_lookup_elem(src.fd, &k, &value) != 0) continue;
                auto by_target = [](const dfaas_slot &a, const dfaas_slot &b) {
                    return a.action != b.action ? a.action < b.action : a.peer < b.peer;
                };
                std::stable_sort(std::begin(value.table), std::end(value.table), by_target);
                std::stable_sort(std::begin(value.overflow), std::end(value.overflow), by_target);
                if (bpf_map_update_elem(dst.fd, &k, &value, BPF_ANY) != 0)
                    throw std::runtime_error("fill ABI 2 dfaas_policies");
            }
        }
        bool conntrack =
            std::string(l.name) == "dfaas_ct" || std::string(l.name) == "dfaas_ct_half_open";
        if (conntrack && l.key_size == sizeof(CtKeyAbi2) && info.key_size == sizeof(dfaas_ct_key)) {
            Fd cfg_fd(bpf_obj_get((current + "/dfaas_config").c_str()));
            uint32_t zero = 0;
            dfaas_config cfg{};
            if (cfg_fd.fd < 0 || bpf_map_lookup_elem(cfg_fd.fd, &zero, &cfg) != 0)
                throw std::runtime_error("read current config");
            fill_abi2_conntrack(src.fd, dst.fd, cfg);
        } else if (conntrack && l.key_size == info.key_size && l.value_size < info.value_size) {
            // ABI 5: the same key, the entry without the HTTP fields appended since (a prefix).
            dfaas_ct_key key{}, next{};
            dfaas_ct_entry entry{};
            const void *prev = nullptr;
            while (bpf_map_get_next_key(src.fd, prev, &next) == 0) {
                key = next;
                prev = &key;
                if (bpf_map_lookup_elem(src.fd, &key, &entry) == 0 &&
                    bpf_map_update_elem(dst.fd, &key, &entry, BPF_ANY) != 0)
                    throw std::runtime_error(std::string("fill ") + l.name);
            }
        } else if (info.key_size == l.key_size && info.value_size == l.value_size) {
            bool array = l.type == BPF_MAP_TYPE_ARRAY || l.type == BPF_MAP_TYPE_PERCPU_ARRAY;
            std::vector<uint8_t> key(l.key_size), next(l.key_size),
                value(lookup_bytes(l.type, l.value_size));
            if (array) {
                for (uint32_t k = 0; k < l.max_entries; ++k) {
                    auto from = current_key_of(l.name, k);
                    if (!from || *from >= info.max_entries) continue;
                    uint32_t src_key = *from;
                    if (bpf_map_lookup_elem(src.fd, &src_key, value.data()) != 0) continue;
                    if (bpf_map_update_elem(dst.fd, &k, value.data(), BPF_ANY) != 0)
                        throw std::runtime_error(std::string("fill ") + l.name);
                }
            } else {
                const void *prev = nullptr;
                while (bpf_map_get_next_key(src.fd, prev, next.data()) == 0) {
                    key = next;
                    prev = key.data();
                    if (bpf_map_lookup_elem(src.fd, key.data(), value.data()) == 0 &&
                        bpf_map_update_elem(dst.fd, key.data(), value.data(), BPF_ANY) != 0)
                        throw std::runtime_error(std::string("fill ") + l.name);
                }
            }
        }
        if (std::string(l.name) == "dfaas_config") {
            uint32_t zero = 0;
            dfaas_config cfg{};
            if (bpf_map_lookup_elem(dst.fd, &zero, &cfg) != 0)
                throw std::runtime_error("read ABI 2 config");
            cfg.abi_version = version;
            bpf_map_update_elem(dst.fd, &zero, &cfg, BPF_ANY);
        }
        std::string pin = dir + "/" + l.name;
        if (bpf_obj_pin(dst.fd, pin.c_str()) != 0)
            throw std::runtime_error("pin " + pin + ": " + std::strerror(errno));
    }
}

void unpin_all(const std::string &dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

RunResult run_program(int prog_fd, const Bytes &frame) {
    RunResult r;
    r.out.resize(frame.size() + 256);
    __sk_buff ctx{};
    ctx.ifindex = environment().ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = r.out.data(),
                .data_size_in = uint32_t(frame.size()), .data_size_out = uint32_t(r.out.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
        throw std::runtime_error(std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno));
    r.retval = int(opts.retval);
    r.out.resize(opts.data_size_out);
    r.parsed = parse(r.out);
    return r;
}

class Upgrade : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!environment().ready) {
            if (std::getenv("DFAAS_TESTS_REQUIRE_ROOT")) FAIL() << environment().why_not;
            GTEST_SKIP() << environment().why_not;
        }
        unpin_all(abi2_dir());
        // A connection through the handshake with the current programs: its conntrack entry,
        // policy and counters are what the ABI 2 maps will hold.
        h_.attach(Harness::default_settings());
        h_.install_figlet(FunctionPolicy::all_local());
        syn_ = Harness::user_syn();
        ASSERT_EQ(h_.ingress(syn_.frame()).retval, 0);
        TcpPacket synack;
        synack.eth_src = kNodeMac;
        synack.eth_dst = kClientMac;
        synack.src = kGateway.addr;
        synack.sport = kGateway.port;
        synack.dst = kClient;
        synack.dport = syn_.sport;
        synack.flags = kSyn | kAck;
        synack.seq = 5000;
        synack.ack = syn_.seq + 1;
        ASSERT_EQ(h_.egress(synack.frame()).retval, 0);
        ack_ = syn_;
        ack_.flags = kAck;
        ack_.seq = syn_.seq + 1;
        ack_.ack = 5001;
        ack_.tcp_options.clear();
        ASSERT_EQ(h_.ingress(ack_.frame()).retval, 0);
        auto ct = h_.dp().conntrack();
        ASSERT_EQ(ct.size(), 1u);
        ASSERT_EQ(ct[0].state, dp::TcpState::Established);
        before_ = h_.dp().stats();
    }

    void TearDown() override {
        if (!environment().ready) return;
        dp_.reset();
        try {
            dp::Dataplane::detach(abi2_dir());
        } catch (...) {
        }
        h_.detach();
        unpin_all(abi2_dir());
    }

    // Leaves dp0 without programs and only the ABI 2 pins, as a node before the upgrade whose
    // programs are about to be replaced.
    void switch_to_previous_layout(const std::vector<PinnedLayout> &layouts, uint32_t version = 2) {
        pin_previous_layout(h_.bpffs(), abi2_dir(), layouts, version);
        h_.detach();
    }

    std::unique_ptr<dp::Dataplane> attach_current() {
        dp::AttachOptions opts;
        opts.interface = "dp0";
        opts.bpffs = abi2_dir();
        opts.ct_entries = Harness::kCtEntries;
        opts.ct_half_open_entries = Harness::kCtHalfOpenEntries;
        opts.settings = Harness::default_settings();
        return dp::Dataplane::attach(opts);
    }

    static std::string abi2_dir() { return environment().bpffs_root + "/upgrade-abi2"; }

    Harness h_;
    std::unique_ptr<dp::Dataplane> dp_;
    TcpPacket syn_, ack_;
    dp::Stats before_;
};

TEST_F(Upgrade, CurrentProgramsOverAbi2PinsKeepConnectionsAndCounters) {
    // A function with a 60/40 split: its ABI 2 table holds the local slots in one block.
    constexpr uint16_t kSplitPort = 31002;
    FunctionPolicy split;
    split.local = 60;
    split.peers[kPeerB] = 40;
    h_.dp().add_peer(kPeerB);
    h_.dp().set_service(dp::Service{kNode, kSplitPort, "shasum", true});
    h_.dp().set_policy("shasum", split);
    switch_to_previous_layout({std::begin(kAbi2Maps), std::end(kAbi2Maps)});
    ASSERT_EQ(pinned_max_entries(abi2_dir() + "/dfaas_reasons"), kAbi2Reasons);
    // Before the upgrade this binary must not read or write the old layout (`dfaasctl dp ...`).
    try {
        dp::Dataplane::open(abi2_dir());
        ADD_FAILURE() << "expected open() to refuse the ABI 2 maps";
    } catch (const dp::Error &e) {
        EXPECT_NE(std::string(e.what()).find("have ABI version 2"), std::string::npos) << e.what();
    }

    ASSERT_NO_THROW(dp_ = attach_current());

    auto st = dp_->status();
    EXPECT_EQ(st.abi_version, uint32_t(DFAAS_ABI_VERSION));
    ASSERT_TRUE(st.ingress_attached && st.egress_attached);
    // The migrated maps replaced the ABI 2 pins, nothing left over.
    EXPECT_EQ(pinned_max_entries(abi2_dir() + "/dfaas_reasons"), uint32_t(DFAAS_REASONS_MAX));
    EXPECT_EQ(pinned_max_entries(abi2_dir() + "/dfaas_stats"),
              uint32_t(DFAAS_MAX_FUNCTIONS * DFAAS_STAT_PATHS));
    for (const auto &entry : std::filesystem::directory_iterator(abi2_dir()))
        EXPECT_EQ(entry.path().string().find("_upgrade"), std::string::npos)
            << "left over: " << entry.path();

    // Counters kept: every reason ABI 2 had, and the function's path rows.
    auto after = dp_->stats();
    ASSERT_GE(after.reasons.size(), kAbi2Reasons);
    for (uint32_t r = 0; r < kAbi2Reasons; ++r)
        EXPECT_EQ(after.reasons[r], before_.reasons[r]) << "reason " << r;
    EXPECT_EQ(after.reason("syn_new"), 1u);
    EXPECT_EQ(after.reason("ct_promoted"), 1u);
    const auto *fig_before = before_.function("figlet");
    const auto *fig_after = after.function("figlet");
    ASSERT_NE(fig_before, nullptr);
    ASSERT_NE(fig_after, nullptr);
    EXPECT_EQ(fig_after->local.connections, 1u);
    EXPECT_EQ(fig_after->local.packets, fig_before->local.packets);
    EXPECT_EQ(fig_after->local.bytes, fig_before->local.bytes);

    // The established connection is still steered by the new programs: its data goes to the
    // gateway and is counted on its path; it is not a new connection.
    Fd ingress(bpf_prog_get_fd_by_id(st.ingress_prog_id));
    ASSERT_GE(ingress.fd, 0);
    auto data = ack_;
    data.flags = kAck | kPsh;
    std::string req = "GET /function/figlet HTTP/1.1\r\nHost: x\r\n\r\n";
    data.payload.assign(req.begin(), req.end());
    auto r = run_program(ingress.fd, data.frame());
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
    EXPECT_EQ(r.parsed.tcp.dport, kGateway.port);
    EXPECT_TRUE(r.parsed.tcp.checksum_ok);
    auto later = dp_->stats();
    EXPECT_EQ(later.function("figlet")->local.packets, fig_before->local.packets + 1);
    EXPECT_EQ(later.function("figlet")->local.requests, 1u);
    EXPECT_EQ(later.reason("syn_new"), 1u);
    EXPECT_EQ(later.reason("pass_ct_miss_midflow"), before_.reason("pass_ct_miss_midflow"));
    // Its replies too: egress finds it through the gateway-side index the migration wrote.
    Fd egress(bpf_prog_get_fd_by_id(st.egress_prog_id));
    ASSERT_GE(egress.fd, 0);
    TcpPacket reply;
    reply.eth_src = kNodeMac;
    reply.eth_dst = kClientMac;
    reply.src = kGateway.addr;
    reply.sport = kGateway.port;
    reply.dst = kClient;
    reply.dport = syn_.sport;
    reply.flags = kAck;
    reply.seq = 5001;
    reply.ack = ack_.seq;
    auto back = run_program(egress.fd, reply.frame());
    EXPECT_EQ(back.retval, 0);
    EXPECT_EQ(back.parsed.ip.src, kNode);
    EXPECT_EQ(back.parsed.tcp.sport, kFport) << "the function port restored";
    EXPECT_EQ(back.parsed.tcp.dport, syn_.sport);
    EXPECT_EQ(dp_->stats().reason("pass_egress_no_ct"), before_.reason("pass_egress_no_ct"));

    // A second attach of the same binary reuses everything as it is.
    dp_.reset();
    ASSERT_NO_THROW(dp_ = attach_current());
    // (the data packet and its reply)
    EXPECT_EQ(dp_->stats().function("figlet")->local.packets, fig_before->local.packets + 2);
    EXPECT_EQ(dp_->conntrack().size(), 1u);

    // The split's policy was laid out again in SWRR order: new connections go local, B, local,
    // B, local (the ABI 2 blocks read by sequence would send the first 154 local).
    Fd ingress_after(bpf_prog_get_fd_by_id(dp_->status().ingress_prog_id));
    ASSERT_GE(ingress_after.fd, 0);
    ASSERT_TRUE(dp_->policy("shasum"));
    EXPECT_EQ(dp_->policy("shasum")->policy, split);
    std::string order;
    for (uint16_t port = 41000; port < 41005; ++port) {
        auto syn = Harness::user_syn(port);
        syn.dport = kSplitPort;
        auto split_r = run_program(ingress_after.fd, syn.frame());
        order += !split_r.parsed.outer ? 'L' : split_r.parsed.outer->dst == kPeerB ? 'B' : '?';
    }
    EXPECT_EQ(order, "LBLBL");
}

// ABI 5 -> 6: the conntrack tables are copied into 72-byte entries (HTTP fields zero), the rest
// is reused; the established connection keeps its path and its next request is timed.
TEST_F(Upgrade, CurrentProgramsOverAbi5PinsKeepConnectionsAndTimeTheirRequests) {
    switch_to_previous_layout({std::begin(kAbi5Maps), std::end(kAbi5Maps)}, 5);
    {
        Fd ct(bpf_obj_get((abi2_dir() + "/dfaas_ct").c_str()));
        ASSERT_GE(ct.fd, 0);
        ASSERT_EQ(map_info(ct.fd).value_size, kAbi5CtEntrySize);
    }
    try {
        dp::Dataplane::open(abi2_dir());
        ADD_FAILURE() << "expected open() to refuse the ABI 5 maps";
    } catch (const dp::Error &e) {
        EXPECT_NE(std::string(e.what()).find("have ABI version 5"), std::string::npos) << e.what();
    }

    ASSERT_NO_THROW(dp_ = attach_current());
    auto st = dp_->status();
    EXPECT_EQ(st.abi_version, uint32_t(DFAAS_ABI_VERSION));
    {
        Fd ct(bpf_obj_get((abi2_dir() + "/dfaas_ct").c_str()));
        ASSERT_GE(ct.fd, 0);
        EXPECT_EQ(map_info(ct.fd).value_size, sizeof(dfaas_ct_entry));
        Fd http(bpf_obj_get((abi2_dir() + "/dfaas_http_stats").c_str()));
        EXPECT_GE(http.fd, 0) << "the new map is pinned";
    }
    for (const auto &entry : std::filesystem::directory_iterator(abi2_dir()))
        EXPECT_EQ(entry.path().string().find("_upgrade"), std::string::npos)
            << "left over: " << entry.path();
    auto ct = dp_->conntrack();
    ASSERT_EQ(ct.size(), 1u);
    EXPECT_EQ(ct[0].path, dp::CtPath::Local);
    EXPECT_EQ(ct[0].state, dp::TcpState::Established);
    EXPECT_EQ(dp_->stats().reason("syn_new"), 1u);

    // A request and its response on the migrated connection: steered both ways and timed.
    Fd ingress(bpf_prog_get_fd_by_id(st.ingress_prog_id));
    Fd egress(bpf_prog_get_fd_by_id(st.egress_prog_id));
    ASSERT_GE(ingress.fd, 0);
    ASSERT_GE(egress.fd, 0);
    auto data = ack_;
    data.flags = kAck | kPsh;
    std::string req = "GET /function/figlet HTTP/1.1\r\nHost: x\r\n\r\n";
    data.payload.assign(req.begin(), req.end());
    auto r = run_program(ingress.fd, data.frame());
    EXPECT_EQ(r.retval, 0);
    EXPECT_EQ(r.parsed.ip.dst, kGateway.addr);
    TcpPacket reply;
    reply.eth_src = kNodeMac;
    reply.eth_dst = kClientMac;
    reply.src = kGateway.addr;
    reply.sport = kGateway.port;
    reply.dst = kClient;
    reply.dport = syn_.sport;
    reply.flags = kAck | kPsh;
    reply.seq = 5001;
    reply.ack = ack_.seq + uint32_t(req.size());
    std::string ok = "HTTP/1.1 200 OK\r\n\r\n";
    reply.payload.assign(ok.begin(), ok.end());
    auto back = run_program(egress.fd, reply.frame());
    EXPECT_EQ(back.parsed.tcp.sport, kFport) << "the function port restored";
    EXPECT_EQ(dp_->stats().function("figlet")->local.requests, 1u);
    EXPECT_EQ(dp_->stats().reason("pass_ct_miss_midflow"), before_.reason("pass_ct_miss_midflow"));
    Fd http(bpf_obj_get((abi2_dir() + "/dfaas_http_stats").c_str()));
    ASSERT_GE(http.fd, 0);
    uint32_t key = 0, next = 0;
    ASSERT_EQ(bpf_map_get_next_key(http.fd, nullptr, &next), 0) << "one route counted";
    key = next;
    EXPECT_EQ(key % DFAAS_STAT_PATHS, uint32_t(DFAAS_STAT_LOCAL));
    std::vector<dfaas_http_stats> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
    ASSERT_EQ(bpf_map_lookup_elem(http.fd, &key, per_cpu.data()), 0);
    uint64_t ok_count = 0, timed = 0;
    for (const auto &v : per_cpu) {
        ok_count += v.codes[DFAAS_HTTP_CODE_200];
        for (auto b : v.buckets)
            timed += b;
    }
    EXPECT_EQ(ok_count, 1u);
    EXPECT_EQ(timed, 1u) << "the migrated entry's HTTP fields started at zero";
}

TEST_F(Upgrade, PinnedMapOfAnUnknownLayoutIsRefusedByName) {
    // A layout no migration knows: the conntrack value of an imaginary older release.
    std::vector<PinnedLayout> layouts(std::begin(kAbi2Maps), std::end(kAbi2Maps));
    for (auto &l : layouts)
        if (std::string(l.name) == "dfaas_ct") l.value_size = 48;
    switch_to_previous_layout(layouts);
    try {
        dp_ = attach_current();
        FAIL() << "expected the pinned dfaas_ct to be refused";
    } catch (const dp::Error &e) {
        std::string what = e.what();
        EXPECT_NE(what.find(abi2_dir() + "/dfaas_ct "), std::string::npos) << what;
        EXPECT_NE(what.find("value 48 B"), std::string::npos) << what;
        EXPECT_NE(what.find("no migration"), std::string::npos) << what;
    }
    // Refused before anything changed: the ABI 2 pins are as they were, no programs attached.
    EXPECT_EQ(pinned_max_entries(abi2_dir() + "/dfaas_reasons"), kAbi2Reasons);
    Fd cfg(bpf_obj_get((abi2_dir() + "/dfaas_config").c_str()));
    ASSERT_GE(cfg.fd, 0);
    uint32_t zero = 0;
    dfaas_config config{};
    ASSERT_EQ(bpf_map_lookup_elem(cfg.fd, &zero, &config), 0);
    EXPECT_EQ(config.abi_version, 2u);
}

}  // namespace
}  // namespace dfaas::test
