#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

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

HttpCounters &HttpCounters::operator+=(const HttpCounters &o) {
    for (size_t i = 0; i < buckets.size(); ++i)
        buckets[i] += o.buckets[i];
    latency_sum_ns += o.latency_sum_ns;
    for (size_t i = 0; i < codes.size(); ++i)
        codes[i] += o.codes[i];
    untimed += o.untimed;
    opaque_connections += o.opaque_connections;
    return *this;
}

uint64_t HttpCounters::timed() const {
    uint64_t n = 0;
    for (auto b : buckets)
        n += b;
    return n;
}

uint64_t HttpCounters::final_responses() const {
    uint64_t n = 0;
    for (size_t i = 0; i < codes.size(); ++i)
        if (i != size_t(HttpCode::Other1xx)) n += codes[i];
    return n;
}

bool HttpCounters::empty() const {
    for (auto c : codes)
        if (c != 0) return false;
    return opaque_connections == 0;
}

std::optional<double> HttpCounters::error_ratio() const {
    uint64_t final_count = final_responses();
    if (final_count == 0) return std::nullopt;
    uint64_t errors = 0;
    for (auto code : {HttpCode::TooMany429, HttpCode::Error500, HttpCode::BadGateway502,
                      HttpCode::Unavailable503, HttpCode::Timeout504, HttpCode::Other5xx})
        errors += codes[size_t(code)];
    return double(errors) / double(final_count);
}

const char *http_code_label(size_t code) {
    static constexpr const char *kLabels[kHttpCodes] = {"200", "404", "429",      "500", "502",
                                                        "503", "504", "1xx",      "2xx", "3xx",
                                                        "4xx", "5xx", "malformed"};
    return code < kHttpCodes ? kLabels[code] : "unknown";
}

double http_bucket_upper_seconds(size_t bucket) {
    if (bucket + 1 >= kHttpBuckets) return std::numeric_limits<double>::infinity();
    return double(kHttpBucketBaseUs << bucket) * 1e-6;
}

std::optional<double> latency_quantile_seconds(const std::array<uint64_t, kHttpBuckets> &buckets,
                                               double q) {
    if (!(q >= 0 && q <= 1)) return std::nullopt;  // also NaN
    uint64_t total = 0;
    for (auto b : buckets)
        total += b;
    if (total == 0) return std::nullopt;
    const double rank = q * double(total);
    uint64_t below = 0;  // timed responses in the buckets before i
    for (size_t i = 0; i < buckets.size(); ++i) {
        // The first bucket whose cumulative count reaches the rank; an empty bucket never holds
        // it (for q = 0 that is the first non-empty one, as Prometheus picks).
        if (buckets[i] == 0 || double(below + buckets[i]) < rank) {
            below += buckets[i];
            continue;
        }
        // Nothing is known above the last finite bound: its value, as histogram_quantile().
        if (i + 1 == buckets.size()) return http_bucket_upper_seconds(i - 1);
        const double lower = i == 0 ? 0.0 : http_bucket_upper_seconds(i - 1);
        const double upper = http_bucket_upper_seconds(i);
        return lower + (upper - lower) * (rank - double(below)) / double(buckets[i]);
    }
    return http_bucket_upper_seconds(buckets.size() - 2);  // not reached: total > 0
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
