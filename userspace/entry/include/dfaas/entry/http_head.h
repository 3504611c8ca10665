// The entry port's request-head parser (issue 18): pure and bounded. It reads the first request
// head of a connection (request line and header fields up to the blank line) from the bytes a
// MSG_PEEK returned, decides whether it is complete, too large or not HTTP, and rewrites it for
// the upstream (X-Forwarded-For, X-DFaaS-Forwarded-By). Only HTTP/1.0 and HTTP/1.1.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dfaas::entry {

struct HeadLimits {
    size_t max_head_bytes = 8192;  // the request line, the fields and the blank line
    size_t max_fields = 100;       // header fields
};

struct RequestHead {
    std::string method;
    std::string target;
    std::string version;                                      // "HTTP/1.0" or "HTTP/1.1"
    std::vector<std::pair<std::string, std::string>> fields;  // as sent (value trimmed)
    size_t length = 0;  // bytes of the head, the final CRLFCRLF included

    // The first field of that name (case-insensitive).
    std::optional<std::string_view> field(std::string_view name) const;
};

enum class HeadStatus {
    Complete,    // head holds the parsed request
    Incomplete,  // no CRLFCRLF yet and still within the limit: read more
    TooLarge,    // no CRLFCRLF within max_head_bytes (or more fields than max_fields): 431
    NotHttp,     // not an HTTP/1.x request head: 400
};

struct HeadResult {
    HeadStatus status = HeadStatus::Incomplete;
    RequestHead head;    // Complete only
    std::string reason;  // NotHttp/TooLarge: what was wrong (logs, tests)
};

// Parses the start of a connection's bytes. Reads at most limits.max_head_bytes of `bytes`.
// Bytes that cannot start an HTTP request (a bad method token, a control byte in the request
// line) are NotHttp as soon as they are seen, without waiting for the rest.
HeadResult parse_head(std::string_view bytes, const HeadLimits &limits);

// What the target of the request names.
enum class TargetKind {
    Function,       // /function/<name>[/...|?...]
    AsyncFunction,  // /async-function/<name>[/...|?...]
    BadName,        // one of the prefixes, but the name is empty, too long or has other characters
    NoPrefix,       // anything else
};

struct TargetMatch {
    TargetKind kind = TargetKind::NoPrefix;
    std::string name;
};

// Function names: what OpenFaaS accepts in a name (DNS-1123 labels: a-z 0-9 '-') plus '.', '_'
// and upper case so that "name.namespace" reaches the lookup, 1..kMaxFunctionName characters.
inline constexpr size_t kMaxFunctionName = 127;
TargetMatch match_target(std::string_view target);

// The head sent upstream: the request line and the fields as received, with `client_ip`
// appended to an existing X-Forwarded-For (", <ip>") or added as a new one, and, when
// `forwarded_by` is set, an X-DFaaS-Forwarded-By field carrying it (an existing one is dropped:
// only this node may say it forwarded). Ends with CRLFCRLF.
std::string rewrite_head(const RequestHead &head, std::string_view client_ip,
                         const std::optional<std::string> &forwarded_by);

inline constexpr std::string_view kForwardedByField = "X-DFaaS-Forwarded-By";

}  // namespace dfaas::entry
