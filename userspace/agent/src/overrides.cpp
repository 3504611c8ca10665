#include "overrides.h"

namespace dfaas::agent {

void Overrides::set(const std::string &function, const FunctionPolicy &policy, WallTime now,
                    std::optional<std::chrono::seconds> ttl) {
    Override o;
    o.policy = policy;
    o.set_at = now;
    if (ttl) o.expires_at = now + *ttl;
    overrides_[function] = o;
}

void Overrides::restore(const std::string &function, const Override &saved) {
    overrides_[function] = saved;
}

bool Overrides::clear(const std::string &function) {
    return overrides_.erase(function) > 0;
}

std::vector<std::string> Overrides::expire(WallTime now) {
    std::vector<std::string> ended;
    for (auto it = overrides_.begin(); it != overrides_.end();) {
        if (it->second.expires_at && *it->second.expires_at <= now) {
            ended.push_back(it->first);
            it = overrides_.erase(it);
        } else {
            ++it;
        }
    }
    return ended;
}

const Override *Overrides::find(const std::string &function) const {
    auto it = overrides_.find(function);
    return it == overrides_.end() ? nullptr : &it->second;
}

PolicySet Overrides::apply(const PolicySet &strategy_policies) const {
    PolicySet merged = strategy_policies;
    for (const auto &[function, o] : overrides_)
        merged[function] = o.policy;
    return merged;
}

}  // namespace dfaas::agent
