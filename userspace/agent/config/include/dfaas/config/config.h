// dfaas-agent configuration: typed settings with defaults, loaded from a YAML or JSON file, then
// overridden by environment variables, then validated as a whole.
//
// Every key has a dotted path (strategy.nms.cpu_threshold), a generic environment variable
// (DFAAS_STRATEGY_NMS_CPU_THRESHOLD) and possibly the reference agent's name
// (AGENT_NMS_CPU_THRESHOLD); config_keys() (config_keys.h) lists them all with defaults and
// descriptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dfaas/domain.h"
#include "dfaas/clients/http_url.h"
#include "dfaas/clients/result.h"
#include "dfaas/domain.h"
#include "dfaas/net.h"

namespace dfaas {

using Duration = std::chrono::milliseconds;

// NodeType, RejectMode, StrategyKind and LogLevel, shared with the strategies and the data plane,
// are in dfaas/domain.h with their names. The enumerations below are the configuration's own.

// How a forwarded connection reaches the peer (IP-in-IP keeps the client tuple).
enum class ForwardMode { Encap };
enum class ForecasterMode { Native, Http };
// Recalc: when a function's overflow weights are installed (see docs/strategies.md).
enum class RecalcOverflow { Standby, Overloaded };

// Canonical config spellings ("encap", "native", "standby", "quantile005", ...).
std::string_view to_string(ForwardMode value);
std::string_view to_string(ForecasterMode value);
std::string_view to_string(RecalcOverflow value);

// An inclusive TCP port range, e.g. 31000-31999.
struct PortRange {
    uint16_t first = 0;
    uint16_t last = 0;

    bool contains(uint16_t port) const { return port >= first && port <= last; }
    bool operator==(const PortRange &) const = default;
};

struct NodeConfig {
    std::string id;  // stable node id; empty = read (or create) node.id_file, see node_id.h
    std::string id_file = "/var/lib/dfaas/node-id";
    Ipv4 ip;  // required
    NodeType type = NodeType::Mid;
    // What must survive a restart of the agent (operator overrides), written atomically.
    std::string state_file = "/var/lib/dfaas/state.json";

    bool operator==(const NodeConfig &) const = default;
};

struct CtTimeouts {
    Duration syn = std::chrono::seconds(10);
    Duration established = std::chrono::hours(1);
    Duration closing = std::chrono::seconds(10);

    bool operator==(const CtTimeouts &) const = default;
};

// Interfaces the data plane may attach to (dfaas::dp::kMaxInterfaces).
constexpr size_t kMaxDataplaneInterfaces = 8;

struct DataplaneConfig {
    std::string interface = "eth0";
    // The uplink first, then client interfaces (a CNI bridge). When set, it wins over
    // `interface`, which is otherwise the one-element list.
    std::vector<std::string> interfaces;
    std::vector<std::string> attach_interfaces() const {
        return interfaces.empty() ? std::vector<std::string>{interface} : interfaces;
    }
    std::string bpffs = "/sys/fs/bpf/dfaas";
    Endpoint gateway;  // DNAT target; defaults to <node.ip>:8080 when not configured
    RejectMode reject_mode = RejectMode::Rst;
    ForwardMode forward_mode = ForwardMode::Encap;
    uint32_t mtu = 0;  // 0 = the interface's MTU
    uint32_t ct_entries = 262144;
    uint32_t ct_half_open_entries = 65536;  // handshakes not confirmed yet (SYN-flood table)
    uint32_t default_limit_in = 1000;  // forwarded-in conn/s per (function, peer) without limit_in
    CtTimeouts ct_timeouts;
    uint32_t syn_guard_rate = 20000;  // new connections per second; 0 = off
    bool http_stats = true;           // HTTP response codes and latencies recorded
    PortRange function_ports{31000, 31999};

    bool operator==(const DataplaneConfig &) const = default;
};

struct NmsThresholds {
    double cpu = 120;      // percent, 100 = one core
    double ram = 5.5e9;    // bytes
    double power = 2.1e6;  // microwatts

