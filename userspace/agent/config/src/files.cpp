// Files the configuration points to: secrets and the function-group file.
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "dfaas/config/config.h"
#include "value_parsers.h"

namespace dfaas {
namespace {

// Secret and group files are small; anything larger is a mistake (or /dev/zero) and is refused
// before it is read, whatever stat() claims (character devices and /proc files report 0).
constexpr std::streamsize kMaxConfigSideFileBytes = 1 << 20;

Result<std::string> read_whole_file(const std::string &path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0)
        return fail("cannot read \"" + path + "\": " + std::strerror(errno));
    if (S_ISDIR(info.st_mode)) return fail("\"" + path + "\" is a directory, expected a file");
    if (!S_ISREG(info.st_mode)) return fail("\"" + path + "\" is not a regular file");
    if (info.st_size > kMaxConfigSideFileBytes)
        return fail("\"" + path + "\" is larger than 1 MiB");
    std::ifstream file(path, std::ios::binary);
    if (!file) return fail("cannot read \"" + path + "\": " + std::strerror(errno));
    std::string content(static_cast<size_t>(kMaxConfigSideFileBytes) + 1, '\0');
    file.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<size_t>(file.gcount()));
    if (content.size() > static_cast<size_t>(kMaxConfigSideFileBytes))
        return fail("\"" + path + "\" is larger than 1 MiB");
    return content;
}

}  // namespace

Result<std::string> read_secret_file(const std::string &path) {
    auto content = read_whole_file(path);
    if (!content) return content;
    std::string secret = config_detail::trim(*content);
    if (secret.empty()) return fail("\"" + path + "\" is empty");
    return secret;
}

Result<std::map<std::string, FunctionGroup>> load_group_file(const std::string &path) {
    auto content = read_whole_file(path);
    if (!content) return Error{content.error()};
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(*content);
    } catch (const nlohmann::json::exception &error) {  // parse_error, and out_of_range for 1e400
        return fail("\"" + path + "\" is not valid JSON: " + error.what());
    }
    if (!document.is_object())
        return fail("\"" + path + "\" must be a JSON object {\"HIGH_USAGE\": [...], ...}");

    std::map<std::string, FunctionGroup> groups;
    for (const auto &[group_name, functions] : document.items()) {
        auto group = parse_function_group(group_name, NameCase::Ignore);
        if (!group)
            return fail("\"" + path + "\": unknown group \"" + group_name +
                        "\" (valid: HIGH_USAGE, LOW_USAGE, MEDIUM_USAGE)");
        if (!functions.is_array())
            return fail("\"" + path + "\": " + group_name + " must be a list of function names");
        for (const auto &function : functions) {
            if (!function.is_string() || function.get<std::string>().empty())
                return fail("\"" + path + "\": " + group_name + " contains " + function.dump() +
                            ", expected function names");
            auto [it, inserted] = groups.emplace(function.get<std::string>(), *group);
            if (!inserted && it->second != *group)
                return fail("\"" + path + "\": function \"" + it->first + "\" is in both " +
                            std::string(to_string(it->second)) + " and " + group_name);
        }
    }
    return groups;
}

}  // namespace dfaas
