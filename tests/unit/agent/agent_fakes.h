// Fakes for every dependency of the agent (agent_deps.h): a data plane with the real one's table
// sizes and refusals, OpenFaaS and Prometheus answering what the test sets, a peer link whose
// members expire after the TTL the agent gives it, and a clock the test advances by hand. No
// root, no network, no thread: the tests call the period step and the control tick themselves.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent_deps.h"
#include "dfaas/abi.h"

namespace dfaas::agent::testing {

// A state-file path of the running test's own (its name and the process id), removed first: tests
// in parallel processes never share one.
inline std::string test_state_file(const std::string &suite) {
    std::string path = ::testing::TempDir() + suite + "_" + std::to_string(::getpid()) + "_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json";
    std::remove(path.c_str());
    return path;
}

// What the loop tests start from: a fake interface, the Static strategy every second, a control
// tick of 500 ms, and a cluster key the fake peer link never reads.
inline Config loop_test_config(Ipv4 node, const std::string &state_file) {
    using namespace std::chrono_literals;
    Config cfg;
    cfg.node.ip = node;
    cfg.node.state_file = state_file;
    cfg.dataplane.interface = "fake0";
    cfg.strategy.name = StrategyKind::StaticWeights;
    cfg.strategy.period = 1s;
    cfg.peers.control_tick = 500ms;
    cfg.peers.cluster_key_file = "unused-by-the-fake-peer-link";
    return cfg;
}

class FakeClock final : public AgentClock {
  public:
    std::chrono::steady_clock::time_point steady_now() const override { return steady_; }
    std::chrono::system_clock::time_point system_now() const override { return system_; }
    void advance(std::chrono::milliseconds by) {
        steady_ += by;
        system_ += by;
    }
    strategy::Instant instant() const { return wall_instant(system_); }

  private:
    std::chrono::steady_clock::time_point steady_{std::chrono::hours(1000)};
    // A fixed, plausible wall time (2026-01-01), so that TTL arithmetic never goes below zero.
    std::chrono::system_clock::time_point system_{std::chrono::seconds(1767225600)};
};

// The data plane's state as plain maps, with its limits: DFAAS_MAX_FUNCTIONS function ids and
// DFAAS_MAX_PEERS peer slots (beyond them it throws dp::Error, as the real one does).
class FakeDataplane final : public DataplaneControl {
  public:
    struct State {
        std::map<uint32_t, std::string> functions;  // id -> name
        std::map<std::string, FunctionPolicy> policies;
        std::map<std::pair<Ipv4, uint16_t>, dp::Service> services;
        std::map<Ipv4, uint32_t> peers;  // address -> slot
        std::map<Ipv4, dp::PeerCounters> peer_counters;
        std::vector<dp::FunctionStats> function_stats;  // what stats() reports, as set
        std::set<std::string> refuse_functions;         // set_policy throws for these
        bool fail_stats = false;
        uint64_t policy_writes = 0;
    };
    explicit FakeDataplane(std::shared_ptr<State> state) : s_(std::move(state)) {}

