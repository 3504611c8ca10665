#include <cerrno>
#include <cstring>

#include "dfaas/dataplane/types.h"

namespace dfaas::dp {

Error::Error(const std::string &what, int error_number)
    : std::runtime_error(what), errno_(error_number < 0 ? -error_number : error_number) {}

PathCounters &PathCounters::operator+=(const PathCounters &o) {
    connections += o.connections;
    packets += o.packets;
    bytes += o.bytes;
    requests += o.requests;
    return *this;
}

uint64_t FunctionStats::user_requests() const {
    uint64_t total = local.requests + reject.connections;
    for (const auto &[peer, c] : to_peer)
        total += c.requests;
    return total;
}

uint64_t Stats::reason(const std::string &name) const {
    for (const auto &[n, v] : reasons)
        if (n == name) return v;
    return 0;
}

const FunctionStats *Stats::function(const std::string &name) const {
    for (const auto &f : functions)
        if (f.name == name) return &f;
    return nullptr;
}

std::string to_string(CtPath path) {
    switch (path) {
        case CtPath::Local:
            return "local";
        case CtPath::Forward:
            return "forward";
        case CtPath::ForwardedIn:
            return "forwarded-in";
        case CtPath::Reject:
            return "reject";
    }
    return "unknown";
}

std::string to_string(TcpState state) {
    switch (state) {
        case TcpState::SynSent:
            return "syn-sent";
        case TcpState::SynRecv:
            return "syn-recv";
        case TcpState::Established:
            return "established";
        case TcpState::Closing:
            return "closing";
        case TcpState::Closed:
            return "closed";
    }
    return "unknown";
}

}  // namespace dfaas::dp
