// Typed views of the data plane's state, as the control library returns them. Everything here
// is plain data in host byte order; the library converts at the map boundary.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dfaas/domain.h"
#include "dfaas/net.h"
#include "dfaas/policy.h"

namespace dfaas::dp {

// Every failure of the library: what was being done, and the system error behind it.
class Error : public std::runtime_error {
  public:
    Error(const std::string &what, int error_number);
    explicit Error(const std::string &what) : std::runtime_error(what) {}
    int error_number() const { return errno_; }

  private:
    int errno_ = 0;
};

// RejectMode (rst, drop), with its names and parser, is dfaas/domain.h's: the agent's
// dataplane.reject_mode is this setting, without a conversion.

using Nanoseconds = std::chrono::nanoseconds;

// Node-wide settings of the data plane (the dfaas_config map).
struct Settings {
    Ipv4 node;         // this node's address: function ports live here
    Endpoint gateway;  // local gateway, the DNAT target of the local path
    RejectMode reject_mode = RejectMode::Rst;
    uint16_t mtu = 0;                 // path MTU towards peers; 0 = the interface's MTU
    uint32_t syn_guard_rate = 20000;  // new conn/s above which rejected SYNs are not tracked
    Nanoseconds ct_timeout_syn = std::chrono::seconds(10);
    Nanoseconds ct_timeout_established = std::chrono::hours(1);
    Nanoseconds ct_timeout_closing = std::chrono::seconds(10);
    // Forwarded-in connections/s a peer may open per function when the function's policy names
    // no limit_in for it (or the function has no policy). DFAAS_UNLIMITED (0xffffffff) = off.
    uint32_t default_limit_in = 1000;  // DFAAS_DEFAULT_LIMIT_IN
    bool enabled = true;               // false: programs stay attached, every packet passes
    // false: HTTP responses and latencies are not recorded (requests are still counted).
    bool http_stats = true;
};

// Interfaces the programs are attached to, at most: the uplink and the client interfaces.
constexpr size_t kMaxInterfaces = 8;

struct AttachOptions {
    std::string interface;  // the uplink: towards peers, and where their replies arrive
    // More interfaces whose clients are steered like external ones (a CNI bridge such as cni0),
    // with the same maps. Programs of this pin set on interfaces named in neither are removed.
    std::vector<std::string> client_interfaces;
    std::string bpffs = "/sys/fs/bpf/dfaas";  // pin directory (on a bpffs mount)
    uint32_t ct_entries = 256 * 1024;         // established connections
    // Connections whose handshake is not confirmed yet: a SYN flood churns this table only.
    uint32_t ct_half_open_entries = 64 * 1024;  // DFAAS_DEFAULT_CT_HALF_OPEN_ENTRIES
    Settings settings;
};

// Our programs on one interface (found by their filter and the pinned maps they use).
struct InterfaceAttachment {
    std::string name;  // empty when the ifindex has no name in this network namespace
    uint32_t ifindex = 0;
    bool uplink = false;
    uint32_t ingress_prog_id = 0;
    uint32_t egress_prog_id = 0;
};

struct Status {
    std::string bpffs;
    std::vector<InterfaceAttachment> interfaces;  // the uplink's and every client interface's
    uint32_t abi_version = 0;
    uint32_t ifindex = 0;
    std::string interface;  // empty when the ifindex does not exist in this network namespace
    bool ingress_attached = false;
    bool egress_attached = false;
    uint32_t ingress_prog_id = 0;
    uint32_t egress_prog_id = 0;
    uint64_t attached_unix_ns = 0;
    uint32_t ct_capacity = 0;
    uint32_t ct_half_open_capacity = 0;
    Settings settings;
};

struct Service {
    Ipv4 addr;
    uint16_t port = 0;
    std::string function;
    bool local = false;  // a function port of this node (user traffic) vs a peer's port
    auto operator<=>(const Service &) const = default;
};

struct Peer {
    Ipv4 addr;
    uint32_t index = 0;
};

// A policy as installed: the policy plus the version counter the map carries.
struct InstalledPolicy {
    uint32_t version = 0;
    FunctionPolicy policy;
};

struct PathCounters {
    uint64_t connections = 0;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t requests = 0;
    PathCounters &operator+=(const PathCounters &o);
};

// HTTP/1.x responses and request latencies of one (function, route), from dfaas_http_stats
// (bpf/lib/http.h). Sizes and indexes are the ABI's (DFAAS_HTTP_BUCKETS, DFAAS_HTTP_BUCKET_BASE_US,
// enum dfaas_http_code; abi_check.cpp asserts they agree): bucket i counts latencies below
// kHttpBucketBaseUs << i microseconds, the last one everything above.
inline constexpr size_t kHttpBuckets = 24;
inline constexpr uint64_t kHttpBucketBaseUs = 8;
inline constexpr size_t kHttpCodes = 13;
struct HttpCounters {
    std::array<uint64_t, kHttpBuckets> buckets{};  // timed responses per bucket, not cumulative
    uint64_t latency_sum_ns = 0;
    std::array<uint64_t, kHttpCodes> codes{};  // every response by enum dfaas_http_code
    uint64_t untimed = 0;                      // final responses to pipelined requests
    uint64_t opaque_connections = 0;           // connections whose payload is not HTTP/1.x
    HttpCounters &operator+=(const HttpCounters &o);

