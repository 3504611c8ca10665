#include "whatif_common.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "output.h"

namespace dfaas::cli::whatif {

std::string json_error_text(const nlohmann::json::exception &error) {
    std::string text = error.what();
    if (!text.empty() && text.front() == '[') {
        const auto end = text.find("] ");
        if (end != std::string::npos) text.erase(0, end + 2);
    }
    return text;
}

nlohmann::json read_json_file(const std::filesystem::path &path) {
    std::error_code error;
    if (!std::filesystem::exists(path, error))
        throw CommandError{path.string() + ": no such file", kNotFound};
    if (std::filesystem::is_directory(path, error))
        throw CommandError{path.string() + ": is a directory, expected a JSON file", kUsage};
    std::ifstream file(path);
    if (!file) throw CommandError{path.string() + ": cannot be read", kUsage};
    std::ostringstream text;
    text << file.rdbuf();
    try {
        return nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::parse_error &e) {
        throw CommandError{path.string() + ": not valid JSON: " + json_error_text(e), kUsage};
    }
}

std::string format_number(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
    std::string text = buffer;
    if (text.find('.') != std::string::npos) {
        while (text.back() == '0')
            text.pop_back();
        if (text.back() == '.') text.pop_back();
    }
    if (text == "-0") text = "0";
    return text;
}

}  // namespace dfaas::cli::whatif
