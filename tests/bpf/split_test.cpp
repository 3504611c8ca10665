// The exact weighted split (issue 17 item 3): new connections of a function walk its selection
// tables in smooth weighted round robin order (bpf/lib/select.h), so over every window of 100
// consecutive new connections each target gets its weight +-1, whatever the client tuples. A
// tuple-hash pick gives a binomial split instead (+-10 and more at 60/40). Retransmitted SYNs
// follow their conntrack entry and take no slot.
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "harness.h"

namespace dfaas::test {
namespace {

enum class Target { Local, PeerB, PeerC, Reject, Other };

const char *name_of(Target t) {
    switch (t) {
        case Target::Local:
            return "local";
        case Target::PeerB:
            return "peer B";
        case Target::PeerC:
            return "peer C";
        case Target::Reject:
            return "reject";
        default:
            return "other";
    }
}

Target target_of(const RunResult &r) {
    if (r.retval == 0 && !r.parsed.outer && r.parsed.ip.dst == kGateway.addr) return Target::Local;
    if (r.retval == kRedirect && r.parsed.outer && r.parsed.outer->dst == kPeerB)
        return Target::PeerB;
    if (r.retval == kRedirect && r.parsed.outer && r.parsed.outer->dst == kPeerC)
        return Target::PeerC;
    if (r.retval == kRedirect && (r.parsed.tcp.flags & kRst)) return Target::Reject;
    return Target::Other;
}

constexpr int kConnections = 1000;
constexpr size_t kWindow = 100;

class Split : public DataplaneTest {
  protected:
    // The policy value figlet's policy was compiled into, as the programs read it.
    dfaas_policy installed_value() {
        auto id = dp().function_id("figlet");
        EXPECT_TRUE(id.has_value());
        int fd = bpf_obj_get((bpffs() + "/dfaas_policies").c_str());
        EXPECT_GE(fd, 0);
        dfaas_policy value{};
        uint32_t key = id.value_or(0);
        EXPECT_EQ(bpf_map_lookup_elem_flags(fd, &key, &value, BPF_F_LOCK), 0);
        close(fd);
        return value;
    }

    Target target_of_slot(const dfaas_slot &s) {
        if (s.action == DFAAS_ACTION_LOCAL) return Target::Local;
        if (s.action == DFAAS_ACTION_REJECT) return Target::Reject;
        if (s.action != DFAAS_ACTION_PEER) return Target::Other;
        for (const auto &p : dp().peers())
            if (p.index == s.peer) return p.addr == kPeerB ? Target::PeerB : Target::PeerC;
        return Target::Other;
    }

    // `n` new connections from distinct client ports; every third one's SYN is sent again (a
    // retransmission), which must reach the same target. Not after an RST: the client gives up
    // then, and a SYN on that tuple again is a new connection (it takes a slot).
    std::vector<Target> connect(int n, uint16_t first_port, bool complete_local = false) {
        std::vector<Target> got;
        for (int i = 0; i < n; ++i) {
            auto syn = user_syn(static_cast<uint16_t>(first_port + i));
            auto t = target_of(ingress(syn.frame()));
            if (i % 3 == 0 && t != Target::Reject) {
                auto again = target_of(ingress(syn.frame()));
                EXPECT_EQ(again, t) << "retransmitted SYN of connection " << i << " went to "
                                    << name_of(again) << ", not " << name_of(t);
            }
            if (complete_local && t == Target::Local) complete_handshake(syn);
            got.push_back(t);
        }
        return got;
    }

    // Every window of kWindow consecutive picks holds each target its weight's share +-1.
    static void expect_windows_within_one(const std::vector<Target> &picks,
                                          const std::map<Target, uint32_t> &weights) {
        uint32_t total = 0;
        for (const auto &[t, w] : weights)
            total += w;
        ASSERT_GE(picks.size(), kWindow);
        for (size_t start = 0; start + kWindow <= picks.size(); ++start) {
            std::map<Target, int> count;
            for (size_t i = start; i < start + kWindow; ++i)
                ++count[picks[i]];
            for (const auto &[t, w] : weights) {
                double want = double(kWindow) * w / total;
                double off = std::abs(count[t] - want);
                ASSERT_LE(off, 1.0)
                    << name_of(t) << " got " << count[t] << " of connections " << start << ".."
                    << start + kWindow - 1 << ", weight " << w << " of " << total;
            }
            ASSERT_EQ(count[Target::Other], 0) << "a pick went nowhere in window " << start;
        }
    }

