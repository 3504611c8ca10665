#include "event_log.h"

#include <algorithm>

namespace dfaas::agent {

namespace {

std::string weights(const std::map<Ipv4, uint32_t> &targets) {
    std::string text;
    for (const auto &[addr, weight] : targets)
        text += " " + addr.str() + "=" + std::to_string(weight);
    return text;
}

}  // namespace

std::string policy_summary(const FunctionPolicy &p) {
    std::string text = "local=" + std::to_string(p.local) + weights(p.peers);
    if (p.reject) text += " reject=" + std::to_string(p.reject);
    if (p.local_cap) text += " cap=" + std::to_string(p.local_cap) + "/s";
    if (!p.overflow.empty()) text += " overflow" + weights(p.overflow);
    return text;
}

EventLog::EventLog(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

uint64_t EventLog::add(AgentEvent event) {
    std::lock_guard lock(mu_);
    event.seq = next_seq_++;
    if (ring_.size() == capacity_) {
        ring_.pop_front();
        ++overwritten_;
    }
    ring_.push_back(std::move(event));
    return ring_.back().seq;
}

void EventLog::peer_unreachable(Ipv4 peer, std::chrono::system_clock::time_point now) {
    add(AgentEvent{0, now, "peer-unreachable", "", peer.str(),
                   "forwarded connections unanswered: removed from every policy"});
}

void EventLog::peer_recovered(Ipv4 peer, std::chrono::system_clock::time_point now) {
    add(AgentEvent{0, now, "peer-recovered", "", peer.str(), "answers again"});
}

void EventLog::policy_changed(const std::string &function, const FunctionPolicy *old,
                              const FunctionPolicy &now_installed,
                              std::chrono::system_clock::time_point now) {
    add(AgentEvent{0, now, "policy", function, "",
                   (old ? policy_summary(*old) : std::string("none")) + " -> " +
                       policy_summary(now_installed)});
}

EventLog::Page EventLog::since(uint64_t since, size_t limit) const {
    limit = std::min(limit, kMaxPage);
    std::lock_guard lock(mu_);
    Page page;
    page.last_seq = next_seq_ - 1;
    if (ring_.empty()) return page;
    const uint64_t oldest = ring_.front().seq;
    if (since + 1 < oldest) page.missed = oldest - since - 1;
    // Seqs are contiguous in the ring: the first one after `since` is found by arithmetic.
    size_t start =
        since < oldest ? 0 : size_t(std::min<uint64_t>(since - oldest + 1, ring_.size()));
    for (size_t i = start; i < ring_.size(); ++i) {
        if (page.events.size() == limit) {
            page.more = true;
            break;
        }
        page.events.push_back(ring_[i]);
    }
    return page;
}

uint64_t EventLog::overwritten() const {
    std::lock_guard lock(mu_);
    return overwritten_;
}

nlohmann::json to_json(const EventLog::Page &page, uint64_t overwritten) {
    auto events = nlohmann::json::array();
    for (const auto &e : page.events) {
        nlohmann::json j{{"seq", e.seq},
                         {"unix_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                         e.time.time_since_epoch())
                                         .count()},
                         {"type", e.type},
                         {"detail", e.detail}};
        if (!e.function.empty()) j["function"] = e.function;
        if (!e.peer.empty()) j["peer"] = e.peer;
        events.push_back(std::move(j));
    }
    return {{"events", events},
            {"last_seq", page.last_seq},
            {"missed", page.missed},
            {"more", page.more},
            {"overwritten", overwritten}};
}

}  // namespace dfaas::agent
