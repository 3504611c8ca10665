#include "whatif_forecast.h"

#include <cmath>
#include <cstdlib>
#include <istream>
#include <ostream>

#include "dfaas/strategy/error.h"
#include "output.h"
#include "whatif_common.h"

namespace dfaas::cli::whatif {

namespace {

using nlohmann::json;
using strategy::Error;
using strategy::Group;

// The request keys of the reference service, in its feature order.
struct RateKey {
    const char *name;
    Group group;
};
constexpr RateKey kRateKeys[] = {{"rate_group_HIGH_USAGE", Group::High},
                                 {"rate_group_LOW_USAGE", Group::Low},
                                 {"rate_group_MEDIUM_USAGE", Group::Medium}};
constexpr const char *kNodeTypeKey = "node_type";

double rate_from(const json &value, const std::string &key) {
    if (!value.is_number()) throw Error(key + ": expected a number, got " + value.dump());
    const double rate = value.get<double>();
    if (!std::isfinite(rate) || rate < 0.0)
        throw Error(key + ": expected a finite number >= 0, got " + value.dump());
    return rate;
}

NodeType node_type_from(const json &value) {
    std::optional<NodeType> type;
    if (value.is_string())
        type = parse_node_type(value.get<std::string>());
    else if (value.is_number_integer())
        type = parse_node_type(std::to_string(value.get<int64_t>()));
    if (!type)
        throw Error(std::string(kNodeTypeKey) + ": expected 0, 1, 2 or heavy, mid, light, got " +
                    value.dump());
    return *type;
}

bool blank(const std::string &line) {
    for (char c : line)
        if (c != ' ' && c != '\t' && c != '\r') return false;
    return true;
}

const char *kFiles[] = {"cpu_usage_node", "ram_usage_node", "power_usage_node"};

}  // namespace

nlohmann::ordered_json prediction_to_json(const strategy::Prediction &prediction) {
    return {{kCpuKey, prediction.cpu}, {kRamKey, prediction.ram}, {kPowerKey, prediction.power}};
}

ForecastQuery forecast_query_from_line(const std::string &line) {
    json value;
    try {
        value = json::parse(line);
    } catch (const json::parse_error &e) {
        // One line: its column is what locates the problem.
        std::string text = json_error_text(e);
        const std::string first_line = "at line 1, column";
        if (const auto at = text.find(first_line); at != std::string::npos)
            text.replace(at, first_line.size(), "at column");
        throw Error("not valid JSON: " + text);
    }
    if (!value.is_object()) throw Error("expected a JSON object, got " + value.dump());
    for (const auto &[key, item] : value.items()) {
        bool known = key == kNodeTypeKey;
        for (const auto &rate : kRateKeys)
            known = known || key == rate.name;
        if (!known)
            throw Error(key +
                        ": unknown key (expected rate_group_HIGH_USAGE, rate_group_LOW_USAGE, "
                        "rate_group_MEDIUM_USAGE, node_type)");
    }
    ForecastQuery query;
    for (const auto &rate : kRateKeys) {
        const auto found = value.find(rate.name);
        if (found == value.end()) throw Error(std::string(rate.name) + ": missing");
        query.load[rate.group] = rate_from(*found, rate.name);
    }
    const auto type = value.find(kNodeTypeKey);
    if (type == value.end()) throw Error(std::string(kNodeTypeKey) + ": missing");
    query.type = node_type_from(*type);
    return query;
}

std::filesystem::path resolve_models_dir(const ModelsSource &source, forecast::Variant variant,
                                         const std::string &purpose) {
    std::filesystem::path directory;
    std::string origin;
    const char *environment = std::getenv(kModelsEnv);
    if (source.option) {
        directory = *source.option;
        origin = "--models";
    } else if (source.from_file) {
        directory = *source.from_file;
        origin = source.file_origin;
    } else if (environment != nullptr && *environment != '\0') {
        directory = environment;
        origin = kModelsEnv;
    } else {
        throw CommandError{purpose + " needs the forecaster models: pass --models DIR" +
                               (source.file_origin.empty()
                                    ? std::string()
                                    : ", set \"forecaster\": {\"models_dir\": DIR} in the file") +
                               " or set " + kModelsEnv,
                           kUsage};
    }
    std::error_code error;
    if (!std::filesystem::is_directory(directory, error))
        throw CommandError{
            "models directory '" + directory.string() + "' (from " + origin + ") does not exist",
            kNotFound};
    std::vector<std::string> needed{"scalers.json"};
    for (const char *metric : kFiles)
        needed.push_back(std::string(metric) + "." + std::string(to_string(variant)) + ".txt");
    for (const auto &name : needed)
        if (!std::filesystem::exists(directory / name, error))
            throw CommandError{"models directory '" + directory.string() + "' (from " + origin +
                                   ") has no " + name,
                               kNotFound};
    return directory;
}

forecast::NativeForecaster load_forecaster(const std::filesystem::path &directory,
                                           forecast::Variant variant) {
    try {
        return forecast::NativeForecaster::load(directory, variant);
    } catch (const strategy::Error &e) {
        throw CommandError{std::string("cannot load the forecaster: ") + e.what(), kUsage};
    }
}

forecast::Variant variant_from_option(const std::string &name) {
    try {
        return forecast::parse_variant(name);
    } catch (const strategy::Error &e) {
        throw CommandError{std::string("--variant: ") + e.what(), kUsage};
    }
}

size_t run_forecast_batch(const forecast::NativeForecaster &forecaster, std::istream &in,
                          std::ostream &out, std::ostream &err) {
    size_t failures = 0;
    size_t number = 0;
    std::string line;
    while (std::getline(in, line)) {
        ++number;
        if (blank(line)) continue;
        try {
            const ForecastQuery query = forecast_query_from_line(line);
            out << prediction_to_json(forecaster.predict(query.load, query.type)).dump() << '\n';
        } catch (const strategy::Error &e) {
            ++failures;
            const std::string message = "line " + std::to_string(number) + ": " + e.what();
            err << "dfaasctl: stdin " << message << '\n';
            out << nlohmann::ordered_json{{"line", number}, {"error", message}}.dump() << '\n';
        }
        out.flush();
    }
    return failures;
}

}  // namespace dfaas::cli::whatif
