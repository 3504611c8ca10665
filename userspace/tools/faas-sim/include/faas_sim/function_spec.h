// What a functions file describes: one FunctionSpec per simulated OpenFaaS function, validated.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
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

    // "<name>.<namespace>", the gateway's function_name metric label.
    std::string qualified_name() const { return name + "." + namespace_name; }
};

// A functions file that cannot be used. what() names the file, the line when known, the
// function and the key.
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Parses a functions document (YAML, or JSON which is read as YAML after a strict JSON syntax
// check). `source` names the document in error messages (usually the file path).
std::vector<FunctionSpec> parse_functions(std::string_view text, const std::string &source,
                                          bool strict_json);

// Reads and parses a functions file; `.json` files get the strict JSON syntax check.
std::vector<FunctionSpec> load_functions_file(const std::filesystem::path &path);

}  // namespace faas_sim
