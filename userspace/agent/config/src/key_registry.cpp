#include "key_registry.h"

#include <algorithm>
#include <charconv>
#include <type_traits>

#include "dfaas/clients/duration_text.h"
#include "dfaas/config/config_keys.h"
#include "value_parsers.h"

namespace dfaas::config_detail {
namespace {

// Accessor for one field of Config (const or not), e.g. FIELD(strategy.period).
#define FIELD(member)            \
    [](auto &config) -> auto & { \
        return config.member;    \
    }

template <class Access>
using FieldType = std::remove_cvref_t<std::invoke_result_t<Access, Config &>>;

std::string render_number(double value) {
    char buffer[64];
    auto [end, ec] =
        std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed);
    if (ec != std::errc{}) return std::to_string(value);
    return std::string(buffer, end);
}

std::string render_port_range(const PortRange &range) {
    return std::to_string(range.first) + "-" + std::to_string(range.last);
}

std::string render_optional_url(const std::optional<HttpUrl> &url) {
    return url ? url->str() : "";
}

Result<std::optional<HttpUrl>> parse_optional_url(std::string_view text) {
    if (text.empty()) return std::optional<HttpUrl>{};
    auto url = parse_url(text);
    if (!url) return Error{url.error()};
    return std::optional<HttpUrl>{std::move(*url)};
}

// Parser/renderer pairs for the value kinds.
auto as_is = [](const std::string &text) { return text; };
auto duration_text = [](Duration d) { return format_duration(d); };
auto url_text = [](const HttpUrl &url) { return url.str(); };
auto endpoint_text = [](const Endpoint &endpoint) { return endpoint.str(); };
auto uint_text = [](auto value) { return std::to_string(value); };
auto bool_text = [](bool value) { return std::string(value ? "true" : "false"); };

auto positive_duration(Duration minimum = Duration(1)) {
    return [minimum](std::string_view text) { return parse_positive_duration(text, minimum); };
}

// A duration within [minimum, maximum]: the listener guards' timeouts, which must neither cut
// off healthy clients nor let a slow-loris hold a connection for hours.
auto duration_in(Duration minimum, Duration maximum) {
    return [minimum, maximum](std::string_view text) -> Result<Duration> {
        auto duration = parse_positive_duration(text, minimum);
        if (!duration) return duration;
        if (*duration > maximum)
            return fail("is longer than the maximum " + format_duration(maximum));
        return duration;
    };
}

// The limits of the guarded listeners (API and peer port).
constexpr Duration kMinGuardTimeout = std::chrono::milliseconds(100);
constexpr Duration kMaxReadTimeout = std::chrono::minutes(1);
constexpr Duration kMaxRequestDeadline = std::chrono::minutes(5);
constexpr uint64_t kMaxConnectionsPerSource = 1024;
constexpr uint64_t kMaxConnections = 4096;  // one worker thread each

template <class T>
auto unsigned_in(uint64_t min, uint64_t max) {
    return [min, max](std::string_view text) -> Result<T> {
        auto value = parse_unsigned(text, min, max);
        if (!value) return Error{value.error()};
        return static_cast<T>(*value);
    };
}

template <class E>
auto enum_of(EnumNames<E> (*names)()) {
    return [names](std::string_view text) { return parse_enum(text, names()); };
}
// The type column of an enumeration key, from its name table: the documented names are the
// parsed ones (docs/config-reference.md is checked against this listing).
template <class E>
std::string enum_type(EnumNames<E> names) {
    return "enum: " + canonical_names(names);
}
auto enum_text = [](auto value) { return std::string(to_string(value)); };

template <class Access, class Parse, class Render>
KeySpec scalar_key(std::string path, std::string type, Access access, Parse parse, Render render,
                   std::string description, std::vector<std::string> env_aliases = {},
                   std::string default_note = {}) {
    KeySpec spec{std::move(path),
                 std::move(type),
                 std::move(description),
                 std::move(env_aliases),
                 false,
                 std::move(default_note),
                 nullptr,
                 nullptr};
    spec.apply = [access, parse](Config &config,
                                 const RawValue &raw) -> std::optional<std::string> {
        if (raw.is_list) return "[" + raw.text() + "] is a list, expected a single value";
        const std::string &text = raw.items.front();
        auto value = parse(text);
        if (!value) return quote(text) + " " + value.error();
        access(config) = static_cast<FieldType<Access>>(std::move(*value));
        return std::nullopt;
    };
    spec.render = [access, render](const Config &config) {
        return std::vector<std::string>{render(access(config))};
    };
    return spec;
}

KeySpec with_line_breaks(KeySpec spec) {
    spec.allows_line_breaks = true;
    return spec;
}

KeySpec seeds_key() {
    KeySpec spec{"peers.seeds",
                 "list of ip:port",
                 "Peers to contact at start (address and peer port); more are learnt by gossip, "
                 "so one live seed is enough. From the environment: comma-separated.",
                 {},
                 true,
                 "[]",
                 nullptr,
                 nullptr};
    spec.apply = [](Config &config, const RawValue &raw) -> std::optional<std::string> {
        std::vector<std::string> items = raw.is_list ? raw.items : split_list(raw.items.front());
        std::vector<Endpoint> seeds;
        for (size_t i = 0; i < items.size(); ++i) {
            auto seed = parse_endpoint(items[i]);
            if (!seed)
                return quote(items[i]) + " (item " + std::to_string(i + 1) + ") " + seed.error();
            seeds.push_back(*seed);
        }
        config.peers.seeds = std::move(seeds);
        return std::nullopt;
    };
    spec.render = [](const Config &config) {
        std::vector<std::string> items;
        for (const auto &seed : config.peers.seeds)
            items.push_back(seed.str());
        return items;
    };
    return spec;
}

KeySpec interfaces_key() {
    KeySpec spec{"dataplane.interfaces",
                 "list of interface names",
                 "Interfaces the eBPF programs attach to, with one set of maps: the uplink first "
                 "(peers), then client interfaces whose clients are steered like external ones "
                 "(a CNI bridge such as cni0). At most " +
                     std::to_string(kMaxDataplaneInterfaces) +
                     ", no duplicates. When not empty it wins over dataplane.interface (empty: "
                     "dataplane.interface alone). From the environment: comma-separated.",
                 {},
                 true,
                 "[<dataplane.interface>]",
                 nullptr,
                 nullptr};
    spec.apply = [](Config &config, const RawValue &raw) -> std::optional<std::string> {
        std::vector<std::string> items = raw.is_list ? raw.items : split_list(raw.items.front());
        if (items.size() > kMaxDataplaneInterfaces)
            return std::to_string(items.size()) + " interfaces, at most " +
                   std::to_string(kMaxDataplaneInterfaces);
        std::vector<std::string> names;
        for (size_t i = 0; i < items.size(); ++i) {
            auto name = parse_interface_name(items[i]);
            if (!name)
                return quote(items[i]) + " (item " + std::to_string(i + 1) + ") " + name.error();
            if (std::find(names.begin(), names.end(), *name) != names.end())
                return quote(items[i]) + " (item " + std::to_string(i + 1) + ") is named twice";
            names.push_back(*name);
        }
        config.dataplane.interfaces = std::move(names);
        return std::nullopt;
    };
    spec.render = [](const Config &config) { return config.dataplane.interfaces; };
    return spec;
}

std::vector<KeySpec> build_key_specs() {
    const std::string duration = "duration";
    std::vector<KeySpec> keys;
    // --- node ---
    keys.push_back(scalar_key(
        "node.id", "string", FIELD(node.id), parse_node_id, as_is,
        "Stable id of this node among its peers (1..63 of A-Z a-z 0-9 . _ -). Empty: read from "
        "node.id_file, which is created with a generated id at the first start.",
        {}, "\"\" (from node.id_file)"));
    keys.push_back(scalar_key("node.id_file", "path", FIELD(node.id_file), parse_file_path, as_is,
                              "File keeping the generated node id across restarts (used when "
                              "node.id is empty)."));
    keys.push_back(scalar_key("node.state_file", "path", FIELD(node.state_file), parse_file_path,
                              as_is,
                              "File keeping the operator overrides (with their expiry) across "
                              "restarts; rewritten atomically on every change. At most 1 MiB: "
                              "a corrupt or larger file is ignored (logged, counted)."));
    keys.push_back(scalar_key(
        "node.ip", "IPv4 address", FIELD(node.ip), parse_ipv4,
        [](const Ipv4 &ip) { return ip.str(); },
        "This node's address: where users and peers reach it (in k8s: the "
        "downward API status.hostIP). Required.",
        {"AGENT_NODE_IP"}, "(required)"));
    keys.push_back(scalar_key("node.type", enum_type(node_type_names()) + " (or 0|1|2)",
                              FIELD(node.type), enum_of(node_type_names), enum_text,
                              "Node class, input of the forecaster: heavy (0), mid (1) or light "
                              "(2), as in the reference.",
                              {"AGENT_NODE_TYPE"}));
    // --- dataplane ---
    keys.push_back(scalar_key(
        "dataplane.interface", "string", FIELD(dataplane.interface), parse_interface_name, as_is,
        "Network interface the eBPF programs attach to (TC ingress/egress).", {"DFAAS_INTERFACE"}));
    keys.push_back(interfaces_key());
    keys.push_back(scalar_key("dataplane.bpffs", "absolute path", FIELD(dataplane.bpffs),
                              parse_absolute_path, as_is,
                              "bpffs directory where the data plane's maps and links are pinned."));
    keys.push_back(scalar_key("dataplane.gateway", "ip:port", FIELD(dataplane.gateway),
                              parse_endpoint, endpoint_text,
                              "Where locally served function connections are DNATed: the OpenFaaS "
                              "gateway.",
                              {}, "<node.ip>:8080"));
    keys.push_back(scalar_key("dataplane.reject_mode", enum_type(reject_mode_names()),
                              FIELD(dataplane.reject_mode), enum_of(reject_mode_names), enum_text,
                              "Rejected new connections: rst answers the SYN with a TCP RST (the "
                              "client fails at once), drop discards it (the client times out)."));
    keys.push_back(scalar_key("dataplane.forward_mode", enum_type(forward_mode_names()),
                              FIELD(dataplane.forward_mode), enum_of(forward_mode_names), enum_text,
                              "How forwarded connections reach a peer: encap = IP-in-IP, the "
                              "client's own addresses travel inside."));
    keys.push_back(scalar_key(
        "dataplane.mtu", "uint", FIELD(dataplane.mtu),
        [](std::string_view text) -> Result<uint32_t> {
            if (text == "0") return 0u;
            auto mtu = parse_unsigned(text, 576, 65535);
            if (!mtu)
                return fail(
                    "is not 0 (use the interface's MTU) or an MTU "
                    "in 576..65535");
            return static_cast<uint32_t>(*mtu);
        },
        uint_text, "MTU assumed for encapsulated forwarding; 0 = the interface's MTU."));
    keys.push_back(scalar_key("dataplane.ct_entries", "uint", FIELD(dataplane.ct_entries),
                              unsigned_in<uint32_t>(1024, 16777216), uint_text,
                              "Capacity of the connection-tracking map (connections pinned to a "
                              "target), 1024..16777216."));
    keys.push_back(scalar_key("dataplane.ct_half_open_entries", "uint",
                              FIELD(dataplane.ct_half_open_entries),
                              unsigned_in<uint32_t>(1024, 16777216), uint_text,
                              "Capacity of the half-open connection table (handshakes not "
                              "confirmed by the client's ACK yet; a SYN flood churns only this "
                              "one), 1024..16777216."));
    keys.push_back(scalar_key("dataplane.default_limit_in", "uint",
                              FIELD(dataplane.default_limit_in),
                              unsigned_in<uint32_t>(0, 4294967295u), uint_text,
                              "New connections per second a peer may forward to one function "
                              "when the policy names no limit_in for that peer; 4294967295 = "
                              "no default limit."));
    keys.push_back(scalar_key("dataplane.ct_timeouts.syn", duration,
                              FIELD(dataplane.ct_timeouts.syn), positive_duration(), duration_text,
                              "Idle time after which a connection still in the handshake is "
                              "forgotten."));
    keys.push_back(scalar_key("dataplane.ct_timeouts.established", duration,
                              FIELD(dataplane.ct_timeouts.established), positive_duration(),
                              duration_text,
                              "Idle time after which an established connection is forgotten."));
    keys.push_back(scalar_key("dataplane.ct_timeouts.closing", duration,
                              FIELD(dataplane.ct_timeouts.closing), positive_duration(),
                              duration_text, "Time a closing (FIN/RST seen) connection is kept."));
    keys.push_back(
        scalar_key("dataplane.syn_guard_rate", "uint", FIELD(dataplane.syn_guard_rate),
                   unsigned_in<uint32_t>(0, 100000000), uint_text,
                   "New connections per second of the node above which SYNs rejected "
                   "in reject mode drop are no longer tracked, so a flood cannot evict "
                   "live flows (SYN flood guard); admits and refuses nothing; 0 = off."));
    keys.push_back(scalar_key("dataplane.http_stats", "bool", FIELD(dataplane.http_stats),
                              parse_bool, bool_text,
                              "Record HTTP/1.x response codes and request latencies per function "
                              "and route (dfaas_http_stats); false keeps request counting only."));
    keys.push_back(scalar_key("dataplane.function_ports", "port range first-last",
                              FIELD(dataplane.function_ports), parse_port_range, render_port_range,
                              "Ports the data plane steers (each function's dfaas.port label must "
                              "be inside); peer and API ports must be outside."));
    // --- strategy ---
    keys.push_back(scalar_key(
        "strategy.name", enum_type(strategy_kind_names()), FIELD(strategy.name),
        enum_of(strategy_kind_names), enum_text,
        "Offloading strategy. The reference names recalcstrategy, nodemarginstrategy, "
        "staticstrategy, alllocalstrategy and rlagentstrategy (= external) are accepted.",
        {"AGENT_STRATEGY"}));
    keys.push_back(scalar_key("strategy.period", duration, FIELD(strategy.period),
                              positive_duration(std::chrono::seconds(1)), duration_text,
                              "Period P of the strategy (at least 1s).", {"AGENT_RECALC_PERIOD"}));
    keys.push_back(scalar_key("strategy.nms.cpu_threshold", "number", FIELD(strategy.nms.cpu),
                              parse_positive_number, render_number,
                              "Node Margin: CPU threshold in percent (100 = one core).",
                              {"AGENT_NMS_CPU_THRESHOLD"}));
    keys.push_back(scalar_key("strategy.nms.ram_threshold", "number", FIELD(strategy.nms.ram),
                              parse_positive_number, render_number,
                              "Node Margin: RAM threshold in bytes.", {"AGENT_NMS_RAM_THRESHOLD"}));
    keys.push_back(scalar_key("strategy.nms.power_threshold", "number", FIELD(strategy.nms.power),
                              parse_positive_number, render_number,
                              "Node Margin: power threshold in microwatts.",
                              {"AGENT_NMS_POWER_THRESHOLD"}));
    keys.push_back(scalar_key(
        "strategy.group_file", "path", FIELD(strategy.group_file), parse_optional_file_path, as_is,
        "Optional JSON file {\"HIGH_USAGE\": [functions…], \"LOW_USAGE\": […], \"MEDIUM_USAGE\": "
        "[…]} giving function groups; empty = groups from each function's dfaas.group label.",
        {"AGENT_GROUP_LIST_FILE_NAME"}));
    keys.push_back(scalar_key("strategy.external.url", "URL", FIELD(strategy.external.url),
                              parse_optional_url, render_optional_url,
                              "External strategy: the model service the observation is POSTed to "
                              "each period. Required with strategy.name external."));
    keys.push_back(scalar_key("strategy.external.timeout", duration,
                              FIELD(strategy.external.timeout), positive_duration(), duration_text,
                              "External strategy: time limit of one request (below the period)."));
    keys.push_back(scalar_key("strategy.external.explore", "bool", FIELD(strategy.external.explore),
                              parse_bool, bool_text,
                              "External strategy: sent verbatim as the observation's "
                              "agent_parameters.explore, asking the model service to explore.",
                              {"AGENT_RLMODEL_EXPLORE"}));
    keys.push_back(scalar_key(
        "strategy.recalc.overflow", enum_type(recalc_overflow_names()),
        FIELD(strategy.recalc_overflow), enum_of(recalc_overflow_names), enum_text,
        "Recalc: standby installs every function's overflow weights (peers' LimitOut) under its "
        "local cap at all times, so a burst above the maxrate goes to peers at once; overloaded "
        "installs them only after a step found the function overloaded, as the reference."));
    keys.push_back(scalar_key(
        "strategy.guard.enabled", "bool", FIELD(strategy.guard.enabled), parse_bool, bool_text,
        "Feedback guard: a route (this node or a peer) whose HTTP responses fail (429, 5xx, "
        "slower than dfaas.timeout_ms) loses its share to the function's other routes until the "
        "strategy's first step after strategy.guard.hold."));
    keys.push_back(scalar_key(
        "strategy.guard.error_ratio", "number 0..1", FIELD(strategy.guard.error_ratio),
        [](std::string_view text) { return parse_number_in(text, 0, 1); }, render_number,
        "Feedback guard: a control tick fails when failed / final responses of the route's "
        "growth is above this ratio."));
    keys.push_back(scalar_key("strategy.guard.min_responses", "uint",
                              FIELD(strategy.guard.min_responses),
                              unsigned_in<uint32_t>(1, 1000000), uint_text,
                              "Feedback guard: final responses a control tick needs for its "
                              "error ratio to count (1..1000000)."));
    keys.push_back(scalar_key("strategy.guard.ticks", "uint", FIELD(strategy.guard.ticks),
                              unsigned_in<uint32_t>(1, 60), uint_text,
                              "Feedback guard: consecutive failing control ticks that guard a "
                              "route (1..60)."));
    keys.push_back(scalar_key("strategy.guard.hold", duration, FIELD(strategy.guard.hold),
                              duration_in(std::chrono::milliseconds(1), std::chrono::hours(1)),
                              duration_text,
                              "Feedback guard: a guarded route stays guarded at least this long "
                              "(1ms..1h), then lifts at the strategy's next step; a route still "
                              "failing is guarded again."));
    // --- forecaster ---
    keys.push_back(scalar_key("forecaster.mode", enum_type(forecaster_mode_names()),
                              FIELD(forecaster.mode), enum_of(forecaster_mode_names), enum_text,
                              "native evaluates the LightGBM models in-process; http calls the "
                              "reference forecaster service at forecaster.url."));
    keys.push_back(scalar_key("forecaster.models_dir", "path", FIELD(forecaster.models_dir),
                              parse_directory_path, as_is,
                              "Directory of the LightGBM text models (native mode; must exist when "
                              "the strategy is nodemargin)."));
    keys.push_back(scalar_key("forecaster.variant", enum_type(dfaas::forecaster_variant_names()),
                              FIELD(forecaster.variant), enum_of(dfaas::forecaster_variant_names),
                              enum_text, "Which model set predicts the node's load."));
    keys.push_back(scalar_key("forecaster.url", "URL", FIELD(forecaster.url), parse_optional_url,
                              render_optional_url,
                              "Forecaster service (http mode; required there)."));
    keys.push_back(scalar_key("forecaster.timeout", duration, FIELD(forecaster.timeout),
                              positive_duration(), duration_text,
                              "Forecaster service: time limit of one request (below the period)."));
    // --- openfaas ---
    keys.push_back(scalar_key("openfaas.url", "URL", FIELD(openfaas.url), parse_url, url_text,
                              "OpenFaaS gateway base URL. The reference's AGENT_OPENFAAS_HOST and "
                              "AGENT_OPENFAAS_PORT each replace their part of it."));
    keys.push_back(scalar_key("openfaas.username", "string", FIELD(openfaas.username),
                              parse_username, as_is,
                              "Basic-auth user of the gateway (OpenFaaS: admin); empty = no "
                              "authentication.",
                              {"AGENT_OPENFAAS_USER"}));
    keys.push_back(scalar_key("openfaas.password_file", "path", FIELD(openfaas.password_file),
                              parse_optional_file_path, as_is,
                              "File holding the gateway's basic-auth password (e.g. the mounted "
                              "basic-auth Secret's basic-auth-password); whitespace is trimmed."));
    keys.push_back(scalar_key("openfaas.timeout", duration, FIELD(openfaas.timeout),
                              positive_duration(), duration_text,
                              "Time limit for connecting to the gateway and for its answer."));
    // --- prometheus ---
    keys.push_back(scalar_key("prometheus.url", "URL", FIELD(prometheus.url), parse_url, url_text,
                              "Prometheus base URL. The reference's AGENT_PROMETHEUS_HOST and "
                              "AGENT_PROMETHEUS_PORT each replace their part of it."));
    keys.push_back(scalar_key("prometheus.timeout", duration, FIELD(prometheus.timeout),
                              positive_duration(), duration_text,
                              "Time limit of one query (also sent to Prometheus as its timeout)."));
    keys.push_back(scalar_key("prometheus.window", duration, FIELD(prometheus.window),
                              positive_duration(), duration_text,
                              "Range of rate() in the agent's queries; must cover at least 3 "
                              "scrapes (>= 3 x prometheus.scrape_interval)."));
    keys.push_back(scalar_key("prometheus.scrape_interval", duration,
                              FIELD(prometheus.scrape_interval), positive_duration(), duration_text,
                              "Scrape interval of the Prometheus the agent queries (5s in the "
                              "OpenFaaS and DFaaS deployments)."));
    keys.push_back(with_line_breaks(scalar_key(
        "prometheus.node_cpu_query", "PromQL template", FIELD(prometheus.node_cpu_query),
        parse_query_template, as_is,
        "Node CPU in percent of one core; $window is replaced by prometheus.window. The default "
        "uses node-exporter when scraped, else the CPU of all scraped processes. May span "
        "lines.")));
    keys.push_back(with_line_breaks(scalar_key(
        "prometheus.node_ram_query", "PromQL template", FIELD(prometheus.node_ram_query),
        parse_query_template, as_is,
        "Node memory in use in bytes; $window as above. The default uses node-exporter when "
        "scraped, else the RSS of all scraped processes. May span lines.")));
    keys.push_back(with_line_breaks(scalar_key(
        "prometheus.function_cpu_query", "PromQL template", FIELD(prometheus.function_cpu_query),
        parse_optional_query_template, as_is,
        "CPU of each function in percent of one core, one series per function labelled "
        "function_name (\"<name>\" or \"<name>.<namespace>\"); $window as above. The external "
        "model's cpu_utilization is the local functions' sum over the node's cores; without an "
        "answer, the node's CPU share. The default reads cAdvisor. Empty or blank = not asked.")));
    keys.push_back(with_line_breaks(scalar_key(
        "prometheus.node_cores_query", "PromQL template", FIELD(prometheus.node_cores_query),
        parse_optional_query_template, as_is,
        "The node's cores, which the external model's cpu_utilization is a share of (one "
        "number); without an answer, the cores of the agent's host. The default reads "
        "cAdvisor's machine_cpu_cores. Empty or blank = not asked.")));
    // --- api ---
    keys.push_back(
        scalar_key("api.listen", "ip:port", FIELD(api.listen), parse_endpoint, endpoint_text,
                   "Address of the agent's HTTP API (/healthz, /readyz, /metrics, /v1). Default "
                   "127.0.0.1:9080, or 0.0.0.0:9080 when api.token_file is set.",
                   {}, "127.0.0.1:9080 (0.0.0.0:9080 with api.token_file)"));
    keys.push_back(scalar_key("api.token_file", "path", FIELD(api.token_file),
                              parse_optional_file_path, as_is,
                              "File holding the control token that mutating API calls from "
                              "non-loopback clients must present; empty = loopback only."));
    keys.push_back(scalar_key("api.health_listen", "ip:port", FIELD(api.health_listen),
                              parse_endpoint, endpoint_text,
                              "Address of the health listener (/healthz, /readyz only, own "
                              "threads): the probes stay answered while the API is busy."));
    keys.push_back(scalar_key("api.max_connections_per_source", "count",
                              FIELD(api.max_connections_per_source),
                              unsigned_in<uint32_t>(1, kMaxConnectionsPerSource), uint_text,
                              "Open connections one client address may hold on the API and on "
                              "the health listener; more are refused at accept (503). At most "
                              "api.max_connections."));
    keys.push_back(scalar_key("api.max_connections", "count", FIELD(api.max_connections),
                              unsigned_in<uint32_t>(1, kMaxConnections), uint_text,
                              "Open connections of the API in total (one worker thread each)."));
    keys.push_back(scalar_key("api.read_timeout", duration, FIELD(api.read_timeout),
                              duration_in(kMinGuardTimeout, kMaxReadTimeout), duration_text,
                              "Longest wait for each read of an API request (and each write of "
                              "its answer), 100ms..1m."));
    keys.push_back(scalar_key("api.request_deadline", duration, FIELD(api.request_deadline),
                              duration_in(kMinGuardTimeout, kMaxRequestDeadline), duration_text,
                              "Time within which an API request's line, headers and body must "
                              "all arrive, 100ms..5m; a slower client is cut off (slow-loris)."));
    // --- peers ---
    keys.push_back(scalar_key("peers.listen_port", "port", FIELD(peers.listen_port), parse_port,
                              uint_text, "Port of the peer protocol (HTTP+JSON, signed)."));
    keys.push_back(seeds_key());
    keys.push_back(scalar_key("peers.cluster_key_file", "path", FIELD(peers.cluster_key_file),
                              parse_optional_file_path, as_is,
                              "File holding the cluster key that signs peer messages "
                              "(HMAC-SHA256); required when peers.seeds is set."));
    keys.push_back(scalar_key("peers.replay_window", duration, FIELD(peers.replay_window),
                              positive_duration(std::chrono::seconds(1)), duration_text,
                              "Peer messages whose timestamp is further than this from now are "
                              "rejected (at least 1s)."));
    keys.push_back(scalar_key("peers.control_tick", duration, FIELD(peers.control_tick),
                              positive_duration(std::chrono::milliseconds(100)), duration_text,
                              "How often dead peers are looked for between periods (100ms.."
                              "strategy.period)."));
    keys.push_back(scalar_key("peers.read_timeout", duration, FIELD(peers.read_timeout),
                              duration_in(kMinGuardTimeout, kMaxReadTimeout), duration_text,
                              "Longest wait for each read of a request on the peer port (and "
                              "each write of its answer), 100ms..1m."));
    keys.push_back(scalar_key("peers.request_deadline", duration, FIELD(peers.request_deadline),
                              duration_in(kMinGuardTimeout, kMaxRequestDeadline), duration_text,
                              "Time within which a peer request's line, headers and body must "
                              "all arrive, 100ms..5m; a slower client is cut off (slow-loris)."));
    keys.push_back(scalar_key("peers.max_connections_per_source", "count",
                              FIELD(peers.max_connections_per_source),
                              unsigned_in<uint32_t>(1, kMaxConnectionsPerSource), uint_text,
                              "Open connections one address may hold on the peer port; more "
                              "are refused at accept (503). At most peers.max_connections."));
    keys.push_back(scalar_key("peers.max_connections", "count", FIELD(peers.max_connections),
                              unsigned_in<uint32_t>(1, kMaxConnections), uint_text,
                              "Open connections of the peer port in total (one worker thread "
                              "each)."));
    // --- entry ---
    keys.push_back(scalar_key("entry.enabled", "bool", FIELD(entry.enabled), parse_bool, bool_text,
                              "Serve the entry port: POST|GET /function/<name> routed with the "
                              "function's policy and spliced in the kernel (sockhash)."));
    keys.push_back(scalar_key("entry.port", "port", FIELD(entry.port), parse_port, uint_text,
                              "Port of the entry (all addresses). Every node must use the same: "
                              "a connection routed to a peer goes to the peer's entry.port."));
    keys.push_back(scalar_key("entry.max_connections", "count", FIELD(entry.max_connections),
                              unsigned_in<uint32_t>(1, 1048576), uint_text,
                              "Open client connections of the entry (1..1048576); more are closed "
                              "at accept (counted). The splice maps hold twice as many sockets."));
    keys.push_back(scalar_key("entry.head_timeout", duration, FIELD(entry.head_timeout),
                              duration_in(kMinGuardTimeout, kMaxReadTimeout), duration_text,
                              "Time within which a client's first request head must arrive "
                              "(100ms..1m); a slower one is answered 408."));
    keys.push_back(scalar_key("entry.max_head_bytes", "bytes", FIELD(entry.max_head_bytes),
                              unsigned_in<uint32_t>(1024, 65536), uint_text,
                              "Largest first request head the entry reads (1024..65536); a larger "
                              "one is answered 431."));
    keys.push_back(scalar_key("entry.idle_timeout", duration, FIELD(entry.idle_timeout),
                              duration_in(kMinGuardTimeout, std::chrono::hours(1)), duration_text,
                              "A spliced connection that moves no byte either way for this long "
                              "is closed, counted (100ms..1h; the reference's HAProxy: 60s)."));
    // --- log ---
    keys.push_back(scalar_key("log.level", enum_type(log_level_names()), FIELD(log.level),
                              enum_of(log_level_names), enum_text, "Least severe level logged.",
                              {"AGENT_LOG_LEVEL"}));
    return keys;
}

#undef FIELD

}  // namespace

