#include "dfaas/peers/membership.h"

#include <gtest/gtest.h>

#include "support.h"

namespace dfaas::peers {
namespace {

using namespace testing;

const Millis kTtl{12000};

MembershipSettings settings_for(std::vector<Endpoint> seeds = {}) {
    MembershipSettings settings;
    settings.self_id = "me";
    settings.self = endpoint("10.0.0.9:30090");
    settings.seeds = std::move(seeds);
    settings.ttl = kTtl;
    settings.retry_base = Millis{1000};
    settings.retry_max = Millis{8000};
    return settings;
}

Envelope hello(const std::string &id, const char *address, std::vector<PeerRef> peers = {},
               std::vector<FunctionPort> functions = {{"figlet", 31001}}) {
    return envelope_from(id, address, heartbeat(std::move(functions), std::move(peers)));
}

Envelope strategy_message(const std::string &id, const char *address,
                          strategy::PeerMessage message) {
    return envelope_from(id, address, to_body(std::move(message)));
}

// A message from the address its sender claims (the identity check passes).
Admission receive_claimed(Membership &membership, const Envelope &envelope, Instant now) {
    return membership.receive(envelope, now, envelope.sender_ip);
}

std::vector<Endpoint> endpoints_of(const std::vector<Target> &targets) {
    std::vector<Endpoint> result;
    for (const auto &target : targets)
        result.push_back(target.endpoint);
    return result;
}

SendResult result_for(const Target &target, SendStatus status, std::string reason = "") {
    SendResult result;
    result.target = target;
    result.status = status;
    result.reason = std::move(reason);
    return result;
}

TEST(Membership, InvalidSettingsAreRefused) {
    auto settings = settings_for();
    settings.self_id = "bad id";
    EXPECT_THROW(Membership{settings}, Error);
    settings = settings_for();
    settings.self = endpoint("10.0.0.9:1");
    settings.self.addr = Ipv4{};
    EXPECT_THROW(Membership{settings}, Error);
    settings = settings_for();
    settings.ttl = Millis{0};
    EXPECT_THROW(Membership{settings}, Error);
    settings = settings_for();
    settings.retry_max = Millis{10};
    EXPECT_THROW(Membership{settings}, Error);
    settings = settings_for({Endpoint{}});
    EXPECT_THROW(Membership{settings}, Error);
    settings = settings_for();
    settings.max_members = kMaxGossipPeers + 1;
    EXPECT_THROW(Membership{settings}, Error);
}

TEST(Membership, AHeartbeatMakesAMemberAndFeedsThePeerTable) {
    Membership membership(settings_for());
    const Admission admission =
        receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow);
    ASSERT_TRUE(admission.accepted) << admission.rejection.detail;
    EXPECT_TRUE(admission.changed);
    const Member *member = membership.find("node-a");
    ASSERT_NE(member, nullptr);
    EXPECT_EQ(member->endpoint, endpoint("10.0.0.1:30090"));
    EXPECT_EQ(member->heartbeat.functions, (std::vector<FunctionPort>{{"figlet", 31001}}));
    EXPECT_EQ(member->joined, kNow);
    EXPECT_EQ(membership.state(*member, kNow), MemberState::Alive);

    const auto *entry = membership.table().find("node-a");
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->address, ip("10.0.0.1"));
    EXPECT_EQ(entry->member_functions, std::vector<std::string>{"figlet"});
    EXPECT_EQ(membership.table().ttl(), kTtl);
    EXPECT_EQ(membership.authorized(kNow).size(), 1u);

    // The same heartbeat again changes nothing the data plane needs; new functions do.
    Envelope again = hello("node-a", "10.0.0.1:30090");
    again.seq = 2;
    EXPECT_FALSE(receive_claimed(membership, again, kNow + Millis{1000}).changed);
    EXPECT_EQ(membership.find("node-a")->last_seen, kNow + Millis{1000});
    Envelope more = hello("node-a", "10.0.0.1:30090", {}, {{"figlet", 31001}, {"curl", 31005}});
    EXPECT_TRUE(receive_claimed(membership, more, kNow + Millis{2000}).changed);
    EXPECT_EQ(membership.table().find("node-a")->member_functions,
              (std::vector<std::string>{"curl", "figlet"}));
}

