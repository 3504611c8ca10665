// What a functions file describes: one FunctionSpec per simulated OpenFaaS function, validated.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faas_sim {

inline constexpr std::string_view kDefaultNamespace = "openfaas-fn";

// What a function answers. The service cost (cpu_ms, sleep_ms) is added on top of any of them.
enum class Behaviour {
    Figlet,  // the request body rendered as a banner, like the OpenFaaS store's Figlet
    Echo,    // the request body, unchanged
    Shasum,  // SHA-512 of the body in sha512sum's format, like the store's Shasum
    Env,     // the function's environment and the request as Http_* variables, like `Env`
    Cpu,     // only burns cpu_ms of CPU time
    Sleep,   // only waits sleep_ms
};

std::string_view behaviour_name(Behaviour behaviour);

struct FunctionSpec {
    std::string name;
    std::string namespace_name{kDefaultNamespace};
    std::string image;
    std::string env_process;  // FunctionStatus.envProcess; omitted from JSON when empty
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    std::map<std::string, std::string> env_vars;
    std::map<std::string, std::string> limits;    // memory/cpu quantities, passed through
    std::map<std::string, std::string> requests;  // memory/cpu quantities, passed through
    uint64_t replicas = 1;
    // Concurrent requests one replica accepts (the watchdog's max_inflight); 0 = unlimited.
    uint64_t max_inflight = 0;
    Behaviour behaviour = Behaviour::Echo;
    double cpu_ms =
        0;  // CPU time burnt per request (thread CPU time, so it slows under contention)
    double sleep_ms = 0;  // wall time waited per request without using CPU

    // The node model (only with a top-level `node`, see NodeSpec); zero values when absent.
    double cost_ms = 0;      // virtual CPU time per request: one of the node's CPUs held this long
    uint64_t memory_mb = 0;  // memory of one replica
    uint64_t request_memory_mb = 0;  // memory of one admitted request (running or queued)
    uint64_t queue = 0;              // requests that may wait for a CPU; beyond, 429
    // The longest wait for a CPU from arrival (then 502), and the longest run from start (then
    // 408, the watchdog's exec_timeout); 0 = no timeout, as the watchdog's default.
    uint64_t timeout_ms = 0;

    // "<name>.<namespace>", the gateway's function_name metric label.
    std::string qualified_name() const { return name + "." + namespace_name; }
};

// The node the functions share (the `node` key of a functions file): `cpus` virtual CPUs, each
// running one request at a time for the request's cost_ms, and memory_mb of memory of which
// base_memory_mb is used before any function (system, gateway).
struct NodeSpec {
    uint32_t cpus = 1;
    uint64_t memory_mb = 0;
    uint64_t base_memory_mb = 0;
};

// A whole functions file: the functions and, when the file has one, the node model.
struct FunctionsDocument {
    std::optional<NodeSpec> node;
    std::vector<FunctionSpec> functions;
};

// A functions file that cannot be used. what() names the file, the line when known, the
// function and the key.
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Parses a functions document (YAML, or JSON which is read as YAML after a strict JSON syntax
// check). `source` names the document in error messages (usually the file path).
FunctionsDocument parse_functions_document(std::string_view text, const std::string &source,
                                           bool strict_json);

// The functions of a document that has no `node` (ConfigError when it has one, which these
// functions alone could not serve as written).
std::vector<FunctionSpec> parse_functions(std::string_view text, const std::string &source,
                                          bool strict_json);

// Reads and parses a functions file; `.json` files get the strict JSON syntax check.
FunctionsDocument load_functions_document(const std::filesystem::path &path);
// The same for a file without `node` (ConfigError when it has one).
std::vector<FunctionSpec> load_functions_file(const std::filesystem::path &path);

}  // namespace faas_sim
