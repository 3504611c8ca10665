// Operator overrides (PUT /v1/policies/{f}): a policy that replaces the strategy's for one
// function until it expires. Pure: time is a parameter.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dfaas/policy.h"

namespace dfaas::agent {

using WallTime = std::chrono::system_clock::time_point;

struct Override {
    FunctionPolicy policy;
    WallTime set_at{};
    std::optional<WallTime> expires_at;  // nullopt: until cleared
};

class Overrides {
  public:
    void set(const std::string &function, const FunctionPolicy &policy, WallTime now,
             std::optional<std::chrono::seconds> ttl);
    // Puts back an override read from the state file as it was (its set_at and absolute expiry
    // unchanged: a restart neither extends nor shortens it).
    void restore(const std::string &function, const Override &saved);
    bool clear(const std::string &function);
    // Removes expired overrides; returns the functions whose override ended.
    std::vector<std::string> expire(WallTime now);
    const Override *find(const std::string &function) const;
    const std::map<std::string, Override> &all() const { return overrides_; }

    // The strategy's policies with overrides in place of theirs (functions only the override
    // names are added).
    PolicySet apply(const PolicySet &strategy_policies) const;

  private:
    std::map<std::string, Override> overrides_;
};

}  // namespace dfaas::agent