TEST(Membership, StrategyMessagesNeedAMemberAndRejectionsChangeNothing) {
    Membership membership(settings_for());
    const auto members_before = membership.members();
    const auto table_before = membership.table();
    const Admission refused = receive_claimed(
        membership, strategy_message("node-a", "10.0.0.1:30090", strategy::StaticInfo{{"figlet"}}),
        kNow);
    EXPECT_FALSE(refused.accepted);
    EXPECT_EQ(refused.rejection.reason, RejectReason::UnknownSender);
    EXPECT_NE(refused.rejection.detail.find("before any heartbeat"), std::string::npos);
    EXPECT_EQ(membership.members(), members_before);
    EXPECT_EQ(membership.table(), table_before);

    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow).accepted);
    const Admission applied = receive_claimed(
        membership,
        strategy_message("node-a", "10.0.0.1:30090", strategy::RecalcLimits{{{"figlet", 25}}}),
        kNow + Millis{100});
    EXPECT_TRUE(applied.accepted);
    EXPECT_FALSE(applied.ignored);
    const auto *entry = membership.table().find("node-a");
    ASSERT_TRUE(entry->recalc_limit_out.has_value());
    EXPECT_EQ(entry->recalc_limit_out->value.at("figlet"), 25.0);
    EXPECT_EQ(membership.find("node-a")->messages, 2u);
}

TEST(Membership, AMarginBeforeNodeInfoIsAcceptedButIgnored) {
    Membership membership(settings_for());
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow).accepted);
    const Admission admission = receive_claimed(
        membership, strategy_message("node-a", "10.0.0.1:30090", strategy::NmsMargin{30, {}}),
        kNow);
    EXPECT_TRUE(admission.accepted);
    EXPECT_TRUE(admission.ignored);
    EXPECT_FALSE(membership.table().find("node-a")->nms_margin.has_value());
}

TEST(Membership, OwnIdIsRefused) {
    Membership membership(settings_for());
    const Admission admission = receive_claimed(membership, hello("me", "10.0.0.7:30090"), kNow);
    EXPECT_EQ(admission.rejection.reason, RejectReason::SelfSender);
    EXPECT_TRUE(membership.members().empty());
}

TEST(Membership, GossipTurnsIntoCandidatesAndCandidatesIntoMembers) {
    Membership membership(settings_for({endpoint("10.0.0.1:30090"), endpoint("10.0.0.9:30090")}));
    // Before anyone spoke: the seeds, except this node's own endpoint.
    auto targets = membership.heartbeat_targets(kNow);
    ASSERT_EQ(targets.size(), 1u);
    EXPECT_EQ(targets[0].kind, TargetKind::Seed);
    EXPECT_FALSE(targets[0].id.has_value());

    // The seed answers with its heartbeat: it knows node-b, node-c and this node.
    ASSERT_TRUE(receive_claimed(membership,
                                hello("node-a", "10.0.0.1:30090",
                                      {{"node-b", endpoint("10.0.0.2:30090")},
                                       {"node-c", endpoint("10.0.0.3:30091")},
                                       {"me", endpoint("10.0.0.9:30090")}}),
                                kNow)
                    .accepted);
    EXPECT_EQ(membership.candidates().size(), 2u);
    targets = membership.heartbeat_targets(kNow);
    EXPECT_EQ(endpoints_of(targets),
              (std::vector<Endpoint>{endpoint("10.0.0.1:30090"), endpoint("10.0.0.2:30090"),
                                     endpoint("10.0.0.3:30091")}));
    EXPECT_EQ(targets[0].kind, TargetKind::Member);  // the seed is a member now, sent once
    EXPECT_EQ(targets[1].kind, TargetKind::Candidate);
    EXPECT_EQ(targets[1].id, "node-b");

    ASSERT_TRUE(receive_claimed(membership, hello("node-b", "10.0.0.2:30090"), kNow).accepted);
    EXPECT_EQ(membership.candidates().size(), 1u);
    EXPECT_EQ(membership.gossip_view(kNow),
              (std::vector<PeerRef>{{"node-a", endpoint("10.0.0.1:30090")},
                                    {"node-b", endpoint("10.0.0.2:30090")}}));
    // Gossip about a member does not override what the member says about itself.
    ASSERT_TRUE(
        receive_claimed(membership,
                        hello("node-a", "10.0.0.1:30090", {{"node-b", endpoint("10.0.0.99:1")}}),
                        kNow + Millis{1})
            .accepted);
    EXPECT_EQ(membership.find("node-b")->endpoint, endpoint("10.0.0.2:30090"));
    EXPECT_EQ(membership.candidates().count(endpoint("10.0.0.99:1")), 0u);
}

