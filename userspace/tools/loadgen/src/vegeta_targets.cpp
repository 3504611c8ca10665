#include "dfaas/loadgen/vegeta_targets.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "dfaas/loadgen/cli.h"
#include "dfaas/loadgen/duration.h"
#include "dfaas/loadgen/target.h"

namespace dfaas::loadgen {
namespace {

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

// "GET http://..." : a method dfaas-loadgen sends, a space, then something.
bool starts_a_target(std::string_view line) {
    size_t space = line.find(' ');
    return space != std::string_view::npos && is_allowed_method(line.substr(0, space));
}

// At most limit + 1 bytes of the file, so an oversized one is refused without reading it all.
std::string read_bounded(const std::string &path, size_t limit, const std::string &what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError("cannot read " + what + " '" + path + "': " + std::strerror(errno));
    std::string text(limit + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (in.bad()) throw UsageError("cannot read " + what + " '" + path + "'");
    if (text.size() > limit) {
        throw UsageError(what + " '" + path + "' is larger than " + std::to_string(limit) +
                         " bytes");
    }
    return text;
}

class Parser {
  public:
    explicit Parser(std::string_view source) : source_(source) {}

    [[noreturn]] void fail(size_t line, const std::string &message) const {
        throw UsageError(std::string(source_) + " line " + std::to_string(line) + ": " + message);
    }

    void start(size_t number, std::string_view line) {
        if (targets_.size() == kMaxTargetsFileTargets) {
            fail(number, "more than " + std::to_string(kMaxTargetsFileTargets) + " targets");
        }
        size_t space = line.find(' ');
        VegetaTarget target;
        target.line = number;
        target.method = std::string(line.substr(0, space));
        target.url = std::string(trim(line.substr(space + 1)));
        if (target.url.find_first_of(" \t") != std::string::npos) {
            fail(number, "expected 'METHOD URL', got more after the URL");
        }
        try {
            parse_url(target.url);
        } catch (const UsageError &e) {
            fail(number, e.what());
        }
        targets_.push_back(std::move(target));
        open_ = true;
    }

    void header(size_t number, std::string_view line) {
        VegetaTarget &target = targets_.back();
        if (target.headers.size() == kMaxTargetHeaders) {
            fail(number, "more than " + std::to_string(kMaxTargetHeaders) +
                             " headers for the "
                             "target of line " +
                             std::to_string(target.line));
        }
        size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos ||
            line.substr(0, colon).find_first_of(" \t") != std::string_view::npos) {
            fail(number,
                 "expected a header 'Name: value', '@BODY_FILE' or the next 'METHOD URL' "
                 "(GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS), got '" +
                     std::string(line.substr(0, 80)) + "'");
        }
        try {
            target.headers.push_back(parse_header_flag(std::string(line)));
        } catch (const UsageError &e) {
            fail(number, e.what());
        }
    }

    void body(size_t number, std::string_view line) {
        VegetaTarget &target = targets_.back();
        std::string path(trim(line.substr(1)));
        if (path.empty()) fail(number, "'@' without a body file name");
        try {
            target.body = read_bounded(path, kMaxTargetBodyBytes, "body file");
        } catch (const UsageError &e) {
            fail(number, e.what());
        }
        target.body_path = path;
        bodies_bytes_ += target.body.size();
        if (bodies_bytes_ > kMaxTargetBodiesBytes) {
            fail(number, "the bodies of the file add up to more than " +
                             std::to_string(kMaxTargetBodiesBytes) + " bytes");
        }
        open_ = false;  // as in vegeta, the body ends its target
    }

    void line(size_t number, std::string_view raw) {
        if (raw.size() > kMaxTargetsFileLineBytes) {
            fail(number, "line longer than " + std::to_string(kMaxTargetsFileLineBytes) + " bytes");
        }
        std::string_view text = trim(raw);
        if (text.empty()) {
            open_ = false;
        } else if (text.front() == '#') {
            // a comment
        } else if (starts_a_target(text)) {
            start(number, text);
        } else if (!open_) {
            fail(number,
                 "expected 'METHOD URL' (GET, POST, PUT, PATCH, DELETE, HEAD or "
                 "OPTIONS), got '" +
                     std::string(text.substr(0, 80)) + "'");
        } else if (text.front() == '@') {
            body(number, text);
        } else {
            header(number, text);
        }
    }

    std::vector<VegetaTarget> finish() {
        if (targets_.empty()) throw UsageError(std::string(source_) + ": no targets");
        return std::move(targets_);
    }

  private:
    std::string_view source_;
    std::vector<VegetaTarget> targets_;
    size_t bodies_bytes_ = 0;
    bool open_ = false;  // header and body lines belong to the last target
};

}  // namespace

std::vector<VegetaTarget> parse_vegeta_targets(std::string_view text, std::string_view source) {
    if (text.size() > kMaxTargetsFileBytes) {
        throw UsageError(std::string(source) + " is larger than " +
                         std::to_string(kMaxTargetsFileBytes) + " bytes");
    }
    if (text.find('\0') != std::string_view::npos) {
        throw UsageError(std::string(source) + " holds a NUL byte: not a text file");
    }
    Parser parser(source);
    size_t number = 0;
    while (!text.empty()) {
        size_t end = text.find('\n');
        std::string_view raw = text.substr(0, end);
        parser.line(++number, raw);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    }
    return parser.finish();
}

std::vector<VegetaTarget> read_vegeta_targets_file(const std::string &path) {
    std::string text = read_bounded(path, kMaxTargetsFileBytes, "--targets-file");
    return parse_vegeta_targets(text, "--targets-file '" + path + "'");
}

}  // namespace dfaas::loadgen
