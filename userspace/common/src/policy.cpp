#include "dfaas/policy.h"

namespace dfaas {

namespace {
std::optional<std::string> check_weights(const std::map<Ipv4, uint32_t> &weights,
                                         const char *what) {
    for (const auto &[peer, weight] : weights) {
        if (peer.is_unspecified()) return std::string(what) + ": peer address 0.0.0.0";
        if (weight > kMaxWeight)
            return std::string(what) + " weight of " + peer.str() + " is " +
                   std::to_string(weight) + " (max " + std::to_string(kMaxWeight) + ")";
    }
    return std::nullopt;
}
}  // namespace

std::optional<std::string> FunctionPolicy::validate() const {
    if (local > kMaxWeight) return "local weight " + std::to_string(local) + " exceeds 100";
    if (reject > kMaxWeight) return "reject weight " + std::to_string(reject) + " exceeds 100";
    if (auto err = check_weights(peers, "peer")) return err;
    if (auto err = check_weights(overflow, "overflow")) return err;
    uint64_t total = uint64_t{local} + reject;
    for (const auto &[peer, weight] : peers)
        total += weight;
    if (total == 0) return "all weights are zero (use reject 100 to refuse every connection)";
    for (const auto &[peer, cap] : limit_in)
        if (peer.is_unspecified()) return "limit_in: peer address 0.0.0.0";
    return std::nullopt;
}

}  // namespace dfaas
