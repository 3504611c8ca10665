// `dfaasctl forecast`: the node-usage forecaster Node Margin uses, offline. One query from the
// command line, or JSON lines on stdin (--batch) in the reference service's request shape.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "dfaas/forecast/native_forecaster.h"
#include "dfaas/strategy/types.h"

namespace dfaas::cli::whatif {

// The environment variable naming the forecaster data directory when --models is not given.
inline constexpr const char *kModelsEnv = "DFAAS_FORECASTER_DATA_DIR";

// One forecaster input: the load per function group (req/s) and the node type.
struct ForecastQuery {
    strategy::GroupLoad load;
    NodeType type = NodeType::Mid;
};

// The metric names of the reference service, in its order.
inline constexpr const char *kCpuKey = "cpu_usage_node";
inline constexpr const char *kRamKey = "ram_usage_node";
inline constexpr const char *kPowerKey = "power_usage_node";

// {"cpu_usage_node": …, "ram_usage_node": …, "power_usage_node": …} and nothing else, in the
// reference service's order.
nlohmann::ordered_json prediction_to_json(const strategy::Prediction &prediction);

// Reads one batch line: an object with exactly the keys rate_group_HIGH_USAGE,
// rate_group_LOW_USAGE, rate_group_MEDIUM_USAGE (finite numbers >= 0) and node_type (0, 1, 2 or
// heavy, mid, light). Throws strategy::Error naming the key and the problem.
ForecastQuery forecast_query_from_line(const std::string &line);

// Where the models directory may come from, in priority order: --models, a file's
// forecaster.models_dir (`from_file`, described by `file_origin`), $DFAAS_FORECASTER_DATA_DIR.
struct ModelsSource {
    std::optional<std::string> option;
    std::optional<std::filesystem::path> from_file;
    std::string file_origin;  // "FILE: forecaster.models_dir"
};

// The models directory. Throws CommandError (kUsage) when no source names one, (kNotFound) when
// the directory or one of the files of `variant` is missing; messages say where the directory
// came from. `purpose` starts the message when none is given ("Node Margin needs ...").
std::filesystem::path resolve_models_dir(const ModelsSource &source, forecast::Variant variant,
                                         const std::string &purpose);

// Loads the native forecaster (CommandError with the model's message when it cannot).
forecast::NativeForecaster load_forecaster(const std::filesystem::path &directory,
                                           forecast::Variant variant);

// Parses --variant (CommandError kUsage listing the valid names).
forecast::Variant variant_from_option(const std::string &name);

// --batch: answers every line of `in` on `out` (one compact JSON object per non-blank line, in
// order; a bad line gets {"line": N, "error": "..."} and a diagnostic on `err`). Returns the
// number of bad lines.
size_t run_forecast_batch(const forecast::NativeForecaster &forecaster, std::istream &in,
                          std::ostream &out, std::ostream &err);

}  // namespace dfaas::cli::whatif