    bool operator==(const NmsThresholds &) const = default;
};

struct ExternalStrategyConfig {
    std::optional<HttpUrl> url;  // required when strategy.name is external
    Duration timeout = std::chrono::seconds(2);
    // Sent verbatim as the observation's agent_parameters.explore (the reference's
    // AGENT_RLMODEL_EXPLORE): a switch for the model service, nothing the agent computes.
    bool explore = false;

    bool operator==(const ExternalStrategyConfig &) const = default;
};

// The feedback guard (issue 19): a route of a function's policy whose responses fail (429, 5xx,
// slower than dfaas.timeout_ms) loses its share until the strategy's next step.
struct GuardConfig {
    bool enabled = true;
    double error_ratio = 0.5;    // failed / final responses of a tick, above which it fails
    uint32_t min_responses = 5;  // final responses a tick needs to count
    uint32_t ticks = 2;          // consecutive failing control ticks that guard a route
    Duration hold = std::chrono::seconds(10);  // a guard lasts at least this long

    bool operator==(const GuardConfig &) const = default;
};

struct StrategyConfig {
    StrategyKind name = StrategyKind::Recalc;
    Duration period = std::chrono::seconds(10);
    NmsThresholds nms;
    std::string group_file;  // optional; empty = groups from the dfaas.group label
    ExternalStrategyConfig external;
    RecalcOverflow recalc_overflow = RecalcOverflow::Standby;
    GuardConfig guard;
    // Not a key: the content of group_file (function -> group), filled by the loader.
    std::map<std::string, FunctionGroup> groups;

    bool operator==(const StrategyConfig &) const = default;
};

struct ForecasterConfig {
    ForecasterMode mode = ForecasterMode::Native;
    std::string models_dir = "/usr/share/dfaas/forecaster";
    ForecasterVariant variant = ForecasterVariant::Regression;
    std::optional<HttpUrl> url;  // required when mode is http
    Duration timeout = std::chrono::seconds(2);

    bool operator==(const ForecasterConfig &) const = default;
};

struct OpenFaasConfig {
    HttpUrl url{"http", "127.0.0.1", 8080, ""};
    std::string username;       // empty = no basic auth
    std::string password_file;  // file holding the password (whitespace-trimmed)
    Duration timeout = std::chrono::seconds(2);

    bool operator==(const OpenFaasConfig &) const = default;
};

// Node metrics without node-exporter: when node_cpu_seconds_total is absent the `or` falls back to
// the CPU of every process Prometheus scrapes on this node (gateway, functions, agent).
inline constexpr std::string_view kDefaultNodeCpuQuery =
    "100 * sum(rate(node_cpu_seconds_total{mode!=\"idle\"}[$window])) "
    "or 100 * sum(rate(process_cpu_seconds_total[$window]))";
inline constexpr std::string_view kDefaultNodeRamQuery =
    "sum(node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes) "
    "or sum(process_resident_memory_bytes)";

// The CPU of each function's containers, in percent of one core, labelled function_name: the
// reference's cpu_utilization, from cAdvisor (the kubelet's /metrics/cadvisor, or faas-sim's node
// model). Without it the external model's cpu_utilization falls back to the node's CPU share.
inline constexpr std::string_view kDefaultFunctionCpuQuery =
    "100 * sum by (function_name) (label_replace(rate(container_cpu_usage_seconds_total"
    "{namespace=\"openfaas-fn\", container!=\"\", container!=\"POD\"}[$window]), "
    "\"function_name\", \"$1\", \"container\", \"(.+)\"))";
// The cores the CPU shares are taken of (cAdvisor's machine_cpu_cores); without an answer, the
// cores of the host the agent runs on.
inline constexpr std::string_view kDefaultNodeCoresQuery = "sum(machine_cpu_cores)";

struct PrometheusConfig {
    HttpUrl url{"http", "127.0.0.1", 9090, ""};
    Duration timeout = std::chrono::seconds(2);
    Duration window = std::chrono::seconds(20);
    Duration scrape_interval = std::chrono::seconds(5);
    std::string node_cpu_query{kDefaultNodeCpuQuery};
    std::string node_ram_query{kDefaultNodeRamQuery};
    std::string function_cpu_query{kDefaultFunctionCpuQuery};  // empty = not asked
    std::string node_cores_query{kDefaultNodeCoresQuery};      // empty = not asked

