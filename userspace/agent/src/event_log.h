// The agent's recent events for `dfaasctl monitor` (GET /v1/events): peers that stop answering
// or answer again, and policy changes. A bounded ring with sequence numbers: a reader asks for
// what came after the last sequence it saw, and learns how many it missed when the ring wrapped.
// Thread-safe (the API reads it without the agent's state lock).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dfaas/net.h"
#include "dfaas/policy.h"

namespace dfaas::agent {

struct AgentEvent {
    uint64_t seq = 0;  // 1, 2, ... in the order added
    std::chrono::system_clock::time_point time;
    std::string type;      // "peer-unreachable", "peer-recovered", "policy"
    std::string function;  // policy: the function
    std::string peer;      // peer events: the peer's address
    std::string detail;    // policy: "old -> new" weights; peers: why
};

class EventLog {
  public:
    static constexpr size_t kDefaultCapacity = 1024;
    // At most this many events in one answer (GET /v1/events?limit=).
    static constexpr size_t kMaxPage = 256;

    explicit EventLog(size_t capacity = kDefaultCapacity);

    void peer_unreachable(Ipv4 peer, std::chrono::system_clock::time_point now);
    void peer_recovered(Ipv4 peer, std::chrono::system_clock::time_point now);
    // `old` is null when the function had no policy installed.
    void policy_changed(const std::string &function, const FunctionPolicy *old,
                        const FunctionPolicy &now_installed,
                        std::chrono::system_clock::time_point now);
    // Adds an event; its seq is assigned here. The oldest event goes when the ring is full.
    uint64_t add(AgentEvent event);

    struct Page {
        std::vector<AgentEvent> events;  // seq > since, oldest first, at most the limit
        uint64_t last_seq = 0;           // the newest seq in the log (0: none yet)
        uint64_t missed = 0;  // events after `since` that were overwritten before this read
        bool more = false;    // the limit cut the answer: ask again from the last seq
    };
    // Events after `since`, at most min(limit, kMaxPage).
    Page since(uint64_t since, size_t limit = kMaxPage) const;
    // Events dropped from the ring to make room (the log's own counter).
    uint64_t overwritten() const;
    size_t capacity() const { return capacity_; }

  private:
    const size_t capacity_;
    mutable std::mutex mu_;
    std::deque<AgentEvent> ring_;
    uint64_t next_seq_ = 1;
    uint64_t overwritten_ = 0;
};

// "local=60 10.0.0.2=40 reject=0 cap=100/s overflow 10.0.0.3=1": a policy in one line.
std::string policy_summary(const FunctionPolicy &policy);
nlohmann::json to_json(const EventLog::Page &page, uint64_t overwritten);

}  // namespace dfaas::agent
