// Parsing of GET /system/functions (faas-provider FunctionStatus) and of the dfaas.* labels.
#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <limits>

#include "dfaas/clients/openfaas.h"

namespace dfaas {
namespace {

using nlohmann::json;

// How a JSON value that had the wrong type looked, for messages: `string "12"`, `-1`, `an array`.
std::string describe_found(const json &value) {
    if (value.is_string()) {
        std::string text = value.get<std::string>();
        if (text.size() > 40) text = text.substr(0, 40) + "...";
        return "string \"" + text + "\"";
    }
    if (value.is_number() || value.is_boolean()) return value.dump();
    if (value.is_object()) return "an object";
    if (value.is_array()) return "an array";
    return value.type_name();
}

// Reads the fields of one JSON object, tolerating absent and null fields (the gateway omits zero
// values). The first field with a wrong type is remembered as the error, later reads are skipped.
class FieldReader {
  public:
    FieldReader(const json &object, std::string where)
        : object_(object), where_(std::move(where)) {}

    std::string string(std::string_view key) {
        const json *value = present(key);
        if (!value) return {};
        if (value->is_string()) return value->get<std::string>();
        wrong_type(key, "a string", *value);
        return {};
    }

    uint64_t count(std::string_view key) {
        const json *value = present(key);
        if (!value) return 0;
        if (value->is_number_unsigned()) return value->get<uint64_t>();
        // Go marshals uint64 as an integer; tolerate 2.0 from proxies that re-encode numbers.
        if (value->is_number_float()) {
            double number = value->get<double>();
            if (number >= 0 && number < 1.8e19 && std::floor(number) == number)
                return static_cast<uint64_t>(number);
        }
        wrong_type(key, "a non-negative integer", *value);
        return 0;
    }

    double non_negative_number(std::string_view key) {
        const json *value = present(key);
        if (!value) return 0;
        if (value->is_number() && value->get<double>() >= 0) return value->get<double>();
        wrong_type(key, "a non-negative number", *value);
        return 0;
    }

    std::map<std::string, std::string> string_map(std::string_view key) {
        std::map<std::string, std::string> result;
        const json *value = present(key);
        if (!value) return result;
        if (!value->is_object()) {
            wrong_type(key, "an object of strings", *value);
            return result;
        }
        for (const auto &[name, text] : value->items()) {
            if (!text.is_string()) {
                wrong_type(std::string(key) + "[\"" + name + "\"]", "a string", text);
                return {};
            }
            result.emplace(name, text.get<std::string>());
        }
        return result;
    }

    const std::optional<std::string> &error() const { return error_; }

  private:
    // Missing and null both mean "left out".
    const json *present(std::string_view key) const {
        if (error_) return nullptr;
        auto it = object_.find(key);
        if (it == object_.end() || it->is_null()) return nullptr;
        return &*it;
    }

    void wrong_type(std::string_view field, std::string_view expected, const json &found) {
        error_ = where_ + "." + std::string(field) + ": expected " + std::string(expected) +
                 ", got " + describe_found(found);
    }

    const json &object_;
    std::string where_;
    std::optional<std::string> error_;
};

// functions[3], or once the name is known: functions[3] ("figlet")
std::string element_label(size_t index, const std::string &name) {
    std::string label = "functions[" + std::to_string(index) + "]";
    return name.empty() ? label : label + " (\"" + name + "\")";
}

Result<FunctionInfo> parse_function(const json &element, size_t index) {
    if (!element.is_object())
        return fail(element_label(index, "") + ": expected an object, got " +
                    describe_found(element));
    FieldReader name_reader(element, element_label(index, ""));
    FunctionInfo info;
    info.name = name_reader.string("name");
    if (name_reader.error()) return fail(*name_reader.error());
    if (info.name.empty())
        return fail(element_label(index, "") + ".name: missing or empty (every function has one)");

    FieldReader fields(element, element_label(index, info.name));
    info.namespace_name = fields.string("namespace");
    info.image = fields.string("image");
    info.labels = fields.string_map("labels");
    info.annotations = fields.string_map("annotations");
    info.replicas = fields.count("replicas");
    info.available_replicas = fields.count("availableReplicas");
    info.invocation_count = fields.non_negative_number("invocationCount");
    if (fields.error()) return fail(*fields.error());
    info.dfaas = parse_dfaas_labels(info.labels);
    return info;
}

// Digits only (no sign, no spaces, no exponent), within [min, max].
std::optional<uint64_t> parse_bounded_unsigned(std::string_view text, uint64_t min, uint64_t max) {
    uint64_t value = 0;
    if (text.empty() || text.front() == '+' || text.front() == '-') return std::nullopt;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    if (value < min || value > max) return std::nullopt;
    return value;
}

template <class T>
void read_unsigned_label(const std::map<std::string, std::string> &labels, std::string_view label,
                         uint64_t min, std::string_view reason, std::optional<T> &out,
                         std::vector<LabelProblem> &problems) {
    auto it = labels.find(std::string(label));
    if (it == labels.end()) return;
    if (auto value = parse_bounded_unsigned(it->second, min, std::numeric_limits<T>::max()))
        out = static_cast<T>(*value);
    else
        problems.push_back({std::string(label), it->second, std::string(reason)});
}

}  // namespace

DfaasLabels parse_dfaas_labels(const std::map<std::string, std::string> &labels) {
    DfaasLabels parsed;
    read_unsigned_label(labels, kLabelMaxRate, 0,
                        "is not a whole number of requests per second in 0..4294967295",
                        parsed.max_rate, parsed.problems);
    read_unsigned_label(labels, kLabelPort, 1, "is not a port number in 1..65535", parsed.port,
                        parsed.problems);
    read_unsigned_label(labels, kLabelTimeoutMs, 1,
                        "is not a whole number of milliseconds in 1..4294967295", parsed.timeout_ms,
                        parsed.problems);
    if (auto it = labels.find(std::string(kLabelGroup)); it != labels.end()) {
        parsed.group = parse_function_group(it->second, NameCase::Ignore);
        if (!parsed.group)
            parsed.problems.push_back({std::string(kLabelGroup), it->second,
                                       "is not one of HIGH_USAGE, LOW_USAGE, MEDIUM_USAGE"});
    }
    return parsed;
}

Result<std::vector<FunctionInfo>> parse_function_list(std::string_view json_body) {
    json document;
    try {
        document = json::parse(json_body);
    } catch (const json::exception &error) {  // parse_error, and out_of_range for 1e400
        return fail(std::string("malformed JSON: ") + error.what());
    }
    std::vector<FunctionInfo> functions;
    if (document.is_null()) return functions;
    if (!document.is_array())
        return fail("expected a JSON array of functions, got " + describe_found(document));
    functions.reserve(document.size());
    for (size_t index = 0; index < document.size(); ++index) {
        auto function = parse_function(document[index], index);
        if (!function) return Error{function.error()};
        functions.push_back(std::move(*function));
    }
    return functions;
}

}  // namespace dfaas
