#include "faas_sim/function_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

namespace faas_sim {

std::string_view behaviour_name(Behaviour behaviour) {
    switch (behaviour) {
        case Behaviour::Figlet:
            return "figlet";
        case Behaviour::Echo:
            return "echo";
        case Behaviour::Shasum:
            return "shasum";
        case Behaviour::Env:
            return "env";
        case Behaviour::Cpu:
            return "cpu";
        case Behaviour::Sleep:
            return "sleep";
    }
    return "unknown";
}

namespace {

constexpr Behaviour kAllBehaviours[] = {Behaviour::Figlet, Behaviour::Echo, Behaviour::Shasum,
                                        Behaviour::Env,    Behaviour::Cpu,  Behaviour::Sleep};

// Bounds that catch typos (an extra zero) without getting in the way of experiments.
constexpr uint64_t kMaxReplicas = 1000;
constexpr uint64_t kMaxInflight = 100000;
constexpr double kMaxServiceMs = 600000;  // ten minutes
constexpr size_t kMaxNameLength = 63;     // a Kubernetes object name
// The node model's bounds, as loose: a VM of 1024 CPUs and 16 TiB, a function of 1 TiB.
constexpr uint64_t kMaxNodeCpus = 1024;
constexpr uint64_t kMaxNodeMemoryMb = 16ULL << 20;
constexpr uint64_t kMaxFunctionMemoryMb = 1ULL << 20;
constexpr uint64_t kMaxQueue = 100000;
constexpr uint64_t kMaxTimeoutMs = 600000;  // ten minutes

constexpr std::string_view kFunctionKeys[] = {
    "name",    "namespace", "image",    "envProcess",        "labels",    "annotations", "env",
    "limits",  "requests",  "replicas", "max_inflight",      "behaviour", "cpu_ms",      "sleep_ms",
    "cost_ms", "memory_mb", "queue",    "request_memory_mb", "timeout_ms"};
// The keys of the node model, valid only with a top-level `node`.
constexpr std::string_view kNodeModelFunctionKeys[] = {"cost_ms", "memory_mb", "queue",
                                                       "request_memory_mb", "timeout_ms"};
constexpr std::string_view kNodeKeys[] = {"cpus", "memory_mb", "base_memory_mb"};
constexpr std::string_view kResourceKeys[] = {"memory", "cpu"};

// Edit distance, only to suggest the intended key for a misspelt one.
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
            diagonal = above;
        }
    }
    return row[b.size()];
}

template <size_t N>
std::string join_keys(const std::string_view (&keys)[N]) {
    std::string out;
    for (auto key : keys) {
        if (!out.empty()) out += ", ";
        out += key;
    }
    return out;
}

template <size_t N>
std::optional<std::string_view> closest_key(std::string_view key,
                                            const std::string_view (&keys)[N]) {
    for (auto candidate : keys) {
        if (edit_distance(key, candidate) <= 2) return candidate;
    }
    return std::nullopt;
}

bool is_valid_object_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

std::optional<uint64_t> parse_unsigned(std::string_view text) {
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || text.empty()) {
        return std::nullopt;
    }
    return value;
}