TEST(Membership, FailingSeedsAndCandidatesBackOffExponentially) {
    const Endpoint seed = endpoint("10.0.0.1:30090");
    Membership membership(settings_for({seed}));
    Target target = membership.heartbeat_targets(kNow).at(0);
    membership.record_delivery(result_for(target, SendStatus::Refused, "connection refused"), kNow);
    EXPECT_TRUE(membership.heartbeat_targets(kNow + Millis{999}).empty());
    EXPECT_EQ(membership.heartbeat_targets(kNow + Millis{1000}).size(), 1u);
    membership.record_delivery(result_for(target, SendStatus::Timeout), kNow + Millis{1000});
    EXPECT_TRUE(membership.heartbeat_targets(kNow + Millis{2999}).empty());
    EXPECT_EQ(membership.backoffs().at(seed), kNow + Millis{3000});
    for (int i = 0; i < 10; ++i)
        membership.record_delivery(result_for(target, SendStatus::Timeout), kNow);
    EXPECT_EQ(membership.backoffs().at(seed), kNow + Millis{8000});  // capped at retry_max
    membership.record_delivery(result_for(target, SendStatus::Ok), kNow);
    EXPECT_EQ(membership.heartbeat_targets(kNow).size(), 1u);
    EXPECT_TRUE(membership.backoffs().empty());

    // Members never back off: the TTL decides about them.
    ASSERT_TRUE(receive_claimed(membership, hello("node-b", "10.0.0.2:30090"), kNow).accepted);
    const Target member{endpoint("10.0.0.2:30090"), "node-b", TargetKind::Member};
    membership.record_delivery(result_for(member, SendStatus::Refused), kNow);
    EXPECT_EQ(membership.heartbeat_targets(kNow).size(), 2u);
}

TEST(Membership, AnEndpointThatIsThisNodeIsNeverContactedAgain) {
    const Endpoint alias = endpoint("127.0.0.1:30090");
    Membership membership(settings_for({alias}));
    const Target target = membership.heartbeat_targets(kNow).at(0);
    membership.record_delivery(result_for(target, SendStatus::HttpError, "self_sender"), kNow);
    EXPECT_TRUE(membership.heartbeat_targets(kNow + std::chrono::hours(1)).empty());
}

TEST(Membership, UnreachableUntilTheMemberSpeaksAgain) {
    Membership membership(settings_for());
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow).accepted);
    EXPECT_FALSE(membership.mark_unreachable("node-x", kNow));
    EXPECT_TRUE(membership.mark_unreachable("node-a", kNow + Millis{10}));
    const Member &member = *membership.find("node-a");
    EXPECT_EQ(membership.state(member, kNow + Millis{10}), MemberState::Unreachable);
    EXPECT_TRUE(membership.table().live(kNow + Millis{10}).empty());
    // Still authorized for forwarded-in traffic, still in the gossip view.
    EXPECT_EQ(membership.authorized(kNow + Millis{10}).size(), 1u);
    EXPECT_EQ(membership.gossip_view(kNow + Millis{10}).size(), 1u);
    Envelope again = hello("node-a", "10.0.0.1:30090");
    again.seq = 2;
    ASSERT_TRUE(receive_claimed(membership, again, kNow + Millis{500}).accepted);
    EXPECT_EQ(membership.state(*membership.find("node-a"), kNow + Millis{500}), MemberState::Alive);
    EXPECT_EQ(membership.table().live(kNow + Millis{500}).size(), 1u);
}

