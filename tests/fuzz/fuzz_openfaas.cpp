// libFuzzer target for the OpenFaaS gateway's answer to GET /system/functions
// (parse_function_list) and the dfaas.* labels it carries (parse_dfaas_labels). The gateway is
// a separate service the agent trusts only for data: a broken or hostile answer must become an
// error or a listed label problem, never a crash. Checks, for every input:
//   1. the parser returns (no crash, hang, escaping exception or sanitizer report) and a refusal
//      says why;
//   2. every listed function has a name, and its parsed labels are exactly what
//      parse_dfaas_labels() makes of its label map, with values in their documented ranges and
//      one problem per present-but-unusable dfaas.* label.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "dfaas/clients/openfaas.h"

namespace {

[[noreturn]] void fail(const char *what, std::string_view detail) {
    std::fprintf(stderr, "fuzz_openfaas: %s: %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

// A parsed number must be the label's text read as a decimal (leading zeros aside): a value
// that wrapped or was clamped on the way into a narrower type reads differently.
template <class T>
void check_number(const dfaas::FunctionInfo &function, std::string_view label,
                  const std::optional<T> &value) {
    if (!value) return;
    auto it = function.labels.find(std::string(label));
    if (it == function.labels.end()) fail("a label parsed that is not there", label);
    std::string_view text = it->second;
    while (text.size() > 1 && text.front() == '0')
        text.remove_prefix(1);
    if (text != std::to_string(*value)) fail("a label's number differs from its text", it->second);
}

void check_labels(const dfaas::FunctionInfo &function) {
    check_number(function, dfaas::kLabelMaxRate, function.dfaas.max_rate);
    check_number(function, dfaas::kLabelPort, function.dfaas.port);
    check_number(function, dfaas::kLabelTimeoutMs, function.dfaas.timeout_ms);
    const dfaas::DfaasLabels &labels = function.dfaas;
    if (!(dfaas::parse_dfaas_labels(function.labels) == labels))
        fail("labels parsed differently the second time", function.name);
    if (labels.port && *labels.port == 0) fail("dfaas.port 0 accepted", function.name);
    if (labels.timeout_ms && *labels.timeout_ms == 0)
        fail("dfaas.timeout_ms 0 accepted", function.name);
    size_t present = 0;
    for (std::string_view name :
         {dfaas::kLabelMaxRate, dfaas::kLabelPort, dfaas::kLabelGroup, dfaas::kLabelTimeoutMs})
        present += function.labels.count(std::string(name));
    const size_t parsed = labels.max_rate.has_value() + labels.port.has_value() +
                          labels.group.has_value() + labels.timeout_ms.has_value();
    if (parsed + labels.problems.size() != present)
        fail("a dfaas.* label neither parsed nor listed as a problem", function.name);
    for (const auto &problem : labels.problems)
        if (problem.label.empty() || problem.reason.empty())
            fail("a label problem without a label or a reason", function.name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view body(reinterpret_cast<const char *>(data), size);
    const auto functions = dfaas::parse_function_list(body);
    if (!functions) {
        if (functions.error().empty()) fail("a refusal without a message", body);
        return 0;
    }
    for (const auto &function : *functions) {
        if (function.name.empty()) fail("a function without a name", body);
        check_labels(function);
    }
    return 0;
}