    dp::Status status() const override {
        dp::Status st;
        st.ingress_attached = st.egress_attached = true;
        return st;
    }
    dp::Stats stats() const override {
        if (s_->fail_stats) throw dp::Error("read stats: injected failure");
        dp::Stats stats;
        stats.functions = s_->function_stats;
        for (const auto &[addr, slot] : s_->peers) {
            auto counters =
                s_->peer_counters.count(addr) ? s_->peer_counters.at(addr) : dp::PeerCounters{};
            counters.addr = addr;
            counters.index = slot;
            stats.peers.push_back(counters);
        }
        return stats;
    }
    std::vector<std::pair<uint32_t, std::string>> functions() const override {
        return {s_->functions.begin(), s_->functions.end()};
    }
    void remove_function(const std::string &name) override {
        std::erase_if(s_->functions, [&](const auto &kv) { return kv.second == name; });
        s_->policies.erase(name);
    }
    std::optional<dp::InstalledPolicy> policy(const std::string &function) const override {
        auto it = s_->policies.find(function);
        if (it == s_->policies.end()) return std::nullopt;
        return dp::InstalledPolicy{1, it->second};
    }
    void set_policy(const std::string &function, const FunctionPolicy &policy) override {
        if (s_->refuse_functions.count(function))
            throw dp::Error("set policy of " + function + ": injected failure");
        if (!has_function(function)) {
            if (s_->functions.size() >= DFAAS_MAX_FUNCTIONS) throw dp::Error("function table full");
            uint32_t id = 1;
            while (s_->functions.count(id))
                ++id;
            s_->functions[id] = function;
        }
        for (const auto *targets : {&policy.peers, &policy.overflow})
            for (const auto &[addr, weight] : *targets)
                if (!s_->peers.count(addr)) throw dp::Error("policy names unknown peer");
        s_->policies[function] = policy;
        ++s_->policy_writes;
    }
    std::vector<dp::Service> services() const override {
        std::vector<dp::Service> out;
        for (const auto &[key, svc] : s_->services)
            out.push_back(svc);
        return out;
    }
    void set_service(const dp::Service &service) override {
        if (!has_function(service.function)) throw dp::Error("service of unknown function");
        s_->services[{service.addr, service.port}] = service;
    }
    bool delete_service(Ipv4 addr, uint16_t port) override {
        return s_->services.erase({addr, port}) > 0;
    }
    std::vector<dp::Peer> peers() const override {
        std::vector<dp::Peer> out;
        for (const auto &[addr, slot] : s_->peers)
            out.push_back(dp::Peer{addr, slot});
        return out;
    }
    uint32_t add_peer(Ipv4 addr) override {
        if (auto it = s_->peers.find(addr); it != s_->peers.end()) return it->second;
        if (s_->peers.size() >= DFAAS_MAX_PEERS) throw dp::Error("peer table full");
        uint32_t slot = 0;
        for (const auto &[a, used] : s_->peers)
            slot = std::max(slot, used + 1);
        s_->peers[addr] = slot;
        return slot;
    }
    bool remove_peer(Ipv4 addr) override {
        if (!s_->peers.erase(addr)) return false;
        // As the real one: the policies that name it are rewritten without it.
        for (auto &[name, policy] : s_->policies)
            for (auto *targets : {&policy.peers, &policy.overflow, &policy.limit_in})
                targets->erase(addr);
        s_->peer_counters.erase(addr);
        return true;
    }
    dp::GcResult collect_garbage() override { return {}; }

  private:
    bool has_function(const std::string &name) const {
        return std::any_of(s_->functions.begin(), s_->functions.end(),
                           [&](const auto &kv) { return kv.second == name; });
    }
    std::shared_ptr<State> s_;
};

class FakeFunctionSource final : public FunctionSource {
  public:
    struct State {
        bool down = false;
        std::vector<FunctionInfo> functions;
    };
    explicit FakeFunctionSource(std::shared_ptr<State> state) : s_(std::move(state)) {}
    Result<std::vector<FunctionInfo>> list_functions() const override {
        if (s_->down) return fail("GET http://gateway/system/functions: connection refused");
        return s_->functions;
    }

  private:
    std::shared_ptr<State> s_;
};

// Answers node CPU/RAM queries with one sample and per-function queries with an empty vector.
class FakeMetricsSource final : public MetricsSource {
  public:
    struct State {
        bool down = false;
        uint64_t queries = 0;
        // Answers of the queries containing a text, the first that matches; otherwise 42 for
        // the node queries and no series for the others.
        std::vector<std::pair<std::string, PromQueryResult>> answers;
    };
    explicit FakeMetricsSource(std::shared_ptr<State> state) : s_(std::move(state)) {}
    Result<PromQueryResult> query(std::string_view promql) const override {
        ++s_->queries;
        if (s_->down) return fail("query: GET http://prometheus/api/v1/query: connection refused");
        for (const auto &[text, answer] : s_->answers)
            if (promql.find(text) != std::string_view::npos) return answer;
        PromQueryResult r;
        if (promql.find("node_") != std::string_view::npos)
            r.samples.push_back(PromSample{{}, 0, 42.0, "42"});
        return r;
    }

  private:
    std::shared_ptr<State> s_;
};

// The membership as the agent sees it: members the test adds, alive while their last heartbeat
// is within the TTL the agent gave the link; a peer table fed by what the test says they sent;
// at most `slots` members hold a data-plane slot (in id order), the others are over capacity.
class FakePeerNetwork final : public PeerNetwork {
  public:
    struct State {
        std::string self_id;
        strategy::Millis ttl{0};  // set by the agent through the factory
        size_t slots = DFAAS_MAX_PEERS;
        std::map<std::string, PeerView> members;
        strategy::PeerTable table;
        std::vector<Ipv4> marked_unreachable;
        std::set<Ipv4> flagged;    // marked, not heard from since
        std::set<Ipv4> recovered;  // flagged and heard from again
        std::vector<std::pair<Endpoint, std::vector<peers::FunctionPort>>> seeded;
        size_t sends = 0;
        bool started = false;
    };
    explicit FakePeerNetwork(std::shared_ptr<State> state) : s_(std::move(state)) {}