std::optional<double> parse_number(std::string_view text) {
    double value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || text.empty() ||
        !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

// Validates one document. Every error names the source, the line, the function and the key.
class FunctionsParser {
  public:
    explicit FunctionsParser(std::string source) : source_(std::move(source)) {}

    FunctionsDocument parse_document(const YAML::Node &root) {
        FunctionsDocument document;
        std::optional<YAML::Node> node_key;
        const YAML::Node list = functions_node(root, node_key);
        if (node_key) document.node = node_spec(*node_key);
        has_node_ = document.node.has_value();
        std::vector<FunctionSpec> &specs = document.functions;
        if (list.IsSequence()) {
            for (size_t i = 0; i < list.size(); ++i) {
                context_ = "functions[" + std::to_string(i) + "]";
                specs.push_back(parse_function(list[i], std::nullopt));
            }
        } else {
            for (auto it = list.begin(); it != list.end(); ++it) {
                context_ = "functions." + it->first.Scalar();
                specs.push_back(parse_function(it->second, it->first));
            }
        }
        check_unique(specs);
        if (document.node) check_node_memory(*document.node, specs, *node_key);
        return document;
    }

  private:
    [[noreturn]] void fail(const YAML::Mark &mark, const std::string &message) const {
        std::string where = source_;
        if (!mark.is_null()) where += ":" + std::to_string(mark.line + 1);
        if (!context_.empty()) where += ": " + context_;
        throw ConfigError(where + ": " + message);
    }

    // The functions list; `node` receives the top-level `node` key's value when there is one.
    YAML::Node functions_node(const YAML::Node &root, std::optional<YAML::Node> &node) {
        if (!root || root.IsNull()) {
            fail(YAML::Mark::null_mark(),
                 "the file is empty; expected a list of functions or a map with the key "
                 "'functions'");
        }
        if (root.IsSequence()) return root;
        if (!root.IsMap()) {
            fail(root.Mark(), "expected a list of functions or a map with the key 'functions'");
        }
        YAML::Node functions;
        for (auto it = root.begin(); it != root.end(); ++it) {
            const std::string &key = it->first.Scalar();
            if (key == "node") {
                if (node) fail(it->first.Mark(), "duplicate key 'node'");
                node.emplace(it->second);
                continue;
            }
            if (key != "functions") {
                fail(it->first.Mark(), "unknown top-level key '" + key +
                                           "' (expected 'functions' and optionally 'node')");
            }
            functions = it->second;
        }
        if (!functions) fail(root.Mark(), "missing the key 'functions'");
        if (functions.IsNull()) return YAML::Node(YAML::NodeType::Sequence);
        if (!functions.IsSequence() && !functions.IsMap()) {
            fail(functions.Mark(),
                 "'functions' must be a list of functions or a map from name to function");
        }
        return functions;
    }

    FunctionSpec parse_function(const YAML::Node &node, const std::optional<YAML::Node> &map_key) {
        if (!node.IsMap()) fail(node.Mark(), "a function must be a map of keys");
        name_context(node, map_key);
        std::unordered_map<std::string, YAML::Node> keys = collect_keys(node);
        FunctionSpec spec;
        spec.name = function_name(node, keys, map_key);

        if (auto it = keys.find("namespace"); it != keys.end()) {
            spec.namespace_name = object_name(it->second, "namespace");
        }
        if (auto it = keys.find("behaviour"); it != keys.end()) {
            spec.behaviour = behaviour(it->second);
        }
        spec.replicas = bounded_unsigned(keys, "replicas", 1, kMaxReplicas);
        spec.max_inflight = bounded_unsigned(keys, "max_inflight", 0, kMaxInflight);
        spec.cpu_ms = service_ms(keys, "cpu_ms");
        spec.sleep_ms = service_ms(keys, "sleep_ms");
        node_model_keys(spec, node, keys);
        spec.labels = string_map(keys, "labels");
        spec.annotations = string_map(keys, "annotations");
        spec.env_vars = string_map(keys, "env");
        spec.limits = resources(keys, "limits");
        spec.requests = resources(keys, "requests");
        spec.image =
            optional_string(keys, "image")
                .value_or("faas-sim/" + std::string(behaviour_name(spec.behaviour)) + ":latest");
        spec.env_process =
            optional_string(keys, "envProcess").value_or(default_env_process(spec.behaviour));

        check_behaviour_cost(spec, node);
        check_dfaas_labels(spec, keys);
        add_provider_defaults(spec);
        return spec;
    }

    // The top-level `node`: every key bounded, every key named in its error.
    NodeSpec node_spec(const YAML::Node &node) {
        context_ = "node";
        if (!node.IsMap()) fail(node.Mark(), "'node' must be a map with the keys cpus, memory_mb");
        std::unordered_map<std::string, YAML::Node> keys;
        for (auto it = node.begin(); it != node.end(); ++it) {
            const std::string &key = it->first.Scalar();
            if (std::find(std::begin(kNodeKeys), std::end(kNodeKeys), key) == std::end(kNodeKeys)) {
                std::string message = "unknown key '" + key + "'";
                if (auto hint = closest_key(key, kNodeKeys)) {
                    message += " (did you mean '" + std::string(*hint) + "'?)";
                } else {
                    message += " (known keys: " + join_keys(kNodeKeys) + ")";
                }
                fail(it->first.Mark(), message);
            }
            if (!keys.emplace(key, it->second).second) {
                fail(it->first.Mark(), "duplicate key '" + key + "'");
            }
        }
        for (const char *required : {"cpus", "memory_mb"}) {
            if (keys.count(required) == 0)
                fail(node.Mark(), std::string("missing '") + required + "'");
        }
        NodeSpec spec;
        spec.cpus = static_cast<uint32_t>(bounded_unsigned(keys, "cpus", 1, kMaxNodeCpus, 1));
        spec.memory_mb = bounded_unsigned(keys, "memory_mb", 1, kMaxNodeMemoryMb, 1);
        spec.base_memory_mb = bounded_unsigned(keys, "base_memory_mb", 0, spec.memory_mb, 0);
        context_.clear();
        return spec;
    }

    // cost_ms, memory_mb, request_memory_mb, queue, timeout_ms: only in a node model, where
    // cost_ms is required (a function without a CPU cost would not be part of the model).
    void node_model_keys(FunctionSpec &spec, const YAML::Node &node,
                         const std::unordered_map<std::string, YAML::Node> &keys) {
        if (!has_node_) {
            for (auto key : kNodeModelFunctionKeys) {
                if (auto it = keys.find(std::string(key)); it != keys.end()) {
                    fail(it->second.Mark(), "'" + std::string(key) +
                                                "' belongs to the node model and needs a "
                                                "top-level 'node' (cpus, memory_mb)");
                }
            }
            return;
        }
        if (keys.count("cost_ms") == 0) {
            fail(node.Mark(),
                 "missing 'cost_ms': with a top-level 'node' every function needs "
                 "its CPU cost per request");
        }
        spec.cost_ms = service_ms(keys, "cost_ms");
        if (spec.cost_ms <= 0) {
            fail(keys.at("cost_ms").Mark(), "'cost_ms' must be greater than 0");
        }
        spec.memory_mb = bounded_unsigned(keys, "memory_mb", 0, kMaxFunctionMemoryMb);
        spec.request_memory_mb =
            bounded_unsigned(keys, "request_memory_mb", 0, kMaxFunctionMemoryMb);
        spec.queue = bounded_unsigned(keys, "queue", 0, kMaxQueue);
        spec.timeout_ms = bounded_unsigned(keys, "timeout_ms", 0, kMaxTimeoutMs);
    }

    // The replicas as the file starts them must fit in the node's memory.
    void check_node_memory(const NodeSpec &node, const std::vector<FunctionSpec> &specs,
                           const YAML::Node &node_key) {
        uint64_t used = node.base_memory_mb;
        for (const FunctionSpec &spec : specs)
            used += spec.replicas * spec.memory_mb;  // both bounded: no overflow
        if (used > node.memory_mb) {
            context_ = "node";
            fail(node_key.Mark(), "the functions' replicas need " + std::to_string(used) +
                                      " MB with base_memory_mb, more than memory_mb " +
                                      std::to_string(node.memory_mb));
        }
    }

    // Adds the function's name to error messages as early as it can be known.
    void name_context(const YAML::Node &node, const std::optional<YAML::Node> &map_key) {
        if (map_key) return;  // the context already says functions.<name>
        const YAML::Node name = node["name"];
        if (name && name.IsScalar()) context_ += " (" + name.Scalar() + ")";
    }

    std::unordered_map<std::string, YAML::Node> collect_keys(const YAML::Node &node) {
        std::unordered_map<std::string, YAML::Node> keys;
        for (auto it = node.begin(); it != node.end(); ++it) {
            const std::string &key = it->first.Scalar();
            if (std::find(std::begin(kFunctionKeys), std::end(kFunctionKeys), key) ==
                std::end(kFunctionKeys)) {
                std::string message = "unknown key '" + key + "'";
                if (auto hint = closest_key(key, kFunctionKeys)) {
                    message += " (did you mean '" + std::string(*hint) + "'?)";
                } else {
                    message += " (known keys: " + join_keys(kFunctionKeys) + ")";
                }
                fail(it->first.Mark(), message);
            }
            if (!keys.emplace(key, it->second).second) {
                fail(it->first.Mark(), "duplicate key '" + key + "'");
            }
        }
        return keys;
    }

    std::string function_name(const YAML::Node &node,
                              const std::unordered_map<std::string, YAML::Node> &keys,
                              const std::optional<YAML::Node> &map_key) {
        auto it = keys.find("name");
        if (map_key) {
            std::string name = object_name(*map_key, "name");
            if (it != keys.end() && it->second.Scalar() != name) {
                fail(it->second.Mark(), "'name' is '" + it->second.Scalar() +
                                            "' but the function is listed under '" + name + "'");
            }
            return name;
        }
        if (it == keys.end()) fail(node.Mark(), "missing the required key 'name'");
        return object_name(it->second, "name");
    }

    std::string scalar(const YAML::Node &node, const std::string &key) {
        if (!node.IsScalar()) fail(node.Mark(), "'" + key + "' must be a string");
        return node.Scalar();
    }

    std::string object_name(const YAML::Node &node, const std::string &key) {
        std::string name = scalar(node, key);
        if (!is_valid_object_name(name)) {
            fail(node.Mark(), "'" + key + "' is '" + name +
                                  "'; it must be 1-63 characters of letters, digits, '-' and "
                                  "'_' (a '.' would be read as the name/namespace separator)");
        }
        return name;
    }

    std::optional<std::string> optional_string(
        const std::unordered_map<std::string, YAML::Node> &keys, const std::string &key) {
        auto it = keys.find(key);
        if (it == keys.end()) return std::nullopt;
        std::string value = scalar(it->second, key);
        if (value.empty()) fail(it->second.Mark(), "'" + key + "' must not be empty");
        return value;
    }

    Behaviour behaviour(const YAML::Node &node) {
        std::string name = scalar(node, "behaviour");
        for (Behaviour candidate : kAllBehaviours) {
            if (behaviour_name(candidate) == name) return candidate;
        }
        fail(node.Mark(), "unknown behaviour '" + name +
                              "' (expected one of figlet, echo, shasum, env, cpu, sleep)");
    }

    uint64_t bounded_unsigned(const std::unordered_map<std::string, YAML::Node> &keys,
                              const std::string &key, uint64_t fallback, uint64_t maximum,
                              uint64_t minimum = 0) {
        auto it = keys.find(key);
        if (it == keys.end()) return fallback;
        std::string text = scalar(it->second, key);
        std::optional<uint64_t> value = parse_unsigned(text);
        if (!value || *value < minimum || *value > maximum) {
            fail(it->second.Mark(), "'" + key + "' must be an integer from " +
                                        std::to_string(minimum) + " to " + std::to_string(maximum) +
                                        ", got '" + text + "'");
        }
        return *value;
    }

    double service_ms(const std::unordered_map<std::string, YAML::Node> &keys,
                      const std::string &key) {
        auto it = keys.find(key);
        if (it == keys.end()) return 0;
        std::string text = scalar(it->second, key);
        std::optional<double> value = parse_number(text);
        if (!value || *value < 0 || *value > kMaxServiceMs) {
            fail(it->second.Mark(), "'" + key + "' must be a number of milliseconds from 0 to " +
                                        std::to_string(static_cast<int>(kMaxServiceMs)) +
                                        ", got '" + text + "'");
        }
        return *value;
    }

    std::map<std::string, std::string> string_map(
        const std::unordered_map<std::string, YAML::Node> &keys, const std::string &key) {
        std::map<std::string, std::string> out;
        auto it = keys.find(key);
        if (it == keys.end() || it->second.IsNull()) return out;
        const YAML::Node &node = it->second;
        if (!node.IsMap()) fail(node.Mark(), "'" + key + "' must be a map of strings");
        for (auto entry = node.begin(); entry != node.end(); ++entry) {
            const std::string &name = entry->first.Scalar();
            if (!entry->first.IsScalar() || name.empty()) {
                fail(entry->first.Mark(), "'" + key + "' has an empty or non-string key");
            }
            if (!entry->second.IsScalar()) {
                fail(entry->second.Mark(),
                     "'" + key + "." + name + "' must be a string, number or boolean");
            }
            if (!out.emplace(name, entry->second.Scalar()).second) {
                fail(entry->first.Mark(), "duplicate key '" + key + "." + name + "'");
            }
        }
        return out;
    }

    std::map<std::string, std::string> resources(
        const std::unordered_map<std::string, YAML::Node> &keys, const std::string &key) {
        std::map<std::string, std::string> out = string_map(keys, key);
        for (const auto &[name, value] : out) {
            if (std::find(std::begin(kResourceKeys), std::end(kResourceKeys), name) ==
                std::end(kResourceKeys)) {
                fail(keys.at(key).Mark(),
                     "'" + key + "." + name + "' is not a resource (expected memory or cpu)");
            }
        }
        return out;
    }

    static std::string default_env_process(Behaviour behaviour) {
        switch (behaviour) {
            case Behaviour::Figlet:
                return "figlet";
            case Behaviour::Echo:
                return "cat";
            case Behaviour::Shasum:
                return "sha512sum";
            case Behaviour::Env:
                return "env";
            case Behaviour::Cpu:
            case Behaviour::Sleep:
                return "";
        }
        return "";
    }

    void check_behaviour_cost(const FunctionSpec &spec, const YAML::Node &node) {
        if (spec.behaviour == Behaviour::Cpu && spec.cpu_ms <= 0) {
            fail(node.Mark(), "behaviour 'cpu' needs 'cpu_ms' greater than 0");
        }
        if (spec.behaviour == Behaviour::Sleep && spec.sleep_ms <= 0) {
            fail(node.Mark(), "behaviour 'sleep' needs 'sleep_ms' greater than 0");
        }
    }

    // The agent reads these labels; a bad value here would only surface there, much later.
    void check_dfaas_labels(const FunctionSpec &spec,
                            const std::unordered_map<std::string, YAML::Node> &keys) {
        auto check = [&](const std::string &label, uint64_t minimum, uint64_t maximum) {
            auto it = spec.labels.find(label);
            if (it == spec.labels.end()) return;
            std::optional<uint64_t> value = parse_unsigned(it->second);
            if (!value || *value < minimum || *value > maximum) {
                fail(keys.at("labels").Mark(),
                     "label '" + label + "' is '" + it->second + "'; it must be an integer from " +
                         std::to_string(minimum) + " to " + std::to_string(maximum));
            }
        };
        check("dfaas.maxrate", 0, std::numeric_limits<uint32_t>::max());
        check("dfaas.port", 1, 65535);
        check("dfaas.timeout_ms", 1, std::numeric_limits<uint32_t>::max());
        if (auto it = spec.labels.find("dfaas.group");
            it != spec.labels.end() && it->second.empty()) {
            fail(keys.at("labels").Mark(), "label 'dfaas.group' must not be empty");
        }
    }

    // faas-netes always reports these; clients may rely on them.
    static void add_provider_defaults(FunctionSpec &spec) {
        spec.labels.try_emplace("faas_function", spec.name);
        spec.annotations.try_emplace("prometheus.io.scrape", "false");
    }

    void check_unique(const std::vector<FunctionSpec> &specs) {
        context_.clear();
        std::set<std::string> names;
        std::map<std::string, std::string> ports;
        for (const FunctionSpec &spec : specs) {
            if (!names.insert(spec.name).second) {
                fail(YAML::Mark::null_mark(), "function '" + spec.name +
                                                  "' is defined twice (names must be unique "
                                                  "across namespaces)");
            }
            auto port = spec.labels.find("dfaas.port");
            if (port == spec.labels.end()) continue;
            auto [previous, inserted] = ports.emplace(port->second, spec.name);
            if (!inserted) {
                fail(YAML::Mark::null_mark(), "functions '" + previous->second + "' and '" +
                                                  spec.name + "' both pin dfaas.port " +
                                                  port->second);
            }
        }
    }

    std::string source_;
    std::string context_;
    bool has_node_ = false;
};

}  // namespace

