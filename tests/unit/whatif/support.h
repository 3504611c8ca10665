// Running the built dfaasctl as a child process, and the fixtures of the what-if tests.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "forecaster_data.h"

extern char **environ;

namespace dfaas::whatif_testing {

using nlohmann::json;

inline std::filesystem::path fixture(const std::string &name) {
    return std::filesystem::path(DFAAS_WHATIF_FIXTURES) / name;
}

// A directory removed at the end of the test.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "dfaas-whatif-XXXXXX");
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    const std::filesystem::path &path() const { return path_; }
    std::filesystem::path write(const std::string &name, const std::string &content) const {
        const auto file = path_ / name;
        std::ofstream(file) << content;
        return file;
    }

  private:
    std::filesystem::path path_;
};

struct Result {
    int code = -1;
    std::string out;
    std::string err;

    json out_json() const { return json::parse(out); }
    // stdout as JSON lines.
    std::vector<json> out_lines() const {
        std::vector<json> lines;
        std::istringstream in(out);
        std::string line;
        while (std::getline(in, line))
            lines.push_back(json::parse(line));
        return lines;
    }
};

inline std::string read_all(const std::filesystem::path &file) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Environment changes for the child: a value sets the variable, nullopt removes it.
using EnvChanges = std::map<std::string, std::optional<std::string>>;

// Runs dfaasctl with `args`, `input` on its stdin; returns its exit code and outputs.
inline Result run_dfaasctl(const std::vector<std::string> &args, const std::string &input = "",
                           const EnvChanges &env = {}) {
    TempDir dir;
    const auto in_file = dir.write("stdin", input);
    const auto out_file = dir.path() / "stdout";
    const auto err_file = dir.path() / "stderr";

    std::vector<std::string> environment;
    for (char **item = environ; *item != nullptr; ++item) {
        const std::string entry = *item;
        const std::string name = entry.substr(0, entry.find('='));
        if (!env.count(name)) environment.push_back(entry);
    }
    for (const auto &[name, value] : env)
        if (value) environment.push_back(name + "=" + *value);
    environment.push_back("NO_COLOR=1");

    std::vector<std::string> argv_strings{DFAASCTL_PATH};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char *> argv, envp;
    for (auto &arg : argv_strings)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    for (auto &entry : environment)
        envp.push_back(entry.data());
    envp.push_back(nullptr);

    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        const int in = open(in_file.c_str(), O_RDONLY);
        const int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0) _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        execve(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) throw std::runtime_error("waitpid failed");
    Result result;
    result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read_all(out_file);
    result.err = read_all(err_file);
    return result;
}

// The reference models folder, or nullopt (the test then skips with
// dfaas::testing::forecaster_data_missing_message()).
inline std::optional<std::filesystem::path> models() {
    return dfaas::testing::forecaster_data_dir();
}

}  // namespace dfaas::whatif_testing
