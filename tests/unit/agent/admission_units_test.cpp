// Issue 14, "peer killed / partitioned and back": a node forwards to a peer only what that peer
// admits. A Recalc peer refuses what this node forwards until it has computed this node's
// limit_in (0 until it heard this node's limits), so this node forwards to it only once the
// peer's limits for this node, sent since it (re)joined, admit the function; and a node raises
// the limit_in it promises before the promise leaves. Pure pieces of peer_link.h, and the
// rejoin sequence through a real peers::Membership.
#include <gtest/gtest.h>

#include "../peers/support.h"
#include "peer_link.h"

namespace dfaas::agent {
namespace {

using peers::testing::envelope_from;
using peers::testing::heartbeat;
using peers::testing::ip;
using peers::testing::kNow;
using strategy::Instant;
using strategy::Millis;

const Millis kTtl{2400};  // Recalc's 1.2 x a period of 2 s, as in the fault suite
const char *kRecalc = "recalc";

PeerView member_view(const std::string &id, const char *address, const std::string &strategy,
                     Instant joined) {
    PeerView view;
    view.id = id;
    view.address = ip(address);
    view.strategy = strategy;
    view.joined = joined;
    return view;
}

strategy::PeerEntry entry_with_limits(const std::string &id, const char *address,
                                      std::map<std::string, double> limits, Instant sent,
                                      Instant last_seen) {
    strategy::PeerEntry entry;
    entry.id = id;
    entry.address = ip(address);
    entry.last_seen = last_seen;
    entry.recalc_limit_out = strategy::Received<std::map<std::string, double>>{limits, sent};
    return entry;
}

// The operator's override of the fault suite: half of node a's figlet goes to node b.
FunctionPolicy half_to(const char *peer) {
    FunctionPolicy policy;
    policy.local = 50;
    policy.peers[ip(peer)] = 50;
    return policy;
}

TEST(PeerAdmission, ARecalcPeerWithoutLimitsForThisNodeAdmitsNothing) {
    const auto joined = kNow;
    strategy::PeerTable table("node-a", kTtl);
    auto admissions =
        plan_peer_admissions({member_view("node-b", "10.0.0.2", kRecalc, joined)}, table, kNow);
    ASSERT_EQ(admissions.count(ip("10.0.0.2")), 1u);
    EXPECT_EQ(admissions.at(ip("10.0.0.2")), PeerAdmission::none());
    EXPECT_FALSE(admissions.at(ip("10.0.0.2")).admits("figlet"));
}

TEST(PeerAdmission, LimitsSentSinceTheRejoinAdmitWhatIsAboveZero) {
    const auto joined = kNow;
    strategy::PeerTable table(
        "node-a", kTtl,
        {entry_with_limits("node-b", "10.0.0.2", {{"figlet", 12.0}, {"shasum", 0.0}},
                           joined + Millis{300}, joined + Millis{300})});
    auto admissions = plan_peer_admissions({member_view("node-b", "10.0.0.2", kRecalc, joined)},
                                           table, joined + Millis{500});
    const auto &b = admissions.at(ip("10.0.0.2"));
    EXPECT_TRUE(b.admits("figlet"));
    EXPECT_FALSE(b.admits("shasum"));  // its limit_in for this node is 0: it refuses
    EXPECT_TRUE(b.admits("env"));      // not managed by its Recalc: the data plane default
}

TEST(PeerAdmission, LimitsFromBeforeTheRejoinOrStaleAdmitNothing) {
    const auto joined = kNow;
    // Limits received before the member (re)joined describe a limit_in it no longer enforces.
    strategy::PeerTable before("node-a", kTtl,
                               {entry_with_limits("node-b", "10.0.0.2", {{"figlet", 12.0}},
                                                  joined - Millis{100}, joined + Millis{100})});
    EXPECT_EQ(plan_peer_admissions({member_view("node-b", "10.0.0.2", kRecalc, joined)}, before,
                                   joined + Millis{200})
                  .at(ip("10.0.0.2")),
              PeerAdmission::none());
    // Limits older than the TTL (it stopped sending them) no longer count either.
    strategy::PeerTable stale("node-a", kTtl,
                              {entry_with_limits("node-b", "10.0.0.2", {{"figlet", 12.0}},
                                                 joined + Millis{100}, joined + Millis{3000})});
    EXPECT_EQ(plan_peer_admissions({member_view("node-b", "10.0.0.2", kRecalc, joined)}, stale,
                                   joined + Millis{3000})
                  .at(ip("10.0.0.2")),
              PeerAdmission::none());
}

// The values change every period; only a change of what is admitted may reinstall policies.
TEST(PeerAdmission, NewValuesWithTheSameAdmissionAreNoChange) {
    EXPECT_EQ(PeerAdmission::announced({{"figlet", 5.0}, {"shasum", 0.0}}),
              PeerAdmission::announced({{"figlet", 9.0}, {"shasum", 0.0}}));
    EXPECT_NE(PeerAdmission::announced({{"figlet", 5.0}}),
              PeerAdmission::announced({{"figlet", 0.0}}));
    EXPECT_NE(PeerAdmission::announced({}), PeerAdmission::none());
}

TEST(PeerAdmission, PeersThatSetNoLimitInAndProvisionalOnesAdmitEverything) {
    strategy::PeerTable table("node-a", kTtl);
    auto static_peer = member_view("node-c", "10.0.0.3", "static", kNow);
    auto restored = member_view("restored@10.0.0.4", "10.0.0.4", "", kNow);
    restored.provisional = true;
    auto admissions = plan_peer_admissions({static_peer, restored}, table, kNow);
    EXPECT_TRUE(admissions.at(ip("10.0.0.3")).admits("figlet"));
    EXPECT_TRUE(admissions.at(ip("10.0.0.4")).admits("figlet"));
}

TEST(PeerAdmission, AnOverrideNeverSendsToAPeerThatWouldRefuse) {
    PeerAdmissions admissions{{ip("10.0.0.2"), PeerAdmission::none()}};
    FunctionPolicy policy = half_to("10.0.0.2");
    policy.overflow[ip("10.0.0.2")] = 10;
    policy.limit_in[ip("10.0.0.2")] = 7;
    EXPECT_TRUE(drop_refusing_peers("figlet", policy, admissions));
    EXPECT_TRUE(policy.peers.empty());
    EXPECT_TRUE(policy.overflow.empty());
    EXPECT_EQ(policy.local, 50u);  // the rest of the policy: all of it local now
    EXPECT_EQ(policy.limit_in.at(ip("10.0.0.2")), 7u);  // what b sends here is another matter
    EXPECT_FALSE(policy.validate());

    // An address that is no authorized member admits nothing either.
    FunctionPolicy unknown = half_to("10.0.0.9");
    EXPECT_TRUE(drop_refusing_peers("figlet", unknown, admissions));
    EXPECT_TRUE(unknown.peers.empty());

    // Once its limits admit the function, the override applies in full again.
    admissions.insert_or_assign(ip("10.0.0.2"), PeerAdmission::announced({{"figlet", 5.0}}));
    FunctionPolicy admitted = half_to("10.0.0.2");
    EXPECT_FALSE(drop_refusing_peers("figlet", admitted, admissions));
    EXPECT_EQ(admitted, half_to("10.0.0.2"));
}

// The sequence the fault suite measures: b is a member with limits, dies (TTL), comes back.
// Until b sends limits for this node again, nothing of a's override goes to b.
TEST(PeerAdmission, AfterARejoinTheOverrideWaitsForTheRejoinedPeersLimits) {
    peers::MembershipSettings settings;
    settings.self_id = "node-a";
    settings.self = *Endpoint::parse("10.0.0.1:30090");
    settings.ttl = kTtl;
    settings.retry_base = Millis{1000};
    settings.retry_max = Millis{8000};
    peers::Membership membership(settings);
    auto receive = [&](peers::Body body, Instant at, uint64_t seq) {
        auto envelope = envelope_from("node-b", "10.0.0.2:30090", std::move(body), seq, at);
        ASSERT_TRUE(membership.receive(envelope, at, envelope.sender_ip).accepted);
    };
    auto admissions_at = [&](Instant at) {
        std::vector<PeerView> views;
        for (const auto *m : membership.authorized(at)) {
            PeerView view;
            view.id = m->id;
            view.address = m->endpoint.addr;
            view.strategy = m->heartbeat.strategy;
            view.joined = m->joined;
            views.push_back(view);
        }
        return plan_peer_admissions(views, membership.table(), at);
    };
    auto forwarded_share = [&](Instant at) {
        FunctionPolicy policy = half_to("10.0.0.2");
        drop_refusing_peers("figlet", policy, admissions_at(at));
        return policy.peers.count(ip("10.0.0.2")) ? policy.peers.at(ip("10.0.0.2")) : 0u;
    };

    receive(heartbeat(), kNow, 1);
    EXPECT_EQ(forwarded_share(kNow), 0u);  // a member, but no limits for us yet
    receive(peers::to_body(strategy::RecalcLimits{{{"figlet", 10.0}}}), kNow + Millis{100}, 2);
    EXPECT_EQ(forwarded_share(kNow + Millis{200}), 50u);

    // b's agent is killed: silent for longer than the TTL, it leaves.
    const Instant gone = kNow + Millis{5000};
    EXPECT_FALSE(membership.expire(gone).empty());
    EXPECT_EQ(forwarded_share(gone), 0u);

    // b's agent is back: its heartbeat makes it a member again at once, but it computed no
    // limit_in for us yet (it would refuse): nothing forwarded.
    const Instant back = gone + Millis{1000};
    receive(heartbeat(), back, 3);
    EXPECT_EQ(forwarded_share(back), 0u);
    // Its first limits still refuse figlet (it has not heard ours): nothing forwarded.
    receive(peers::to_body(strategy::RecalcLimits{{{"figlet", 0.0}}}), back + Millis{100}, 4);
    EXPECT_EQ(forwarded_share(back + Millis{100}), 0u);
    // Its limits after it heard ours admit figlet: the override applies in full.
    receive(peers::to_body(strategy::RecalcLimits{{{"figlet", 10.0}}}), back + Millis{600}, 5);
    EXPECT_EQ(forwarded_share(back + Millis{600}), 50u);
}

TEST(PromisedLimits, AreInstalledBeforeTheyAreSentAndNeverLowered) {
    auto address_of = [](const std::string &id) -> std::optional<Ipv4> {
        if (id == "node-b") return ip("10.0.0.2");
        if (id == "node-c") return ip("10.0.0.3");
        return std::nullopt;
    };
    PolicySet policies;
    policies["figlet"].limit_in = {{ip("10.0.0.2"), 0}, {ip("10.0.0.3"), 30}};
    policies["shasum"] = FunctionPolicy::all_local();  // no limit_in: the default admits
    std::vector<strategy::OutgoingMessage> messages{
        {"node-b", strategy::RecalcLimits{{{"figlet", 12.9}, {"shasum", 4.0}, {"gone", 3.0}}}},
        {"node-c", strategy::RecalcLimits{{{"figlet", 10.0}}}},  // lower: waits for step 2
        {"node-x", strategy::RecalcLimits{{{"figlet", 99.0}}}},  // not a member
        {std::nullopt, strategy::StaticInfo{{"figlet"}}},
    };
    EXPECT_TRUE(raise_promised_limits(policies, messages, address_of));
    EXPECT_EQ(policies["figlet"].limit_in.at(ip("10.0.0.2")), 12u);  // truncated, as Recalc
    EXPECT_EQ(policies["figlet"].limit_in.at(ip("10.0.0.3")), 30u);
    EXPECT_EQ(policies["figlet"].limit_in.size(), 2u);
    EXPECT_TRUE(policies["shasum"].limit_in.empty());
    EXPECT_EQ(policies.count("gone"), 0u);
    // The same promise again changes nothing.
    EXPECT_FALSE(raise_promised_limits(policies, messages, address_of));
}

}  // namespace
}  // namespace dfaas::agent