TEST(Membership, UnreachableHoldIgnoresMessagesSentTooSoon) {
    auto settings = settings_for();
    settings.unreachable_hold = Millis{3000};
    Membership membership(settings);
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow).accepted);
    membership.mark_unreachable("node-a", kNow);
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow + Millis{1000})
                    .accepted);
    EXPECT_EQ(membership.state(*membership.find("node-a"), kNow + Millis{1000}),
              MemberState::Unreachable);
    EXPECT_TRUE(membership.table().live(kNow + Millis{1000}).empty());
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow + Millis{3000})
                    .accepted);
    EXPECT_EQ(membership.state(*membership.find("node-a"), kNow + Millis{3000}),
              MemberState::Alive);
    EXPECT_EQ(membership.table().live(kNow + Millis{3000}).size(), 1u);
}

TEST(Membership, DeadMembersExpireAndBecomeCandidates) {
    Membership membership(settings_for());
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow).accepted);
    ASSERT_TRUE(receive_claimed(membership, hello("node-b", "10.0.0.2:30090"), kNow + Millis{5000})
                    .accepted);
    EXPECT_TRUE(membership.expire(kNow + kTtl).empty());
    const Instant later = kNow + kTtl + Millis{1};
    EXPECT_EQ(membership.state(*membership.find("node-a"), later), MemberState::Dead);
    EXPECT_EQ(membership.authorized(later).size(), 1u);
    EXPECT_EQ(membership.destinations(std::nullopt, later).size(), 1u);
    EXPECT_EQ(membership.expire(later), std::vector<std::string>{"node-a"});
    EXPECT_EQ(membership.find("node-a"), nullptr);
    EXPECT_EQ(membership.table().find("node-a"), nullptr);
    ASSERT_NE(membership.table().find("node-b"), nullptr);
    ASSERT_EQ(membership.candidates().count(endpoint("10.0.0.1:30090")), 1u);
    EXPECT_EQ(membership.candidates().at(endpoint("10.0.0.1:30090")).id, "node-a");
    // Forgotten after candidate_ttl (5 × ttl by default).
    membership.expire(later + 5 * kTtl + Millis{1});
    EXPECT_EQ(membership.candidates().count(endpoint("10.0.0.1:30090")), 0u);
}

TEST(Membership, DestinationsOfStrategyMessages) {
    Membership membership(settings_for());
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow).accepted);
    ASSERT_TRUE(receive_claimed(membership, hello("node-b", "10.0.0.2:30090"), kNow).accepted);
    membership.mark_unreachable("node-b", kNow);
    EXPECT_EQ(membership.destinations(std::nullopt, kNow).size(), 2u);
    const auto directed = membership.destinations(std::string("node-a"), kNow);
    ASSERT_EQ(directed.size(), 1u);
    EXPECT_EQ(directed[0].endpoint, endpoint("10.0.0.1:30090"));
    EXPECT_TRUE(membership.destinations(std::string("node-z"), kNow).empty());
}

TEST(Membership, TtlChangesReachThePeerTable) {
    Membership membership(settings_for());
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow).accepted);
    membership.set_ttl(Millis{20000});
    EXPECT_EQ(membership.table().ttl(), Millis{20000});
    EXPECT_EQ(membership.state(*membership.find("node-a"), kNow + Millis{15000}),
              MemberState::Alive);
    EXPECT_EQ(membership.table().live(kNow + Millis{15000}).size(), 1u);
    EXPECT_THROW(membership.set_ttl(Millis{0}), Error);
    EXPECT_EQ(membership.table().ttl(), Millis{20000});
}

TEST(Membership, MemberTableIsBounded) {
    auto settings = settings_for();
    settings.max_members = 1;
    Membership membership(settings);
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow).accepted);
    const Admission refused = receive_claimed(membership, hello("node-b", "10.0.0.2:30090"), kNow);
    EXPECT_EQ(refused.rejection.reason, RejectReason::Refused);
    EXPECT_EQ(membership.members().size(), 1u);
    EXPECT_EQ(membership.table().entries().size(), 1u);
}