    // Responses timed (the histogram's count).
    uint64_t timed() const;
    // Final responses: every status but 1xx (interim answers precede the final one). Malformed
    // status lines count as final responses: each ended a request.
    uint64_t final_responses() const;
    // Nothing recorded: no response of any status and no opaque connection.
    bool empty() const;
    // (429 + every 5xx) / final responses; none without a final response. Other 4xx are the
    // client's mistakes, not the route's failures.
    std::optional<double> error_ratio() const;
};

// Indexes into HttpCounters::codes (enum dfaas_http_code).
enum class HttpCode : size_t {
    Ok200 = 0,
    NotFound404 = 1,
    TooMany429 = 2,
    Error500 = 3,
    BadGateway502 = 4,
    Unavailable503 = 5,
    Timeout504 = 6,
    Other1xx = 7,
    Other2xx = 8,
    Other3xx = 9,
    Other4xx = 10,
    Other5xx = 11,
    Malformed = 12,
};
// The label of a code index as metrics and JSON write it: "200", "404", ..., "1xx" .. "5xx" for
// the codes not listed separately, "malformed".
const char *http_code_label(size_t code);
// Upper bound in seconds of histogram bucket i (kHttpBucketBaseUs << i microseconds); +infinity
// for the last bucket.
double http_bucket_upper_seconds(size_t bucket);
// The q-quantile (0 <= q <= 1) of the timed latencies in seconds, the way Prometheus'
// histogram_quantile() estimates it from the same buckets: linear interpolation inside the
// bucket holding the rank (the first bucket from 0); a rank in the +Inf bucket gives the largest
// finite bound. None when nothing was timed or q is outside [0, 1].
std::optional<double> latency_quantile_seconds(const std::array<uint64_t, kHttpBuckets> &buckets,
                                               double q);

struct ForwardedInCounters {
    uint64_t accepted = 0;
    uint64_t rejected = 0;
};

struct FunctionStats {
    std::string name;
    uint32_t id = 0;
    PathCounters local;                    // user connections served here
    PathCounters reject;                   // user connections rejected
    PathCounters forwarded_in;             // connections peers forwarded to us, accepted
    PathCounters forwarded_in_reject;      // ... refused by limit_in
    std::map<Ipv4, PathCounters> to_peer;  // user connections forwarded, per peer
    std::map<Ipv4, ForwardedInCounters> forwarded_in_by_peer;
    // HTTP/1.x responses and latencies (dfaas_http_stats): zeros when the route answered
    // nothing yet or the pin set predates the map. http_to_peer: one entry per known peer.
    HttpCounters http_local;
    HttpCounters http_forwarded_in;
    std::map<Ipv4, HttpCounters> http_to_peer;

    // What the strategies call the user request rate's numerator: requests of non-peer clients
    // (served locally or forwarded) plus rejected connections (each would have carried one).
    uint64_t user_requests() const;
};

struct PeerCounters {
    Ipv4 addr;
    uint32_t index = 0;
    uint64_t syn_forwarded = 0;
    uint64_t synack_returned = 0;
    uint64_t rst_returned = 0;
    uint64_t forwarded_in_connections = 0;
};

struct Stats {
    std::vector<FunctionStats> functions;                   // by id
    std::vector<std::pair<std::string, uint64_t>> reasons;  // in enum order
    std::vector<PeerCounters> peers;                        // by index
    uint64_t reason(const std::string &name) const;         // 0 when unknown
    const FunctionStats *function(const std::string &name) const;
};

enum class CtPath { Local = 1, Forward = 2, ForwardedIn = 3, Reject = 4 };
enum class TcpState { SynSent = 1, SynRecv = 2, Established = 3, Closing = 4, Closed = 5 };
std::string to_string(CtPath path);
std::string to_string(TcpState state);

struct CtEntry {
    Ipv4 client;
    uint16_t client_port = 0;  // the client's own port (every entry is keyed by the client's tuple)
    // LOCAL, FORWARDED_IN: the client port the gateway sees; differs from client_port when the
    // connection's tuple was remapped (bpf/lib/ct.h). 0 on the other paths.
    uint16_t gateway_port = 0;
    Ipv4 service;  // the function address:port the client called
    uint16_t service_port = 0;
    CtPath path = CtPath::Local;
    TcpState state = TcpState::SynSent;
    std::string function;
    Ipv4 peer;            // FORWARD: target; FORWARDED_IN: forwarding node
    Nanoseconds age{0};   // since creation
    Nanoseconds idle{0};  // since last seen
};

struct GcResult {
    uint64_t scanned = 0;
    uint64_t expired = 0;  // entries deleted
    uint64_t live = 0;
};

}  // namespace dfaas::dp
