// libFuzzer target for the entry port's request-head parser (userspace/entry/src/http_head.cpp):
// the first bytes of every connection to the entry port come from anyone. Checks, for every
// input and a few head limits:
//   1. parse_head returns (no crash, hang, escaping exception or sanitizer report), a refusal
//      says why, and the status agrees with the limit: a complete head ends with CRLFCRLF within
//      max_head_bytes and within the input; an incomplete one is shorter than the limit;
//   2. a complete head, rewritten for the upstream, parses again to the same request line, with
//      an X-Forwarded-For that ends with the client address, and the forwarded-by field only
//      when this node set it;
//   3. match_target names a function of at most kMaxFunctionName allowed characters.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <optional>
#include <string_view>

#include "dfaas/entry/http_head.h"

namespace {

using namespace dfaas::entry;

[[noreturn]] void fail(const char *what, std::string_view detail) {
    std::fprintf(stderr, "fuzz_entry_head: %s: %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

void check_rewrite(const RequestHead &head, bool forwarded) {
    std::optional<std::string> by;
    if (forwarded) by = "node-a";
    std::string rewritten = rewrite_head(head, "10.0.0.9", by);
    HeadLimits wide;
    wide.max_head_bytes = rewritten.size();
    wide.max_fields = head.fields.size() + 2;
    HeadResult again = parse_head(rewritten, wide);
    if (again.status != HeadStatus::Complete) fail("a rewritten head does not parse", again.reason);
    if (again.head.length != rewritten.size())
        fail("a rewritten head has trailing bytes", rewritten);
    if (again.head.method != head.method || again.head.target != head.target ||
        again.head.version != head.version)
        fail("the rewrite changed the request line", rewritten);
    auto xff = again.head.field("X-Forwarded-For");
    if (!xff || xff->size() < 8 || xff->substr(xff->size() - 8) != "10.0.0.9")
        fail("X-Forwarded-For does not end with the client", rewritten);
    auto by_field = again.head.field(kForwardedByField);
    if (forwarded != by_field.has_value() || (by_field && *by_field != "node-a"))
        fail("X-DFaaS-Forwarded-By is not this node's alone", rewritten);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char *>(data), size);
    for (size_t limit : {size_t{64}, size_t{1024}, size_t{8192}}) {
        HeadLimits limits;
        limits.max_head_bytes = limit;
        limits.max_fields = 16;
        HeadResult r = parse_head(bytes, limits);
        switch (r.status) {
            case HeadStatus::Complete:
                if (r.head.length > limit || r.head.length > size || r.head.length < 4 ||
                    bytes.substr(r.head.length - 4, 4) != "\r\n\r\n")
                    fail("a complete head does not end with CRLFCRLF within the limit", bytes);
                if (r.head.fields.size() > limits.max_fields) fail("too many fields", bytes);
                check_rewrite(r.head, false);
                check_rewrite(r.head, true);
                break;
            case HeadStatus::Incomplete:
                if (size >= limit) fail("incomplete at the limit", bytes);
                break;
            case HeadStatus::TooLarge:
            case HeadStatus::NotHttp:
                if (r.reason.empty()) fail("a refusal without a reason", bytes);
                break;
        }
    }
    TargetMatch m = match_target(bytes.substr(0, 512));
    if (m.name.size() > kMaxFunctionName) fail("a function name over the bound", m.name);
    if (m.kind == TargetKind::Function || m.kind == TargetKind::AsyncFunction)
        for (char c : m.name)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'))
                fail("a function name with a character outside the set", m.name);
    return 0;
}