// ---- identity binding (issue 14) ----------------------------------------------------------

TEST(Membership, AMemberSpeaksOnlyFromTheAddressItClaims) {
    Membership membership(settings_for());
    // A key holder at 10.0.0.66 claiming to be 10.0.0.1: the data plane would forward there.
    const Admission spoofed =
        membership.receive(hello("node-a", "10.0.0.1:30090"), kNow, ip("10.0.0.66"));
    EXPECT_FALSE(spoofed.accepted);
    EXPECT_EQ(spoofed.rejection.reason, RejectReason::SourceMismatch);
    EXPECT_NE(spoofed.rejection.detail.find("10.0.0.66"), std::string::npos);
    // No source known: refused as well, never trusted.
    EXPECT_EQ(
        membership.receive(hello("node-a", "10.0.0.1:30090"), kNow, std::nullopt).rejection.reason,
        RejectReason::SourceMismatch);
    EXPECT_TRUE(membership.members().empty());
    EXPECT_TRUE(membership.table().entries().empty());

    ASSERT_TRUE(
        membership.receive(hello("node-a", "10.0.0.1:30090"), kNow, ip("10.0.0.1")).accepted);
    // A member cannot move its address from another source either, nor send strategy messages
    // for another member.
    const Admission moved =
        membership.receive(hello("node-a", "10.0.0.2:30090"), kNow + Millis{1000}, ip("10.0.0.1"));
    EXPECT_EQ(moved.rejection.reason, RejectReason::SourceMismatch);
    EXPECT_EQ(membership.find("node-a")->endpoint, endpoint("10.0.0.1:30090"));
    const Admission forged = membership.receive(
        strategy_message("node-a", "10.0.0.1:30090", strategy::RecalcLimits{{{"figlet", 25}}}),
        kNow, ip("10.0.0.5"));
    EXPECT_EQ(forged.rejection.reason, RejectReason::SourceMismatch);
    EXPECT_FALSE(membership.table().find("node-a")->recalc_limit_out.has_value());
}

TEST(Membership, AddressesThatCanNeverBeAMemberAreRefused) {
    Membership membership(settings_for());  // this node is 10.0.0.9
    for (const char *address :
         {"10.0.0.9:30091", "127.0.0.1:30090", "127.3.4.5:30090", "169.254.10.1:30090",
          "224.0.0.251:30090", "239.1.2.3:30090", "255.255.255.255:30090", "240.0.0.1:30090"}) {
        const Envelope message = hello("node-x", address);
        const Admission admission = membership.receive(message, kNow, message.sender_ip);
        EXPECT_FALSE(admission.accepted) << address;
        EXPECT_EQ(admission.rejection.reason, RejectReason::BadAddress) << address;
    }
    EXPECT_TRUE(membership.members().empty());
    EXPECT_TRUE(membership.table().entries().empty());
    for (const char *address :
         {"127.0.0.1", "169.254.0.1", "224.0.0.1", "255.255.255.255", "0.0.0.0", "0.1.2.3"})
        EXPECT_TRUE(unusable_peer_address(ip(address)).has_value()) << address;
    for (const char *address : {"10.0.0.1", "192.168.1.1", "172.16.0.1", "8.8.8.8"})
        EXPECT_FALSE(unusable_peer_address(ip(address)).has_value()) << address;
}

TEST(Membership, GossipNeverMakesUnusableAddressesCandidates) {
    Membership membership(settings_for());
    ASSERT_TRUE(receive_claimed(membership,
                                hello("node-a", "10.0.0.1:30090",
                                      {{"node-self", endpoint("10.0.0.9:30095")},
                                       {"node-lo", endpoint("127.0.0.1:30090")},
                                       {"node-ll", endpoint("169.254.1.1:30090")},
                                       {"node-mc", endpoint("224.0.0.1:30090")},
                                       {"node-bc", endpoint("255.255.255.255:30090")},
                                       {"node-ok", endpoint("10.0.0.2:30090")}}),
                                kNow)
                    .accepted);
    ASSERT_EQ(membership.candidates().size(), 1u);
    EXPECT_EQ(membership.candidates().begin()->first, endpoint("10.0.0.2:30090"));
}

