// Helpers of the configuration tests: temporary files and assertions on load results.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "dfaas/config/config.h"

// A directory under the system temp dir, removed with everything in it at the end of the test.
class TempDir {
  public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "dfaas-config-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    // Writes `content` to `name` inside the directory and returns the full path.
    std::string write(const std::string &name, const std::string &content) const {
        std::filesystem::path file = path_ / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << content;
        return file.string();
    }
    std::string path(const std::string &name = "") const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

// The smallest valid file: node.ip is the only required key (node.id set so nothing touches
// /var/lib).
inline const std::string kMinimalYaml = "node:\n  id: n1\n  ip: 10.0.0.1\n";

inline dfaas::LoadResult load_yaml(const std::string &yaml, const dfaas::Environment &env = {}) {
    return dfaas::load_config_text(yaml, "test.yaml", env);
}

inline std::string all_errors(const dfaas::LoadResult &result) {
    std::string joined;
    for (const auto &error : result.errors)
        joined += "\n  " + error;
    return joined;
}

// Loads and asserts success, returning the config.
inline dfaas::Config load_ok(const std::string &yaml, const dfaas::Environment &env = {}) {
    auto result = load_yaml(yaml, env);
    EXPECT_TRUE(result.ok()) << "unexpected errors:" << all_errors(result);
    static const dfaas::Config unusable;  // returned after a failed load (the test has failed)
    return result.config ? *result.config : unusable;
}

// True when some error starts with "<path>:" and contains every fragment.
inline ::testing::AssertionResult has_error(const dfaas::LoadResult &result,
                                            const std::string &path,
                                            std::initializer_list<std::string> fragments) {
    for (const auto &error : result.errors) {
        if (error.rfind(path + ":", 0) != 0) continue;
        bool all = std::all_of(fragments.begin(), fragments.end(), [&](const std::string &f) {
            return error.find(f) != std::string::npos;
        });
        if (all) return ::testing::AssertionSuccess();
    }
    auto failure = ::testing::AssertionFailure() << "no error for " << path << " containing";
    for (const auto &fragment : fragments)
        failure << " \"" << fragment << "\"";
    return failure << "; errors:" << all_errors(result);
}