std::string RawValue::text() const {
    std::string joined;
    for (const auto &item : items)
        joined += (joined.empty() ? "" : ", ") + item;
    return joined;
}

std::vector<std::string> KeySpec::env_names() const {
    std::vector<std::string> names{generic_env_name(path)};
    names.insert(names.end(), env_aliases.begin(), env_aliases.end());
    return names;
}

const std::vector<KeySpec> &key_specs() {
    static const std::vector<KeySpec> specs = build_key_specs();
    return specs;
}

const KeySpec *find_key(std::string_view path) {
    for (const auto &spec : key_specs())
        if (spec.path == path) return &spec;
    return nullptr;
}

bool is_section(std::string_view path) {
    std::string prefix = std::string(path) + ".";
    return std::any_of(key_specs().begin(), key_specs().end(),
                       [&](const KeySpec &spec) { return spec.path.starts_with(prefix); });
}

std::vector<std::string> section_children(std::string_view section) {
    std::string prefix = section.empty() ? "" : std::string(section) + ".";
    std::vector<std::string> children;
    for (const auto &spec : key_specs()) {
        if (!spec.path.starts_with(prefix)) continue;
        std::string rest = spec.path.substr(prefix.size());
        std::string child = rest.substr(0, rest.find('.'));
        if (std::find(children.begin(), children.end(), child) == children.end())
            children.push_back(child);
    }
    return children;
}

const std::vector<UrlFromHostPort> &url_host_port_variables() {
    static const std::vector<UrlFromHostPort> variables{
        {"openfaas.url", "AGENT_OPENFAAS_HOST", "AGENT_OPENFAAS_PORT"},
        {"prometheus.url", "AGENT_PROMETHEUS_HOST", "AGENT_PROMETHEUS_PORT"}};
    return variables;
}

}  // namespace dfaas::config_detail