// ---- capacity: members beyond the data plane's peer slots (issue 14) ------------------------

std::vector<std::string> authorized_ids(const Membership &membership, Instant now) {
    std::vector<std::string> ids;
    for (const auto *member : membership.authorized(now))
        ids.push_back(member->id);
    return ids;
}

std::vector<std::string> table_ids(const Membership &membership) {
    std::vector<std::string> ids;
    for (const auto &[id, entry] : membership.table().entries())
        ids.push_back(id);
    return ids;
}

using Ids = std::vector<std::string>;

TEST(Membership, MembersBeyondTheSlotsAreKeptOverCapacity) {
    auto settings = settings_for();
    settings.max_active = 2;
    Membership membership(settings);
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow).accepted);
    ASSERT_TRUE(
        receive_claimed(membership, hello("node-b", "10.0.0.2:30090"), kNow + Millis{1}).accepted);
    // Accepted (a valid member, counted), but without a slot.
    const Admission third =
        receive_claimed(membership, hello("node-c", "10.0.0.3:30090"), kNow + Millis{2});
    ASSERT_TRUE(third.accepted);
    const Instant now = kNow + Millis{3};
    EXPECT_EQ(membership.members().size(), 3u);
    EXPECT_EQ(membership.state(*membership.find("node-c"), now), MemberState::OverCapacity);
    EXPECT_EQ(to_string(MemberState::OverCapacity), "over_capacity");
    EXPECT_EQ(membership.over_capacity(now), Ids{"node-c"});
    EXPECT_EQ(authorized_ids(membership, now), (Ids{"node-a", "node-b"}));
    EXPECT_EQ(table_ids(membership), (Ids{"node-a", "node-b"}));
    EXPECT_EQ(membership.destinations(std::nullopt, now).size(), 2u);
    // Its strategy messages are accepted and ignored: no strategy counts on it.
    const Admission limits = receive_claimed(
        membership,
        strategy_message("node-c", "10.0.0.3:30090", strategy::RecalcLimits{{{"figlet", 25}}}),
        now);
    EXPECT_TRUE(limits.accepted);
    EXPECT_TRUE(limits.ignored);
    EXPECT_EQ(membership.table().find("node-c"), nullptr);
    // Heartbeats keep it known (not dead) while it waits.
    ASSERT_TRUE(receive_claimed(membership, hello("node-c", "10.0.0.3:30090"), now).accepted);
    EXPECT_EQ(table_ids(membership), (Ids{"node-a", "node-b"}));
}

TEST(Membership, SlotsGoToSharedFunctionsThenHoldersThenTheOldest) {
    auto settings = settings_for();
    settings.max_active = 2;
    Membership membership(settings);
    membership.set_local_functions({"figlet", "echo"}, kNow);
    const std::vector<FunctionPort> unrelated{{"other", 31001}};
    const std::vector<FunctionPort> figlet{{"figlet", 31001}};
    const std::vector<FunctionPort> both{{"echo", 31002}, {"figlet", 31001}};
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090", {}, unrelated), kNow)
                    .accepted);
    ASSERT_TRUE(receive_claimed(membership, hello("node-b", "10.0.0.2:30090", {}, unrelated),
                                kNow + Millis{1})
                    .accepted);
    // No better than the holders (shares as little): waits, it displaces nobody.
    ASSERT_TRUE(receive_claimed(membership, hello("node-c", "10.0.0.3:30090", {}, unrelated),
                                kNow + Millis{2})
                    .accepted);
    EXPECT_EQ(authorized_ids(membership, kNow + Millis{3}), (Ids{"node-a", "node-b"}));
    // Shares a function: better than the youngest holder that shares none, which gives way.
    const Admission d = receive_claimed(membership, hello("node-d", "10.0.0.4:30090", {}, figlet),
                                        kNow + Millis{3});
    EXPECT_TRUE(d.changed);
    EXPECT_EQ(authorized_ids(membership, kNow + Millis{4}), (Ids{"node-a", "node-d"}));
    EXPECT_EQ(membership.over_capacity(kNow + Millis{4}), (Ids{"node-b", "node-c"}));
    EXPECT_EQ(table_ids(membership), (Ids{"node-a", "node-d"}));
    // Shares two: takes the slot of node-a (shares none), not of node-d.
    ASSERT_TRUE(
        receive_claimed(membership, hello("node-e", "10.0.0.5:30090", {}, both), kNow + Millis{4})
            .accepted);
    EXPECT_EQ(authorized_ids(membership, kNow + Millis{5}), (Ids{"node-d", "node-e"}));
    // Another one sharing one function: no better than node-d, which keeps its slot.
    ASSERT_TRUE(
        receive_claimed(membership, hello("node-f", "10.0.0.6:30090", {}, figlet), kNow + Millis{5})
            .accepted);
    EXPECT_EQ(authorized_ids(membership, kNow + Millis{6}), (Ids{"node-d", "node-e"}));
    // This node stops serving echo: node-e now shares one, like node-d and node-f; the holders
    // keep their slots.
    membership.set_local_functions({"figlet"}, kNow + Millis{6});
    EXPECT_EQ(authorized_ids(membership, kNow + Millis{7}), (Ids{"node-d", "node-e"}));
}

