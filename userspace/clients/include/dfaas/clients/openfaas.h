// OpenFaaS gateway client: the list of deployed functions (GET /system/functions) and the dfaas.*
// labels the agent reads from them.
//
// The gateway omits zero values (`replicas`, `availableReplicas`, `invocationCount`), may send
// `null` labels/annotations and adds fields over time: all of that is tolerated. A body that is
// not JSON, or a field with the wrong type, makes the whole answer an error naming the function
// and the field, because a gateway that sends it speaks an API this code does not know.
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

namespace dfaas {

// Label names the agent understands.
inline constexpr std::string_view kLabelMaxRate = "dfaas.maxrate";  // req/s, unsigned
inline constexpr std::string_view kLabelPort = "dfaas.port";        // 1..65535
inline constexpr std::string_view kLabelGroup = "dfaas.group";  // HIGH_USAGE|LOW_USAGE|MEDIUM_USAGE
inline constexpr std::string_view kLabelTimeoutMs = "dfaas.timeout_ms";  // milliseconds, > 0

// A dfaas.* label that is present but unusable: the function is still listed, the label ignored.
struct LabelProblem {
    std::string label;   // e.g. "dfaas.port"
    std::string value;   // the text found
    std::string reason;  // e.g. "is not a port number in 1..65535"

    bool operator==(const LabelProblem &) const = default;
};

// The dfaas.* labels of one function, each absent when the label is absent or invalid.
struct DfaasLabels {
    std::optional<uint32_t> max_rate;    // dfaas.maxrate
    std::optional<uint16_t> port;        // dfaas.port
    std::optional<FunctionGroup> group;  // dfaas.group
    std::optional<uint32_t> timeout_ms;  // dfaas.timeout_ms: checked, not enforced (agent warns)
    std::vector<LabelProblem> problems;  // one entry per present-but-invalid label

    bool operator==(const DfaasLabels &) const = default;
};

// Reads the dfaas.* labels; never fails (bad values become `problems`).
DfaasLabels parse_dfaas_labels(const std::map<std::string, std::string> &labels);

// One element of GET /system/functions (the gateway's FunctionStatus), fields the agent uses.
struct FunctionInfo {
    std::string name;
    std::string namespace_name;  // "namespace" in the JSON; empty when the gateway omits it
    std::string image;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    uint64_t replicas = 0;            // desired replicas
    uint64_t available_replicas = 0;  // ready replicas
    double invocation_count = 0;      // added by the gateway from Prometheus; 0 when absent
    DfaasLabels dfaas;                // parsed from `labels`

    bool operator==(const FunctionInfo &) const = default;
};

// Parses the body of GET /system/functions. `null` is an empty list (Go encodes a nil slice so).
// Errors name the position and field, e.g. "functions[2] (\"figlet\").replicas: expected a
// non-negative integer, got string".
Result<std::vector<FunctionInfo>> parse_function_list(std::string_view json_body);

struct OpenFaasClientOptions {
    HttpUrl gateway;                          // e.g. http://127.0.0.1:8080
    std::string username;                     // empty: no authentication
    std::string password;                     // used when username is set
    std::chrono::milliseconds timeout{2000};  // for connecting and for the answer
};

class OpenFaasClient {
  public:
    explicit OpenFaasClient(OpenFaasClientOptions options);

    // GET /system/functions. Errors start with "GET <url>: " and say what failed (transport,
    // HTTP status with the body's first line, or parsing).
    Result<std::vector<FunctionInfo>> list_functions() const;

  private:
    OpenFaasClientOptions options_;
};

}  // namespace dfaas
