// Locating the reference forecaster data for tests and benchmarks: the environment variable
// DFAAS_FORECASTER_DATA_DIR wins over the CMake default compiled in (same name).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace dfaas::testing {

inline std::filesystem::path configured_forecaster_data_dir() {
    const char *from_environment = std::getenv("DFAAS_FORECASTER_DATA_DIR");
    if (from_environment != nullptr && *from_environment != '\0') return from_environment;
    return DFAAS_FORECASTER_DATA_DIR;
}

// The data folder when it holds the reference files, nullopt otherwise.
inline std::optional<std::filesystem::path> forecaster_data_dir() {
    const auto directory = configured_forecaster_data_dir();
    std::error_code error;
    if (!std::filesystem::exists(directory / "scalers.json", error)) return std::nullopt;
    return directory;
}

inline std::string forecaster_data_missing_message() {
    return "reference forecaster data not found in '" + configured_forecaster_data_dir().string() +
           "' (set DFAAS_FORECASTER_DATA_DIR to the folder with scalers.json and the models)";
}

}  // namespace dfaas::testing
