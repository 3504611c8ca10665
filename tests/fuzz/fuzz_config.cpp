// libFuzzer target for the agent's configuration loader: YAML text plus environment variables,
// through load_config_text() (the entry --check-config and the agent use after reading the file).
//
// Input layout: the YAML document, then optionally a NUL byte and environment lines
// "NAME=value\n" (so a plain YAML file is a valid seed). Checks, for every input:
//   1. the loader returns (no crash, hang, escaping exception or sanitizer report);
//   2. a refusal lists at least one error and every error says something; an acceptance has a
//      Config and no error;
//   3. what it accepts dumps (dump_effective, the --check-config output) to a document that loads
//      without errors, with no environment, to the same Config (the dump is the effective
//      configuration, so it must reproduce it).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dfaas/config/config.h"

namespace {

[[noreturn]] void fail(const char *what, std::string_view detail) {
    std::fprintf(stderr, "fuzz_config: %s:\n%.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

std::string joined(const dfaas::LoadResult &result) {
    std::string text;
    for (const auto &error : result.errors)
        text += error + "\n";
    return text;
}

dfaas::Environment parse_environment(std::string_view text) {
    dfaas::Environment env;
    while (!text.empty()) {
        const size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        const size_t equals = line.find('=');
        if (equals == std::string_view::npos || equals == 0) continue;
        // Environment values are C strings: a NUL ends them.
        const std::string_view value = line.substr(equals + 1);
        env[std::string(line.substr(0, equals))] = std::string(value.substr(0, value.find('\0')));
    }
    return env;
}

// The loader reads the files a configuration names (secrets, the group file) and stats the
// models directory. Those are the operator's files, not untrusted input, and a device or a pipe
// (/dev/zero, /dev/stdin, /proc/self/fd/0) would block or grow without end: inputs that could
// name one are left out, so a hang reported here is the loader's own.
bool names_special_files(std::string_view bytes) {
    for (std::string_view danger : {"/dev", "/proc", "/sys", "/run", "fd/"})
        if (bytes.find(danger) != std::string_view::npos) return true;
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char *>(data), size);
    if (names_special_files(bytes)) return -1;  // -1: not added to the corpus
    const size_t nul = bytes.find('\0');
    const std::string_view yaml = bytes.substr(0, nul);
    const dfaas::Environment env = nul == std::string_view::npos
                                       ? dfaas::Environment{}
                                       : parse_environment(bytes.substr(nul + 1));

    const dfaas::LoadResult result = dfaas::load_config_text(yaml, "fuzz.yaml", env);
    if (result.ok() != result.config.has_value()) fail("ok() and config disagree", joined(result));
    for (const auto &error : result.errors)
        if (error.empty()) fail("an empty error message", joined(result));
    if (!result.ok()) return 0;
    // Every input, valid UTF-8 or not: the loader refuses the text values YAML cannot carry
    // (bytes that are not UTF-8, control characters, noncharacters), so what it accepts dumps.

    const std::string dump = dfaas::dump_effective(*result.config);
    const dfaas::LoadResult again = dfaas::load_config_text(dump, "dump.yaml", {});
    if (!again.ok()) fail("the effective dump does not load", dump + "\nerrors:\n" + joined(again));
    if (!(*again.config == *result.config))
        fail("the effective dump loads to another config", dump);
    return 0;
}