    bool operator==(const PrometheusConfig &) const = default;
};

struct ApiConfig {
    // Default 127.0.0.1:9080, or 0.0.0.0:9080 when token_file is set (validate fills it in when
    // api.listen is not configured).
    Endpoint listen{Ipv4{0x7f000001}, 9080};
    std::string token_file;                 // control token for mutations from non-loopback clients
    Endpoint health_listen{Ipv4{0}, 9081};  // /healthz and /readyz on their own threads
    uint32_t max_connections_per_source = 8;               // API and health listeners
    uint32_t max_connections = 64;                         // API listener
    Duration read_timeout = std::chrono::seconds(5);       // each read of a request (API)
    Duration request_deadline = std::chrono::seconds(10);  // the whole request (API)

    bool operator==(const ApiConfig &) const = default;
};

struct PeersConfig {
    uint16_t listen_port = 30090;
    std::vector<Endpoint> seeds;
    std::string cluster_key_file;  // HMAC key of the peer protocol
    Duration replay_window = std::chrono::seconds(30);
    Duration control_tick = std::chrono::milliseconds(500);
    // The peer listener's guard (peers::ServerSettings).
    Duration read_timeout = std::chrono::seconds(5);
    Duration request_deadline = std::chrono::seconds(10);
    uint32_t max_connections_per_source = 8;
    uint32_t max_connections = 64;

    bool operator==(const PeersConfig &) const = default;
};

// The entry port (issue 18): /function/<name> on one port of every node, spliced in the kernel.
struct EntryConfig {
    bool enabled = true;
    uint16_t port = 30080;            // the same on every node (peers' entries are reached there)
    uint32_t max_connections = 4096;  // open client connections; the splice maps hold 2x
    Duration head_timeout = std::chrono::seconds(5);
    uint32_t max_head_bytes = 8192;
    Duration idle_timeout = std::chrono::seconds(60);  // a spliced connection without a byte

    bool operator==(const EntryConfig &) const = default;
};

struct LogConfig {
    LogLevel level = LogLevel::Info;

    bool operator==(const LogConfig &) const = default;
};

struct Config {
    NodeConfig node;
    DataplaneConfig dataplane;
    StrategyConfig strategy;
    ForecasterConfig forecaster;
    OpenFaasConfig openfaas;
    PrometheusConfig prometheus;
    ApiConfig api;
    PeersConfig peers;
    EntryConfig entry;
    LogConfig log;

    bool operator==(const Config &) const = default;
};

// A snapshot of environment variables (name -> value); tests pass their own.
using Environment = std::map<std::string, std::string>;
Environment process_environment();

struct LoadResult {
    std::optional<Config> config;       // set when errors is empty
    std::vector<std::string> errors;    // every problem found, each naming its key
    std::vector<std::string> warnings;  // e.g. an unknown DFAAS_* variable

    bool ok() const { return errors.empty(); }
};

// Defaults, then the file at `path` (YAML or JSON; empty path = no file), then `env`, then
// validation. Reads strategy.group_file and checks that the secret files named by the config are
// readable. Never throws.
LoadResult load_config(const std::string &path, const Environment &env);

// The same from text already in memory; `source_name` is used in messages.
LoadResult load_config_text(std::string_view text, std::string_view source_name,
                            const Environment &env);

// The effective configuration as YAML, every key present, in the order of config_keys(). Loading
// the output again gives the same Config (for every Config the loader accepted: its text values
// are valid UTF-8 without control characters, except tabs and line breaks in the PromQL
// templates, which the dump writes as escapes). Secrets are never in a Config (only the paths of
// the files holding them), so nothing secret can be printed.
std::string dump_effective(const Config &config);

// The content of a secret file with surrounding whitespace trimmed (as the OpenFaaS gateway does
// for its basic-auth files). The error names the file and the reason; empty content is an error.
Result<std::string> read_secret_file(const std::string &path);

// Reads a group file {"HIGH_USAGE": ["f1", …], "LOW_USAGE": […], "MEDIUM_USAGE": […]} into
// function -> group. Errors: unreadable file, malformed JSON, unknown group, non-string entries,
// a function listed in two groups.
Result<std::map<std::string, FunctionGroup>> load_group_file(const std::string &path);

}  // namespace dfaas
