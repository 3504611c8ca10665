#include "dfaas/entry/http_head.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "dfaas/text.h"

namespace dfaas::entry {

namespace {

// The methods a function call can use. CONNECT and TRACE are not calls of a function.
constexpr std::array<std::string_view, 7> kMethods{"GET",    "HEAD",  "POST",   "PUT",
                                                   "DELETE", "PATCH", "OPTIONS"};

bool is_tchar(char c) {
    if (std::isalnum(static_cast<unsigned char>(c))) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

HeadResult fail(HeadStatus status, std::string reason) {
    HeadResult r;
    r.status = status;
    r.reason = std::move(reason);
    return r;
}

// Whether `start` (the bytes seen so far, possibly cut anywhere) can still begin a request line
// of one of kMethods: "<METHOD> ". Lets a non-HTTP client be answered without waiting.
bool could_start_request(std::string_view start) {
    for (auto method : kMethods) {
        std::string with_space = std::string(method) + " ";
        size_t n = std::min(start.size(), with_space.size());
        if (start.substr(0, n) == std::string_view(with_space).substr(0, n)) return true;
    }
    return false;
}

// A byte no request head contains: NUL and the controls other than CR, LF and HT.
bool is_forbidden_byte(char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\r' && c != '\n' && c != '\t') || u == 0x7f;
}

bool parse_request_line(std::string_view line, RequestHead &head, std::string &reason) {
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        reason = "request line is not <method> <target> <version>";
        return false;
    }
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (std::find(kMethods.begin(), kMethods.end(), method) == kMethods.end()) {
        reason = "method is not one of GET HEAD POST PUT DELETE PATCH OPTIONS";
        return false;
    }
    if (target.empty() || target.front() != '/' ||
        std::any_of(target.begin(), target.end(), [](char c) {
            return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f;
        })) {
        reason = "target is not an origin-form path";
        return false;
    }
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        reason = "version is not HTTP/1.0 or HTTP/1.1";
        return false;
    }
    head.method = method;
    head.target = target;
    head.version = version;
    return true;
}

}  // namespace

std::optional<std::string_view> RequestHead::field(std::string_view name) const {
    for (const auto &[n, v] : fields)
        if (iequals(n, name)) return std::string_view(v);
    return std::nullopt;
}

HeadResult parse_head(std::string_view bytes, const HeadLimits &limits) {
    std::string_view window = bytes.substr(0, std::min(bytes.size(), limits.max_head_bytes));
    if (!could_start_request(window))
        return fail(HeadStatus::NotHttp, "does not start with an HTTP method");
    size_t end = window.find("\r\n\r\n");
    // Only the head's own bytes: what follows it (a body) is the function's business.
    std::string_view head_bytes =
        end == std::string_view::npos ? window : window.substr(0, end + 4);
    for (size_t i = 0; i < head_bytes.size(); ++i) {
        if (is_forbidden_byte(head_bytes[i]))
            return fail(HeadStatus::NotHttp, "control byte in the head");
        // CR only before LF, LF only after CR (a bare one is how request smuggling starts).
        if (head_bytes[i] == '\r' && i + 1 < head_bytes.size() && head_bytes[i + 1] != '\n')
            return fail(HeadStatus::NotHttp, "bare CR in the head");
        if (head_bytes[i] == '\n' && (i == 0 || head_bytes[i - 1] != '\r'))
            return fail(HeadStatus::NotHttp, "bare LF in the head");
    }
    if (end == std::string_view::npos) {
        if (bytes.size() >= limits.max_head_bytes)
            return fail(HeadStatus::TooLarge, "no end of head within " +
                                                  std::to_string(limits.max_head_bytes) + " bytes");
        return fail(HeadStatus::Incomplete, "");
    }
    HeadResult result;
    RequestHead &head = result.head;
    head.length = end + 4;
    std::string_view rest = window.substr(0, end + 2);  // every line with its CRLF
    size_t eol = rest.find("\r\n");
    std::string reason;
    if (!parse_request_line(rest.substr(0, eol), head, reason))
        return fail(HeadStatus::NotHttp, reason);
    rest.remove_prefix(eol + 2);
    while (!rest.empty()) {
        eol = rest.find("\r\n");
        std::string_view line = rest.substr(0, eol);
        rest.remove_prefix(eol + 2);
        if (head.fields.size() == limits.max_fields)
            return fail(HeadStatus::TooLarge,
                        "more than " + std::to_string(limits.max_fields) + " header fields");
        size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos)
            return fail(HeadStatus::NotHttp, "header line without a field name");
        std::string_view name = line.substr(0, colon);
        if (!std::all_of(name.begin(), name.end(), is_tchar))
            return fail(HeadStatus::NotHttp, "bad header field name");
        head.fields.emplace_back(std::string(name),
                                 std::string(trim_blanks(line.substr(colon + 1))));
    }
    result.status = HeadStatus::Complete;
    return result;
}

TargetMatch match_target(std::string_view target) {
    TargetMatch match;
    std::string_view rest;
    for (auto [prefix, kind] :
         {std::pair{std::string_view("/function/"), TargetKind::Function},
          std::pair{std::string_view("/async-function/"), TargetKind::AsyncFunction}}) {
        if (target.substr(0, prefix.size()) == prefix) {
            match.kind = kind;
            rest = target.substr(prefix.size());
        }
    }
    if (match.kind == TargetKind::NoPrefix) return match;
    std::string_view name = rest.substr(0, rest.find_first_of("/?#"));
    bool valid =
        !name.empty() && name.size() <= kMaxFunctionName &&
        std::all_of(name.begin(), name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
        });
    if (!valid) {
        match.kind = TargetKind::BadName;
        match.name = std::string(name.substr(0, kMaxFunctionName));
        return match;
    }
    match.name = std::string(name);
    return match;
}

std::string rewrite_head(const RequestHead &head, std::string_view client_ip,
                         const std::optional<std::string> &forwarded_by) {
    std::string out;
    out.reserve(head.length + 96);
    out += head.method + " " + head.target + " " + head.version + "\r\n";
    bool xff_done = false;
    for (const auto &[name, value] : head.fields) {
        if (iequals(name, kForwardedByField)) continue;
        out += name + ": " + value;
        if (!xff_done && iequals(name, "X-Forwarded-For")) {
            out += value.empty() ? "" : ", ";
            out += client_ip;
            xff_done = true;
        }
        out += "\r\n";
    }
    if (!xff_done) out += "X-Forwarded-For: " + std::string(client_ip) + "\r\n";
    if (forwarded_by) out += std::string(kForwardedByField) + ": " + *forwarded_by + "\r\n";
    out += "\r\n";
    return out;
}

}  // namespace dfaas::entry
