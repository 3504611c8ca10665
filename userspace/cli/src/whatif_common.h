// Helpers shared by the what-if commands (`dfaasctl forecast`, `dfaasctl simulate`).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace dfaas::cli::whatif {

// The message of a JSON parse error without nlohmann's "[json.exception.parse_error.101] ".
std::string json_error_text(const nlohmann::json::exception &error);

// Reads and parses a JSON file. Throws CommandError naming the file: kNotFound when it does not
// exist, kUsage when it cannot be read or is not JSON (with the line and column).
nlohmann::json read_json_file(const std::filesystem::path &path);

// A number for people: up to `decimals` decimals, trailing zeros removed ("60", "62.41").
std::string format_number(double value, int decimals = 2);

}  // namespace dfaas::cli::whatif
