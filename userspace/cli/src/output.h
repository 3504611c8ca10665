// Output for dfaasctl: aligned tables for people, stable JSON for scripts. Data goes to stdout,
// diagnostics to stderr.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dfaas::cli {

enum class Format { Table, Json };

// Exit codes shared by every command.
enum ExitCode : int {
    kOk = 0,
    kUsage = 1,
    kUnreachable = 2,
    kNotFound = 3,
    kPermission = 4,
};

// A command failure: the message for stderr and the exit code.
struct CommandError {
    std::string message;
    int code = kUsage;
};

class Table {
  public:
    explicit Table(std::vector<std::string> headers);
    void add(std::vector<std::string> row);
    void print(std::ostream &out) const;
    bool empty() const { return rows_.empty(); }

  private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

// True when stdout is a terminal and NO_COLOR is unset.
bool use_colour();
std::string bold(const std::string &text);

void print_json(std::ostream &out, const nlohmann::json &value);

// Human formats.
std::string format_count(uint64_t n);            // 1234567 -> 1.23M
std::string format_bytes(uint64_t n);            // 1536 -> 1.5KiB
std::string format_duration_ns(uint64_t ns);     // 1500000000 -> 1.5s
std::string format_unix_time(uint64_t unix_ns);  // RFC 3339, UTC

}  // namespace dfaas::cli
