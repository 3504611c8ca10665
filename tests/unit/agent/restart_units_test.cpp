// Issue 14, "restarts lose nothing": the state file that keeps operator overrides, the guard
// against a transient empty function list, and the provisional members a restart seeds from
// the data plane's pinned peers.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "dfaas/peers/membership.h"
#include "function_list_guard.h"
#include "state_file.h"

namespace dfaas::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const WallTime kNow = WallTime(std::chrono::seconds(1'800'000'000));
const Ipv4 kPeer = *Ipv4::parse("10.0.0.2");

class TempDir {
  public:
    TempDir() {
        path_ = fs::temp_directory_path() / ("dfaas-restart-test-" + std::to_string(::getpid()) +
                                             "-" + std::to_string(next_++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    std::string file(const std::string &name) const { return (path_ / name).string(); }
    const fs::path &path() const { return path_; }

  private:
    static inline int next_ = 0;
    fs::path path_;
};

std::string slurp(const std::string &path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void put(const std::string &path, const std::string &text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
}

PersistedState two_overrides() {
    PersistedState state;
    FunctionPolicy forward;
    forward.local = 30;
    forward.peers[kPeer] = 70;
    state.overrides["figlet"] = Override{forward, kNow - 10s, kNow + 50s};
    FunctionPolicy reject;
    reject.local = 0;
    reject.reject = 100;
    state.overrides["curl"] = Override{reject, kNow - 5s, std::nullopt};  // until cleared
    return state;
}

TEST(StateFile, RoundTripKeepsEveryOverrideAndItsAbsoluteExpiry) {
    TempDir dir;
    auto path = dir.file("state.json");
    auto state = two_overrides();
    ASSERT_EQ(write_state_file(path, encode_state("node-a", state)), "");
    // Read back 20 s later (the agent was down for 20 s): the expiry is the same instant, so the
    // remaining ttl is 30 s, not 50 s again.
    auto loaded = read_state_file(path, "node-a", kNow + 20s);
    ASSERT_EQ(loaded.status, StateLoadStatus::Loaded) << loaded.error;
    EXPECT_EQ(loaded.state.overrides.size(), 2u);
    EXPECT_EQ(loaded.state.overrides.at("figlet").policy, state.overrides.at("figlet").policy);
    EXPECT_EQ(loaded.state.overrides.at("figlet").expires_at, kNow + 50s);
    EXPECT_EQ(loaded.state.overrides.at("figlet").set_at, kNow - 10s);
    EXPECT_EQ(loaded.state.overrides.at("curl").policy, state.overrides.at("curl").policy);
    EXPECT_FALSE(loaded.state.overrides.at("curl").expires_at.has_value());
    EXPECT_EQ(loaded.expired_dropped, 0u);

    // Restored into Overrides, the expiry still holds: gone at kNow + 50 s, not later.
    Overrides overrides;
    for (const auto &[f, o] : loaded.state.overrides)
        overrides.restore(f, o);
    EXPECT_TRUE(overrides.expire(kNow + 49s).empty());
    EXPECT_EQ(overrides.expire(kNow + 50s), std::vector<std::string>{"figlet"});
    EXPECT_NE(overrides.find("curl"), nullptr);
}

TEST(StateFile, AbsentFileIsNotAnError) {
    TempDir dir;
    auto loaded = read_state_file(dir.file("missing.json"), "node-a", kNow);
    EXPECT_EQ(loaded.status, StateLoadStatus::Absent);
}

TEST(StateFile, OverridesThatExpiredWhileDownAreDroppedAtLoad) {
    TempDir dir;
    auto path = dir.file("state.json");
    ASSERT_EQ(write_state_file(path, encode_state("node-a", two_overrides())), "");
    auto loaded = read_state_file(path, "node-a", kNow + 50s);  // figlet's expiry: exactly now
    ASSERT_EQ(loaded.status, StateLoadStatus::Loaded) << loaded.error;
    EXPECT_EQ(loaded.expired_dropped, 1u);
    EXPECT_EQ(loaded.state.overrides.count("figlet"), 0u);
    EXPECT_EQ(loaded.state.overrides.count("curl"), 1u);
}

TEST(StateFile, AtomicWriteLeavesTheOldFileWhenTheNewOneCannotBeWritten) {
    TempDir dir;
    auto path = dir.file("state.json");
    ASSERT_EQ(write_state_file(path, encode_state("node-a", two_overrides())), "");
    const std::string before = slurp(path);
    struct stat st_before {};
    ASSERT_EQ(::stat(path.c_str(), &st_before), 0);

    // A successful write replaces the file by rename (a new inode), never in place, and leaves
    // no temporary file behind.
    PersistedState one;
    one.overrides["figlet"] = two_overrides().overrides.at("figlet");
    ASSERT_EQ(write_state_file(path, encode_state("node-a", one)), "");
    struct stat st_after {};
    ASSERT_EQ(::stat(path.c_str(), &st_after), 0);
    EXPECT_NE(st_before.st_ino, st_after.st_ino);
    size_t entries = 0;
    for ([[maybe_unused]] const auto &e : fs::directory_iterator(dir.path()))
        ++entries;
    EXPECT_EQ(entries, 1u);
    EXPECT_EQ(st_after.st_mode & 0777, 0600u);
    const std::string middle = slurp(path);
    EXPECT_NE(middle, before);

    // The temporary file cannot be created (a directory holds its name): the write fails with a
    // clear error and the previous state is intact (an in-place write would have truncated it).
    fs::create_directory(path + ".tmp." + std::to_string(::getpid()));
    auto error = write_state_file(path, encode_state("node-a", PersistedState{}));
    EXPECT_NE(error, "");
    EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
    EXPECT_EQ(slurp(path), middle);
}

TEST(StateFile, CreatesAMissingDirectory) {
    TempDir dir;
    auto path = dir.file("sub/dir/state.json");
    ASSERT_EQ(write_state_file(path, encode_state("node-a", two_overrides())), "");
    EXPECT_EQ(read_state_file(path, "node-a", kNow).status, StateLoadStatus::Loaded);
}

TEST(StateFile, CorruptFilesAreRefusedWithTheReason) {
    TempDir dir;
    auto path = dir.file("state.json");
    const std::string good = encode_state("node-a", two_overrides());
    struct Case {
        std::string text;
        std::string reason;
    };
    std::vector<Case> cases = {
        {"", "not valid JSON"},
        {good.substr(0, good.size() / 2), "not valid JSON"},  // torn write
        {"\x01\x02garbage", "not valid JSON"},
        {"[1,2]", "not a JSON object"},
        {R"({"version":2,"node_id":"node-a","overrides":{}})", "version"},
        {R"({"version":1,"node_id":"node-b","overrides":{}})", "belongs to node 'node-b'"},
        {R"({"version":1,"node_id":"node-a","overrides":[]})", "overrides: expected an object"},
        {R"({"version":1,"node_id":"node-a","overrides":{"f":{"policy":{"local":0,"reject":0},)"
         R"("set_at_ms":1,"expires_at_ms":null}}})",
         "overrides.f: policy: all weights are zero"},  // invalid policy
        {R"({"version":1,"node_id":"node-a","overrides":{"f":{"policy":{"local":100},)"
         R"("set_at_ms":"x","expires_at_ms":null}}})",
         "overrides.f.set_at_ms"},
        {R"({"version":1,"node_id":"node-a","overrides":{"f":{"policy":{"local":100},)"
         R"("set_at_ms":1,"expires_at_ms":1e300}}})",
         "overrides.f.expires_at_ms"},
        {R"({"version":1,"node_id":"node-a","overrides":{"f":{"policy":{"local":100},)"
         R"("set_at_ms":1}}})",
         "expires_at_ms: missing"},
    };
    for (const auto &c : cases) {
        put(path, c.text);
        auto loaded = read_state_file(path, "node-a", kNow);
        EXPECT_EQ(loaded.status, StateLoadStatus::Refused) << c.text;
        EXPECT_NE(loaded.error.find(c.reason), std::string::npos)
            << "error '" << loaded.error << "' for " << c.text;
        EXPECT_NE(loaded.error.find(path), std::string::npos) << loaded.error;  // names the file
        EXPECT_TRUE(loaded.state.overrides.empty());
    }
}

TEST(StateFile, TooManyOverridesAreRefused) {
    std::string text = R"({"version":1,"node_id":"node-a","overrides":{)";
    for (size_t i = 0; i <= kMaxPersistedOverrides; ++i)
        text += (i ? "," : "") + std::string("\"f") + std::to_string(i) +
                R"(":{"policy":{"local":100},"set_at_ms":1,"expires_at_ms":null})";
    text += "}}";
    auto loaded = decode_state(text, "node-a", kNow);
    EXPECT_EQ(loaded.status, StateLoadStatus::Refused);
    EXPECT_NE(loaded.error.find("more than"), std::string::npos) << loaded.error;
}

TEST(StateFile, SizeLimitIsCheckedBeforeReadingAtTheLimitAndOneByteOver) {
    TempDir dir;
    auto path = dir.file("state.json");
    const size_t limit = 4096;
    std::string valid = encode_state("node-a", two_overrides());
    ASSERT_LT(valid.size(), limit);
    // Exactly the limit (padded with JSON whitespace): accepted.
    put(path, valid + std::string(limit - valid.size(), ' '));
    ASSERT_EQ(fs::file_size(path), limit);
    auto at_limit = read_state_file(path, "node-a", kNow, limit);
    EXPECT_EQ(at_limit.status, StateLoadStatus::Loaded) << at_limit.error;
    // One byte more: refused, and named as too large (not as corrupt).
    put(path, valid + std::string(limit + 1 - valid.size(), ' '));
    auto over = read_state_file(path, "node-a", kNow, limit);
    EXPECT_EQ(over.status, StateLoadStatus::Refused);
    EXPECT_NE(over.error.find("more than the limit of 4096"), std::string::npos) << over.error;

    // The real limit (1 MiB) on a sparse file far larger: refused without reading it.
    { std::ofstream big(path, std::ios::trunc); }
    fs::resize_file(path, 64ull << 30);  // 64 GiB, sparse
    auto huge = read_state_file(path, "node-a", kNow);
    EXPECT_EQ(huge.status, StateLoadStatus::Refused);
    EXPECT_NE(huge.error.find("more than the limit of 1048576"), std::string::npos) << huge.error;

    // The writer refuses what the reader would refuse.
    EXPECT_NE(write_state_file(path, std::string(limit + 1, ' '), limit), "");
}

TEST(StateFile, NotARegularFileIsRefused) {
    TempDir dir;
    auto loaded = read_state_file(dir.path().string(), "node-a", kNow);
    EXPECT_EQ(loaded.status, StateLoadStatus::Refused);
    auto link = dir.file("link.json");
    fs::create_symlink("/etc/passwd", link);
    EXPECT_EQ(read_state_file(link, "node-a", kNow).status, StateLoadStatus::Refused);
}

TEST(EmptyFunctionListGuard, EmptyListAppliesOnlyAfterItPersisted) {
    EmptyFunctionListGuard guard(std::chrono::milliseconds(15000));  // 2 periods of 10 s - 1/4
    // Periods of 10 s: the gateway answers [] at t, t+10 and t+20: only the third applies.
    EXPECT_FALSE(guard.accept(true, true, kNow));
    EXPECT_EQ(guard.empty_since(), kNow);
    EXPECT_FALSE(guard.accept(true, true, kNow + 10s));
    EXPECT_TRUE(guard.accept(true, true, kNow + 20s));
}

TEST(EmptyFunctionListGuard, ANonEmptyAnswerEndsTheRun) {
    EmptyFunctionListGuard guard(std::chrono::milliseconds(15000));
    EXPECT_FALSE(guard.accept(true, true, kNow));
    EXPECT_TRUE(guard.accept(false, true, kNow + 10s));  // the gateway is back: applies at once
    EXPECT_FALSE(guard.empty_since().has_value());
    EXPECT_FALSE(guard.accept(true, true, kNow + 20s));  // a new run starts from zero
    EXPECT_FALSE(guard.accept(true, true, kNow + 30s));
    EXPECT_TRUE(guard.accept(true, true, kNow + 40s));
}

TEST(EmptyFunctionListGuard, NothingToProtectAppliesAtOnce) {
    EmptyFunctionListGuard guard(std::chrono::milliseconds(15000));
    EXPECT_TRUE(guard.accept(true, false, kNow));   // the node serves nothing
    EXPECT_TRUE(guard.accept(false, false, kNow));  // first functions
}

// ---- provisional members seeded from the data plane ----

peers::Envelope heartbeat(const std::string &id, Ipv4 address,
                          std::vector<peers::FunctionPort> functions) {
    peers::Envelope e;
    e.sender_id = id;
    e.sender_ip = address;
    e.sender_port = 30090;
    e.body = peers::Heartbeat{NodeType::Mid,        {}, "recalc", peers::Millis{10000},
                              std::move(functions), {}};
    return e;
}

peers::Membership membership() {
    peers::MembershipSettings s;
    s.self_id = "node-a";
    s.self = Endpoint{*Ipv4::parse("10.0.0.1"), 30090};
    s.ttl = peers::Millis{12000};
    return peers::Membership(s);
}

const peers::Instant kT0 = peers::Instant(peers::Millis(1'800'000'000'000));

TEST(MembershipSeed, APinnedPeerStaysAuthorizedForOneTtlUntilItSpeaks) {
    auto m = membership();
    ASSERT_TRUE(m.seed(Endpoint{kPeer, 30090}, {{"figlet", 31001}}, kT0));
    const std::string id = peers::Membership::provisional_id(kPeer);
    EXPECT_FALSE(peers::is_valid_peer_id(id));  // can never be a real node's id

    // Authorized (the agent keeps it in the data plane), with its functions (services kept).
    auto authorized = m.authorized(kT0 + peers::Millis{11000});
    ASSERT_EQ(authorized.size(), 1u);
    EXPECT_EQ(authorized[0]->endpoint.addr, kPeer);
    EXPECT_EQ(authorized[0]->heartbeat.functions,
              (std::vector<peers::FunctionPort>{{"figlet", 31001}}));
    // In the strategies' peer table as a live peer with its functions.
    ASSERT_NE(m.table().find(id), nullptr);
    EXPECT_EQ(m.table().find(id)->address, kPeer);
    EXPECT_EQ(m.table().find(id)->member_functions, std::vector<std::string>{"figlet"});
    EXPECT_EQ(m.table().live(kT0 + peers::Millis{11000}).size(), 1u);
    // Contacted (it learns this node is back), never gossiped nor sent strategy messages.
    auto targets = m.heartbeat_targets(kT0);
    ASSERT_EQ(targets.size(), 1u);
    EXPECT_EQ(targets[0].kind, peers::TargetKind::Seed);
    EXPECT_TRUE(m.gossip_view(kT0).empty());
    EXPECT_TRUE(m.destinations(std::nullopt, kT0).empty());
    EXPECT_TRUE(m.destinations(id, kT0).empty());

    // Silent for a whole TTL: it goes (and becomes a candidate to contact).
    EXPECT_TRUE(m.expire(kT0 + peers::Millis{12000}).empty());
    EXPECT_EQ(m.expire(kT0 + peers::Millis{12001}), std::vector<std::string>{id});
    EXPECT_TRUE(m.authorized(kT0 + peers::Millis{12001}).empty());
    EXPECT_EQ(m.table().find(id), nullptr);
    EXPECT_EQ(m.candidates().count(Endpoint{kPeer, 30090}), 1u);
}

TEST(MembershipSeed, TheRealMemberReplacesTheProvisionalOne) {
    auto m = membership();
    ASSERT_TRUE(m.seed(Endpoint{kPeer, 30090}, {{"figlet", 31001}}, kT0));
    auto admission =
        m.receive(heartbeat("node-b", kPeer, {{"curl", 31002}}), kT0 + peers::Millis{3000}, kPeer);
    ASSERT_TRUE(admission.accepted) << admission.rejection.detail;
    auto authorized = m.authorized(kT0 + peers::Millis{3000});
    ASSERT_EQ(authorized.size(), 1u);
    EXPECT_EQ(authorized[0]->id, "node-b");
    EXPECT_EQ(authorized[0]->heartbeat.functions,
              (std::vector<peers::FunctionPort>{{"curl", 31002}}));
    EXPECT_TRUE(m.provisional().empty());
    EXPECT_EQ(m.table().find(peers::Membership::provisional_id(kPeer)), nullptr);
    EXPECT_NE(m.table().find("node-b"), nullptr);
    // The real member lives on its own TTL from its message, not the seed's.
    EXPECT_EQ(m.authorized(kT0 + peers::Millis{15000}).size(), 1u);
}

TEST(MembershipSeed, RefusesThisNodeDuplicatesAndKnownMembers) {
    auto m = membership();
    EXPECT_FALSE(m.seed(Endpoint{*Ipv4::parse("10.0.0.1"), 30090}, {}, kT0));  // this node
    EXPECT_FALSE(m.seed(Endpoint{*Ipv4::parse("0.0.0.0"), 30090}, {}, kT0));
    EXPECT_FALSE(m.seed(Endpoint{kPeer, 0}, {}, kT0));
    ASSERT_TRUE(m.seed(Endpoint{kPeer, 30090}, {}, kT0));
    EXPECT_FALSE(m.seed(Endpoint{kPeer, 30090}, {}, kT0));  // already seeded
    const Ipv4 other = *Ipv4::parse("10.0.0.3");
    ASSERT_TRUE(m.receive(heartbeat("node-c", other, {}), kT0, other).accepted);
    EXPECT_FALSE(m.seed(Endpoint{other, 30090}, {}, kT0));  // already a member
    EXPECT_EQ(m.authorized(kT0).size(), 2u);
}

}  // namespace
}  // namespace dfaas::agent