FunctionsDocument parse_functions_document(std::string_view text, const std::string &source,
                                           bool strict_json) {
    if (strict_json) {
        try {
            // Only the syntax is checked here; yaml-cpp reads the content with line numbers.
            [[maybe_unused]] const auto document = nlohmann::json::parse(text);
        } catch (const nlohmann::json::parse_error &error) {
            throw ConfigError(source + ": invalid JSON: " + error.what());
        }
    }
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception &error) {
        throw ConfigError(source + ":" + std::to_string(error.mark.line + 1) +
                          ": invalid YAML: " + error.msg);
    }
    return FunctionsParser(source).parse_document(root);
}

FunctionsDocument load_functions_document(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path.string() + ": cannot open the functions file");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw ConfigError(path.string() + ": cannot read the functions file");
    return parse_functions_document(text.str(), path.string(), path.extension() == ".json");
}

namespace {

std::vector<FunctionSpec> without_node(FunctionsDocument document, const std::string &source) {
    if (document.node) {
        throw ConfigError(source + ": has a 'node' (the node model); read it as a whole document");
    }
    return std::move(document.functions);
}

}  // namespace

std::vector<FunctionSpec> parse_functions(std::string_view text, const std::string &source,
                                          bool strict_json) {
    return without_node(parse_functions_document(text, source, strict_json), source);
}

std::vector<FunctionSpec> load_functions_file(const std::filesystem::path &path) {
    return without_node(load_functions_document(path), path.string());
}

}  // namespace faas_sim
