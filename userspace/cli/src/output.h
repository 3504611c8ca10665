// Output for dfaasctl: aligned tables for people, stable JSON or YAML for scripts (the YAML is
// the same document as the JSON). Data goes to stdout, diagnostics to stderr.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dfaas::cli {

enum class Format { Table, Json, Yaml };

// -o json or -o yaml: a document rather than a table.
inline bool is_document(Format format) {
    return format != Format::Table;
}

// Exit codes of every DFaaS binary (the table in docs/operations.md, "Exit codes").
enum ExitCode : int {
    kOk = 0,
    kFailure = 1,      // the operation failed at run time (kernel, I/O, the agent's own error)
    kUsage = 2,        // invalid command line or input, refused before anything was changed
    kNotFound = 3,     // the function, peer, service or file named does not exist
    kPermission = 4,   // not allowed (not root, token missing or refused)
    kUnreachable = 5,  // the agent cannot be reached (refused, unresolvable host, timeout)
};

// A command failure: the message for stderr and the exit code.
struct CommandError {
    std::string message;
    int code = kFailure;
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

// The same value as a YAML block document (strings quoted wherever plain text would read as
// something else, empty containers as {} and [], non-finite numbers as null like the JSON).
std::string to_yaml(const nlohmann::json &value);
std::string to_yaml(const nlohmann::ordered_json &value);
// One element of a YAML sequence ("- ..."), so a list can be printed element by element.
std::string to_yaml_sequence_item(const nlohmann::json &value);

// `value` as JSON (2-space indented) or YAML, as `format` asks (not Format::Table).
void print_document(std::ostream &out, Format format, const nlohmann::json &value);
void print_document(std::ostream &out, Format format, const nlohmann::ordered_json &value);

// Human formats.
std::string format_count(uint64_t n);            // 1234567 -> 1.23M
std::string format_bytes(uint64_t n);            // 1536 -> 1.5KiB
std::string format_duration_ns(uint64_t ns);     // 1500000000 -> 1.5s
std::string format_unix_time(uint64_t unix_ns);  // RFC 3339, UTC

}  // namespace dfaas::cli