    // A member speaks (a heartbeat): it joins or stays alive.
    static void heartbeat(State &s, const std::string &id, Ipv4 address,
                          const std::vector<peers::FunctionPort> &functions,
                          const std::string &strategy, strategy::Instant now) {
        auto [it, fresh] = s.members.try_emplace(id);
        PeerView &m = it->second;
        if (fresh || now > m.last_seen + s.ttl) m.joined = now;
        m.id = id;
        m.address = address;
        m.peer_port = 30090;
        m.last_seen = now;
        m.functions = functions;
        m.strategy = strategy;
        std::vector<std::string> names;
        for (const auto &f : functions)
            if (!f.remote_only) names.push_back(f.name);  // as peers::Membership: runners only
        s.table.record_membership(id, address, names, now);
        if (s.flagged.erase(address)) s.recovered.insert(address);
    }

    void start() override { s_->started = true; }
    void stop() override {}
    strategy::PeerTable table(strategy::Instant now) override {
        auto t = s_->table;
        t.expire(now);
        return t;
    }
    void send(const std::vector<strategy::OutgoingMessage> &, strategy::Instant) override {
        ++s_->sends;
    }
    std::vector<PeerView> authorized(strategy::Instant now) override {
        auto alive = alive_members(now);
        if (alive.size() > s_->slots) alive.resize(s_->slots);
        return alive;
    }
    std::vector<PeerView> members(strategy::Instant now) override { return alive_members(now); }
    std::vector<peers::Candidate> candidates() override { return {}; }
    std::optional<std::string> mark_unreachable(Ipv4 address, strategy::Instant) override {
        s_->marked_unreachable.push_back(address);
        s_->flagged.insert(address);
        for (const auto &[id, m] : s_->members)
            if (m.address == address) return id;
        return std::nullopt;
    }
    std::optional<Ipv4> address_of(const std::string &id) override {
        auto it = s_->members.find(id);
        if (it == s_->members.end()) return std::nullopt;
        return it->second.address;
    }
    PeerLinkStats stats() override { return {}; }
    std::vector<Ipv4> take_recovered(strategy::Instant) override {
        std::vector<Ipv4> out(s_->recovered.begin(), s_->recovered.end());
        s_->recovered.clear();
        return out;
    }
    bool seed(const Endpoint &endpoint, const std::vector<peers::FunctionPort> &functions,
              strategy::Instant) override {
        s_->seeded.emplace_back(endpoint, functions);
        return true;
    }
    bool take_provisional_replaced() override { return false; }
    bool take_first_limits() override { return false; }
    size_t over_capacity(strategy::Instant now) override {
        auto alive = alive_members(now).size();
        return alive > s_->slots ? alive - s_->slots : 0;
    }

  private:
    std::vector<PeerView> alive_members(strategy::Instant now) const {
        std::vector<PeerView> out;
        for (const auto &[id, m] : s_->members)
            if (now <= m.last_seen + s_->ttl) out.push_back(m);
        return out;
    }
    std::shared_ptr<State> s_;
};

// Every fake's state, shared with the agent's dependencies so that a test changes what they
// answer between steps and ticks.
struct FakeWorld {
    std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
    std::shared_ptr<FakeDataplane::State> dataplane = std::make_shared<FakeDataplane::State>();
    std::shared_ptr<FakeFunctionSource::State> openfaas =
        std::make_shared<FakeFunctionSource::State>();
    std::shared_ptr<FakeMetricsSource::State> prometheus =
        std::make_shared<FakeMetricsSource::State>();
    std::shared_ptr<FakePeerNetwork::State> peers = std::make_shared<FakePeerNetwork::State>();

    AgentDependencies dependencies() {
        AgentDependencies deps;
        deps.clock = clock;
        deps.functions = std::make_unique<FakeFunctionSource>(openfaas);
        deps.metrics = std::make_unique<FakeMetricsSource>(prometheus);
        deps.attach_dataplane = [state = dataplane](const dp::AttachOptions &) {
            return std::unique_ptr<DataplaneControl>(std::make_unique<FakeDataplane>(state));
        };
        deps.open_peer_link = [state = peers](const Config &, const std::string &node_id,
                                              strategy::Millis ttl, PeerNetwork::LocalHeartbeat) {
            state->self_id = node_id;
            state->ttl = ttl;
            state->table = strategy::PeerTable(node_id, ttl);
            return std::unique_ptr<PeerNetwork>(std::make_unique<FakePeerNetwork>(state));
        };
        return deps;
    }
};

}  // namespace dfaas::agent::testing
