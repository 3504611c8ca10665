// The policy compiler's selection tables: smooth weighted round robin order, one cycle long.
// The data plane reads slot seq % length (bpf/lib/select.h), so what these tables hold is the
// split new connections get; tests/bpf/split_test.cpp checks the same through the programs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy_compiler.h"

namespace dfaas::dp {
namespace {

const Ipv4 kB = *Ipv4::parse("10.0.0.2");
const Ipv4 kC = *Ipv4::parse("10.0.0.3");
const Ipv4 kD = *Ipv4::parse("10.0.0.4");

// Peer index = last byte of the address.
std::optional<uint32_t> index_of(Ipv4 addr) {
    return addr.str() == "10.0.0.2"   ? 2u
           : addr.str() == "10.0.0.3" ? 3u
           : addr.str() == "10.0.0.4" ? 4u
                                      : std::optional<uint32_t>{};
}

// One letter per slot: L local, R reject, a digit the peer index.
std::string spell(const dfaas_slot (&table)[DFAAS_SELECT_SLOTS], uint32_t len) {
    std::string out;
    for (uint32_t i = 0; i < len; ++i) {
        const auto &s = table[i];
        out += s.action == DFAAS_ACTION_LOCAL    ? 'L'
               : s.action == DFAAS_ACTION_REJECT ? 'R'
               : s.action == DFAAS_ACTION_PEER   ? static_cast<char>('0' + s.peer)
                                                 : '?';
    }
    return out;
}

// The picks a data plane makes: slot seq % len for seq = 0.. n-1.
std::string picks(const dfaas_slot (&table)[DFAAS_SELECT_SLOTS], uint32_t len, uint32_t n) {
    std::string cycle = spell(table, len), out;
    for (uint32_t i = 0; i < n; ++i)
        out += cycle[i % len];
    return out;
}

// Largest deviation, over every window of `window` consecutive picks, of a target's count from
// its exact share `window * weight / total`.
double worst_window_error(const std::string &seq, uint32_t window,
                          const std::map<char, uint32_t> &weights) {
    uint32_t total = 0;
    for (const auto &[c, w] : weights)
        total += w;
    double worst = 0;
    for (size_t start = 0; start + window <= seq.size(); ++start) {
        for (const auto &[c, w] : weights) {
            auto n = std::count(seq.begin() + start, seq.begin() + start + window, c);
            worst = std::max(worst, std::abs(double(n) - double(window) * w / total));
        }
    }
    return worst;
}

dfaas_policy compile(const FunctionPolicy &p) {
    return compile_policy(p, index_of);
}

TEST(PolicyCompiler, SixtyFortyIsACycleOfFiveInSmoothOrder) {
    FunctionPolicy p;
    p.local = 60;
    p.peers[kB] = 40;
    auto v = compile(p);
    EXPECT_EQ(v.table_len, 5u);
    // Smooth WRR of 3 and 2 (weights over their gcd, 20): L 2 L 2 L, not L L L 2 2.
    EXPECT_EQ(spell(v.table, v.table_len), "L2L2L");
    // The slots after the cycle repeat it (a reader of all 256 slots still follows the weights).
    EXPECT_EQ(spell(v.table, DFAAS_SELECT_SLOTS), picks(v.table, 5, DFAAS_SELECT_SLOTS));
    auto seq = picks(v.table, v.table_len, 1000);
    EXPECT_EQ(worst_window_error(seq, 100, {{'L', 60}, {'2', 40}}), 0.0);
    EXPECT_LT(worst_window_error(seq, 10, {{'L', 60}, {'2', 40}}), 1.0);
}

TEST(PolicyCompiler, ThirtyThreeThirtyThreeThirtyFourIsExactOverEveryHundred) {
    FunctionPolicy p;
    p.local = 33;
    p.peers[kB] = 33;
    p.reject = 34;
    auto v = compile(p);
    EXPECT_EQ(v.table_len, 100u);
    auto cycle = spell(v.table, v.table_len);
    EXPECT_EQ(std::count(cycle.begin(), cycle.end(), 'L'), 33);
    EXPECT_EQ(std::count(cycle.begin(), cycle.end(), '2'), 33);
    EXPECT_EQ(std::count(cycle.begin(), cycle.end(), 'R'), 34);
    // Smooth: the largest target comes first (ties to the earlier one), no target twice in a row.
    EXPECT_EQ(cycle.substr(0, 3), "RL2");
    for (size_t i = 1; i < cycle.size(); ++i)
        EXPECT_NE(cycle[i], cycle[i - 1]) << "at " << i << ": " << cycle;
    auto seq = picks(v.table, v.table_len, 1000);
    EXPECT_EQ(worst_window_error(seq, 100, {{'L', 33}, {'2', 33}, {'R', 34}}), 0.0);
    EXPECT_LT(worst_window_error(seq, 7, {{'L', 33}, {'2', 33}, {'R', 34}}), 1.0);
}

TEST(PolicyCompiler, OneNinetyNineSpreadsTheOneOverTheCycle) {
    FunctionPolicy p;
    p.local = 1;
    p.peers[kB] = 99;
    auto v = compile(p);
    EXPECT_EQ(v.table_len, 100u);
    auto cycle = spell(v.table, v.table_len);
    EXPECT_EQ(std::count(cycle.begin(), cycle.end(), 'L'), 1);
    // The one local pick sits in the middle of the cycle (SWRR), not at its start.
    EXPECT_EQ(cycle.find('L'), 49u) << cycle;
    EXPECT_EQ(worst_window_error(picks(v.table, 100, 1000), 100, {{'L', 1}, {'2', 99}}), 0.0);
}

TEST(PolicyCompiler, AHundredAndZeroIsOneSlot) {
    FunctionPolicy p;
    p.local = 100;
    p.peers[kB] = 0;  // drained: named, no slot
    auto v = compile(p);
    EXPECT_EQ(v.table_len, 1u);
    EXPECT_EQ(spell(v.table, DFAAS_SELECT_SLOTS), std::string(DFAAS_SELECT_SLOTS, 'L'));
    EXPECT_EQ(v.peers_named, 1u << 2);
    // No overflow peer: the overflow table is one reject slot.
    EXPECT_EQ(v.overflow_len, 1u);
    EXPECT_EQ(v.overflow_reject, 1u);
    EXPECT_EQ(spell(v.overflow, 1), "R");
}

TEST(PolicyCompiler, ManyPeersReduceByTheirGcd) {
    FunctionPolicy p;  // three peers and local
    p.local = 40;
    p.peers[kB] = 20;
    p.peers[kC] = 20;
    p.peers[kD] = 20;
    auto v = compile(p);
    EXPECT_EQ(v.table_len, 5u);  // 100 / 20
    EXPECT_EQ(spell(v.table, v.table_len), "L234L");
    std::map<char, uint32_t> w{{'L', 40}, {'2', 20}, {'3', 20}, {'4', 20}};
    EXPECT_EQ(worst_window_error(picks(v.table, 5, 1000), 100, w), 0.0);
}

TEST(PolicyCompiler, WeightsNotSummingToAHundredKeepTheirProportions) {
    FunctionPolicy p;
    p.local = 60;
    p.peers[kB] = 7;
    p.peers[kC] = 7;
    p.peers[kD] = 33;
    auto v = compile(p);
    EXPECT_EQ(v.table_len, 107u);
    auto seq = picks(v.table, v.table_len, 1070);
    EXPECT_EQ(worst_window_error(seq, 107, {{'L', 60}, {'2', 7}, {'3', 7}, {'4', 33}}), 0.0);
    // A window of 100 is not a whole cycle: each count is within one connection of its
    // fractional share rounded either way (e.g. 30.84 for the 33: 29..32).
    EXPECT_LT(worst_window_error(seq, 100, {{'L', 60}, {'2', 7}, {'3', 7}, {'4', 33}}), 2.0);
}

TEST(PolicyCompiler, ACycleLongerThanTheTableIsScaledToItByLargestRemainder) {
    std::vector<WeightedSlot> targets;
    // 17 targets of weights 100, 99, ..., 84: total 1564, gcd 1 -> the cycle would be 1564.
    for (uint32_t i = 0; i < 17; ++i)
        targets.push_back({dfaas_slot{DFAAS_ACTION_PEER, static_cast<uint8_t>(i)}, 100 - i});
    dfaas_slot table[DFAAS_SELECT_SLOTS];
    ASSERT_EQ(fill_slots(targets, table), uint32_t(DFAAS_SELECT_SLOTS));
    for (uint32_t i = 0; i < 17; ++i) {
        auto n = std::count_if(std::begin(table), std::end(table),
                               [&](const dfaas_slot &s) { return s.peer == i; });
        double share = 256.0 * (100 - i) / 1564;
        EXPECT_LT(std::abs(double(n) - share), 1.0) << "peer " << i;
    }
}

TEST(PolicyCompiler, OverflowTableIsLaidOutTheSameWay) {
    FunctionPolicy p;
    p.local = 100;
    p.local_cap = 10;
    p.overflow[kB] = 50;
    p.overflow[kC] = 25;
    p.overflow[kD] = 25;
    auto v = compile(p);
    EXPECT_EQ(v.overflow_len, 4u);
    EXPECT_EQ(v.overflow_reject, 0u);
    EXPECT_EQ(spell(v.overflow, 4), "2342");
    EXPECT_EQ(spell(v.overflow, DFAAS_SELECT_SLOTS), picks(v.overflow, 4, DFAAS_SELECT_SLOTS));
    EXPECT_EQ(
        worst_window_error(picks(v.overflow, 4, 1000), 100, {{'2', 50}, {'3', 25}, {'4', 25}}),
        0.0);
}

TEST(PolicyCompiler, AllZeroWeightsLeaveTheTableAndReturnZero) {
    std::vector<WeightedSlot> targets{{dfaas_slot{DFAAS_ACTION_LOCAL, 0}, 0}};
    dfaas_slot table[DFAAS_SELECT_SLOTS] = {};
    table[0].action = DFAAS_ACTION_PEER;
    EXPECT_EQ(fill_slots(targets, table), 0u);
    EXPECT_EQ(table[0].action, DFAAS_ACTION_PEER);
}

// The loader migrates ABI 3 policies with lay_out_tables: from the stored weights alone it
// rebuilds what compile_policy built.
TEST(PolicyCompiler, LayingOutAgainFromStoredWeightsGivesTheCompiledTables) {
    FunctionPolicy p;
    p.local = 50;
    p.peers[kB] = 30;
    p.reject = 20;
    p.overflow[kC] = 1;
    auto v = compile(p);
    auto again = v;
    std::memset(again.table, 0, sizeof(again.table));
    std::memset(again.overflow, 0, sizeof(again.overflow));
    again.table_len = again.overflow_len = 0;
    lay_out_tables(again);
    EXPECT_EQ(again.table_len, v.table_len);
    EXPECT_EQ(again.overflow_len, v.overflow_len);
    EXPECT_EQ(spell(again.table, DFAAS_SELECT_SLOTS), spell(v.table, DFAAS_SELECT_SLOTS));
    EXPECT_EQ(spell(again.overflow, DFAAS_SELECT_SLOTS), spell(v.overflow, DFAAS_SELECT_SLOTS));
    EXPECT_EQ(v.table_len, 10u);
}

}  // namespace
}  // namespace dfaas::dp