    // The k-th pick is slot k % len of the table: one slot per new connection, none per
    // retransmission, in the compiled order.
    void expect_table_order(const std::vector<Target> &picks, const dfaas_slot *table,
                            uint32_t len) {
        ASSERT_GT(len, 0u);
        for (size_t k = 0; k < picks.size(); ++k)
            ASSERT_EQ(picks[k], target_of_slot(table[k % len]))
                << "pick " << k << " is " << name_of(picks[k]) << ", slot " << k % len << " of "
                << len << " says " << name_of(target_of_slot(table[k % len]));
    }
};

TEST_F(Split, SixtyFortyLocalPeerIsExactOverEveryHundred) {
    FunctionPolicy p;
    p.local = 60;
    p.peers[kPeerB] = 40;
    install_figlet(p);
    auto picks = connect(kConnections, 20000);
    expect_windows_within_one(picks, {{Target::Local, 60}, {Target::PeerB, 40}});
    auto v = installed_value();
    EXPECT_EQ(v.table_len, 5u);
    expect_table_order(picks, v.table, v.table_len);
    EXPECT_EQ(reason("syn_new"), uint64_t(kConnections)) << "a retransmission counted as new";
}

TEST_F(Split, ThirtyThreeThirtyThreeThirtyFourLocalPeerReject) {
    FunctionPolicy p;
    p.local = 33;
    p.peers[kPeerB] = 33;
    p.reject = 34;
    install_figlet(p);
    auto picks = connect(kConnections, 21000);
    expect_windows_within_one(picks,
                              {{Target::Local, 33}, {Target::PeerB, 33}, {Target::Reject, 34}});
    auto v = installed_value();
    EXPECT_EQ(v.table_len, 100u);
    expect_table_order(picks, v.table, v.table_len);
}

TEST_F(Split, ThirtyThreeThirtyThreeThirtyFourTwoPeersAndLocal) {
    FunctionPolicy p;
    p.local = 34;
    p.peers[kPeerB] = 33;
    p.peers[kPeerC] = 33;
    install_figlet(p);
    auto picks = connect(kConnections, 22000);
    expect_windows_within_one(picks,
                              {{Target::Local, 34}, {Target::PeerB, 33}, {Target::PeerC, 33}});
    auto v = installed_value();
    expect_table_order(picks, v.table, v.table_len);
}

TEST_F(Split, OneNinetyNineSendsExactlyOneInEveryHundredLocal) {
    FunctionPolicy p;
    p.local = 1;
    p.peers[kPeerB] = 99;
    install_figlet(p);
    auto picks = connect(kConnections, 23000);
    expect_windows_within_one(picks, {{Target::Local, 1}, {Target::PeerB, 99}});
    EXPECT_EQ(std::count(picks.begin(), picks.end(), Target::Local), kConnections / 100);
}

// Local cap reached: the overflow table has its own sequence, as exact as the weighted one.
// Counted over the overflow picks only (a local pick may be admitted again when the one-second
// window slides).
TEST_F(Split, OverflowTableIsExactOverEveryHundredOverflowPicks) {
    FunctionPolicy p;
    p.local = 100;
    p.local_cap = 1;
    p.overflow[kPeerB] = 60;
    p.overflow[kPeerC] = 40;
    install_figlet(p);
    auto picks = connect(kConnections, 24000, true);
    std::vector<Target> overflow;
    for (auto t : picks)
        if (t != Target::Local) overflow.push_back(t);
    ASSERT_GE(overflow.size(), size_t(kConnections) * 9 / 10);
    expect_windows_within_one(overflow, {{Target::PeerB, 60}, {Target::PeerC, 40}});
    auto v = installed_value();
    EXPECT_EQ(v.overflow_len, 5u);
    expect_table_order(overflow, v.overflow, v.overflow_len);
    EXPECT_EQ(reason("local_cap_overflow"), overflow.size());
}

// A policy value with no length (not written by this ABI's control library): the programs read
// all DFAAS_SELECT_SLOTS slots, which repeat the cycle, so the split still follows the weights.
TEST_F(Split, ATableLengthOfZeroReadsTheWholeTable) {
    FunctionPolicy p;
    p.local = 60;
    p.peers[kPeerB] = 40;
    install_figlet(p);
    auto v = installed_value();
    v.table_len = 0;
    auto id = dp().function_id("figlet");
    ASSERT_TRUE(id);
    int fd = bpf_obj_get((bpffs() + "/dfaas_policies").c_str());
    ASSERT_GE(fd, 0);
    uint32_t key = *id;
    ASSERT_EQ(bpf_map_update_elem(fd, &key, &v, BPF_F_LOCK), 0);
    close(fd);
    auto picks = connect(300, 25000);
    expect_table_order(picks, v.table, DFAAS_SELECT_SLOTS);
    auto first = std::vector<Target>(picks.begin(), picks.begin() + 255);
    expect_windows_within_one(first, {{Target::Local, 60}, {Target::PeerB, 40}});
}

}  // namespace
}  // namespace dfaas::test