TEST(Membership, ADeadMembersSlotGoesToTheOldestWaiting) {
    auto settings = settings_for();
    settings.max_active = 2;
    Membership membership(settings);
    ASSERT_TRUE(receive_claimed(membership, hello("node-a", "10.0.0.1:30090"), kNow).accepted);
    ASSERT_TRUE(
        receive_claimed(membership, hello("node-b", "10.0.0.2:30090"), kNow + Millis{1}).accepted);
    ASSERT_TRUE(
        receive_claimed(membership, hello("node-d", "10.0.0.4:30090"), kNow + Millis{2}).accepted);
    ASSERT_TRUE(
        receive_claimed(membership, hello("node-c", "10.0.0.3:30090"), kNow + Millis{3}).accepted);
    EXPECT_EQ(membership.over_capacity(kNow + Millis{4}), (Ids{"node-c", "node-d"}));
    // node-a falls silent; the others keep talking.
    const Instant halfway = kNow + kTtl / 2;
    for (const auto &[id, address] :
         {std::pair{"node-b", "10.0.0.2:30090"}, std::pair{"node-c", "10.0.0.3:30090"},
          std::pair{"node-d", "10.0.0.4:30090"}})
        ASSERT_TRUE(receive_claimed(membership, hello(id, address), halfway).accepted);
    EXPECT_EQ(membership.over_capacity(halfway), (Ids{"node-c", "node-d"}));
    const Instant later = kNow + kTtl + Millis{100};
    EXPECT_EQ(membership.expire(later), Ids{"node-a"});
    // node-d joined before node-c: it gets the slot, and the peer table follows.
    EXPECT_EQ(authorized_ids(membership, later), (Ids{"node-b", "node-d"}));
    EXPECT_EQ(table_ids(membership), (Ids{"node-b", "node-d"}));
    EXPECT_EQ(membership.over_capacity(later), Ids{"node-c"});
    EXPECT_EQ(membership.table().live(later).size(), 2u);
}

TEST(Membership, FortyMembersForThirtyTwoSlots) {
    auto settings = settings_for();
    settings.max_active = 32;
    Membership membership(settings);
    for (int i = 1; i <= 40; ++i) {
        const std::string address = "10.1.0." + std::to_string(i) + ":30090";
        ASSERT_TRUE(receive_claimed(membership,
                                    hello("m-" + std::to_string(100 + i), address.c_str()),
                                    kNow + Millis{i})
                        .accepted);
    }
    const Instant now = kNow + Millis{100};
    EXPECT_EQ(membership.members().size(), 40u);
    EXPECT_EQ(membership.authorized(now).size(), 32u);
    EXPECT_EQ(membership.table().entries().size(), 32u);
    const auto waiting = membership.over_capacity(now);
    ASSERT_EQ(waiting.size(), 8u);
    EXPECT_EQ(waiting.front(), "m-133");  // the 8 that joined last
    EXPECT_EQ(waiting.back(), "m-140");
}

}  // namespace
}  // namespace dfaas::peers
