#include "dfaas/loadgen/ramp.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

#include "dfaas/text.h"

namespace dfaas::loadgen {
namespace {

// A number literal as JavaScript and JSON write it ("200", "12.5", "1e3"), nothing else.
std::optional<double> number_literal(std::string_view text) {
    if (text.empty() || text.size() > 64) return std::nullopt;
    std::string copy(text);
    char *end = nullptr;
    errno = 0;
    double value = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size() || errno == ERANGE || !std::isfinite(value)) {
        return std::nullopt;
    }
    // strtod also reads hexadecimal, "inf" and "nan", which are not what a stage means.
    bool decimal = std::all_of(copy.begin(), copy.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' ||
               c == '+' || c == '-';
    });
    if (!decimal) return std::nullopt;
    return value;
}

// ---- a lexer for the part of JavaScript / JSON a k6 options object is written in -------------

enum class TokenKind { Identifier, String, Number, Punct, End };

struct Token {
    TokenKind kind = TokenKind::End;
    std::string_view text;  // a string's content without its quotes (escapes left as written)
    size_t line = 1;
};

// Skips whitespace and comments and knows strings, so a "stages" in a comment or a string
// literal elsewhere is never taken for the key.
class Lexer {
  public:
    Lexer(std::string_view text, std::string_view source) : text_(text), source_(source) {}

    Token next() {
        skip_space_and_comments();
        Token token;
        token.line = line_;
        if (pos_ >= text_.size()) return token;
        char c = text_[pos_];
        if (c == '\'' || c == '"' || c == '`') {
            size_t start = ++pos_;
            while (pos_ < text_.size() && text_[pos_] != c) {
                if (text_[pos_] == '\n') ++line_;
                pos_ += text_[pos_] == '\\' ? 2 : 1;
            }
            if (pos_ >= text_.size()) {
                throw UsageError(where(token.line) + "a string is not closed");
            }
            token.kind = TokenKind::String;
            token.text = text_.substr(start, pos_ - start);
            ++pos_;
            return token;
        }
        if (is_word(c) || c == '.') {
            size_t start = pos_;
            // A number's exponent sign belongs to it: "1e+3".
            while (pos_ < text_.size() &&
                   (is_word(text_[pos_]) || text_[pos_] == '.' ||
                    ((text_[pos_] == '+' || text_[pos_] == '-') && pos_ > start &&
                     (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E') &&
                     std::isdigit(static_cast<unsigned char>(text_[start])))))
                ++pos_;
            token.text = text_.substr(start, pos_ - start);
            bool numeric = std::isdigit(static_cast<unsigned char>(c)) || c == '.';
            token.kind = numeric ? TokenKind::Number : TokenKind::Identifier;
            return token;
        }
        token.kind = TokenKind::Punct;
        token.text = text_.substr(pos_++, 1);
        return token;
    }

    std::string where(size_t line) const {
        return std::string(source_) + " line " + std::to_string(line) + ": ";
    }

  private:
    static bool is_word(char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
    }

    void skip_space_and_comments() {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c == '\n') {
                ++line_;
                ++pos_;
            } else if (std::isspace(static_cast<unsigned char>(c))) {
                ++pos_;
            } else if (text_.substr(pos_, 2) == "//") {
                while (pos_ < text_.size() && text_[pos_] != '\n')
                    ++pos_;
            } else if (text_.substr(pos_, 2) == "/*") {
                size_t end = text_.find("*/", pos_ + 2);
                size_t stop = end == std::string_view::npos ? text_.size() : end + 2;
                line_ +=
                    static_cast<size_t>(std::count(text_.begin() + static_cast<long>(pos_),
                                                   text_.begin() + static_cast<long>(stop), '\n'));
                pos_ = stop;
            } else {
                return;
            }
        }
    }

    std::string_view text_;
    std::string_view source_;
    size_t pos_ = 0;
    size_t line_ = 1;
};

bool is_punct(const Token &token, char c) {
    return token.kind == TokenKind::Punct && token.text.size() == 1 && token.text[0] == c;
}

bool is_key(const Token &token) {
    return token.kind == TokenKind::Identifier || token.kind == TokenKind::String;
}

// Where each option the stages depend on appears (the lexer positioned after its ':').
struct KeyUse {
    std::vector<Lexer> values;
    std::vector<size_t> lines;
};

struct K6Reader {
    std::string_view source;

    // "-"? NUMBER, as a target or startRate is written.
    double number_value(Lexer &lexer, const std::string &what) {
        Token token = lexer.next();
        bool negative = is_punct(token, '-');
        if (negative) token = lexer.next();
        std::optional<double> value;
        if (token.kind == TokenKind::Number) value = number_literal(token.text);
        if (!value) {
            throw UsageError(lexer.where(token.line) + what + " is not a number literal ('" +
                             std::string(token.text) +
                             "'): dfaas-loadgen reads values, it does not run the script");
        }
        return negative ? -*value : *value;
    }

    std::string string_value(Lexer &lexer, const std::string &what) {
        Token token = lexer.next();
        if (token.kind != TokenKind::String) {
            throw UsageError(lexer.where(token.line) + what + " is not a string literal ('" +
                             std::string(token.text) + "')");
        }
        return std::string(token.text);
    }

    Nanos duration_value(Lexer &lexer, const std::string &what) {
        Token peek = lexer.next();
        size_t line = peek.line;
        std::string text(peek.text);
        if (peek.kind != TokenKind::String) {
            throw UsageError(lexer.where(line) + what + " is not a string like '30s' ('" + text +
                             "')");
        }
        try {
            return parse_duration(text);
        } catch (const UsageError &e) {
            throw UsageError(lexer.where(line) + what + ": " + e.what());
        }
    }

    // [ { duration: '30s', target: 200 }, ... ] with the lexer just before '['.
    std::vector<RampStage> stage_list(Lexer &lexer) {
        Token open = lexer.next();
        if (!is_punct(open, '[')) {
            throw UsageError(lexer.where(open.line) + "stages is not a literal list ('" +
                             std::string(open.text) +
                             "...'): a list the script computes (in a loop, from a trace) cannot "
                             "be read; write the stages out, or use their JSON form");
        }
        std::vector<RampStage> stages;
        while (true) {
            Token token = lexer.next();
            if (is_punct(token, ']')) break;
            if (token.kind == TokenKind::End) {
                throw UsageError(lexer.where(token.line) + "the stages list is not closed");
            }
            if (stages.size() == kMaxStages) {
                throw UsageError(lexer.where(token.line) + "more than " +
                                 std::to_string(kMaxStages) + " stages");
            }
            std::string name = "stage " + std::to_string(stages.size() + 1);
            if (!is_punct(token, '{')) {
                throw UsageError(lexer.where(token.line) + name +
                                 ": expected '{ duration: ..., target: ... }', found '" +
                                 std::string(token.text) + "'");
            }
            stages.push_back(stage_object(lexer, name, token.line));
            Token after = lexer.next();
            if (is_punct(after, ']')) break;
            if (after.kind == TokenKind::End) {
                throw UsageError(lexer.where(after.line) + "the stages list is not closed");
            }
            if (!is_punct(after, ',')) {
                throw UsageError(lexer.where(after.line) + "expected ',' or ']' after " + name +
                                 ", found '" + std::string(after.text) + "'");
            }
        }
        if (stages.empty()) throw UsageError(std::string(source) + ": the stages list is empty");
        return stages;
    }

    // The body of one { duration: '30s', target: 200 } after its '{'.
    RampStage stage_object(Lexer &lexer, const std::string &name, size_t line) {
        std::optional<Nanos> duration;
        std::optional<double> target;
        while (true) {
            Token key = lexer.next();
            if (is_punct(key, '}')) break;
            if (!is_key(key)) {
                throw UsageError(lexer.where(key.line) + name + ": expected a key, found '" +
                                 std::string(key.text) + "'");
            }
            Token colon = lexer.next();
            if (!is_punct(colon, ':')) {
                throw UsageError(lexer.where(colon.line) + name + ": expected ':' after '" +
                                 std::string(key.text) + "'");
            }
            if (key.text == "duration") {
                if (duration) throw UsageError(lexer.where(key.line) + name + ": two durations");
                duration = duration_value(lexer, name + " duration");
            } else if (key.text == "target") {
                if (target) throw UsageError(lexer.where(key.line) + name + ": two targets");
                target = number_value(lexer, name + " target");
            } else {
                throw UsageError(lexer.where(key.line) + name + ": unknown key '" +
                                 std::string(key.text) + "' (a stage has duration and target)");
            }
            Token after = lexer.next();
            if (is_punct(after, '}')) break;
            if (!is_punct(after, ',')) {
                throw UsageError(lexer.where(after.line) + name + ": expected ',' or '}', found '" +
                                 std::string(after.text) + "'");
            }
        }
        if (!duration || !target) {
            throw UsageError(lexer.where(line) + name + ": missing " +
                             (!duration ? "duration" : "target"));
        }
        return RampStage{*duration, *target};
    }
};

void check_target(double rate, const std::string &name) {
    if (!std::isfinite(rate) || rate < 0 || rate > kMaxRate) {
        throw UsageError(name + ": rate must be >= 0 and at most " +
                         std::to_string(static_cast<long>(kMaxRate)) + "/s");
    }
}

}  // namespace

RampPlan parse_ramp_list(std::string_view text) {
    auto count = static_cast<size_t>(std::count(text.begin(), text.end(), ',')) + 1;
    if (count > kMaxStages) {
        throw UsageError("--ramp has " + std::to_string(count) + " stages: at most " +
                         std::to_string(kMaxStages) + " are accepted");
    }
    RampPlan plan;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        std::string_view item = trim_space(text.substr(pos, comma - pos));
        std::string name = "--ramp stage " + std::to_string(plan.stages.size() + 1) + " '" +
                           std::string(item) + "'";
        size_t colon = item.rfind(':');
        if (item.empty() || colon == std::string_view::npos) {
            throw UsageError(name + ": expected DURATION:TARGET, e.g. 30s:200");
        }
        RampStage stage;
        try {
            stage.duration = parse_duration(trim_space(item.substr(0, colon)));
        } catch (const UsageError &e) {
            throw UsageError(name + ": " + e.what());
        }
        std::optional<double> target = number_literal(trim_space(item.substr(colon + 1)));
        if (!target) throw UsageError(name + ": the target is not a number");
        stage.target = *target;
        plan.stages.push_back(stage);
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    return plan;
}

RampPlan parse_k6_stages(std::string_view text, std::string_view source) {
    if (text.size() > kMaxStagesFileBytes) {
        throw UsageError(std::string(source) + ": larger than " +
                         std::to_string(kMaxStagesFileBytes) + " bytes");
    }
    K6Reader reader{source};
    // One pass over the tokens finds the options the stages depend on, wherever the script keeps
    // them (options.stages, options.scenarios.<name>.stages, a JSON object).
    KeyUse stages, start_rate, time_unit, executor, rate, duration;
    Lexer lexer(text, source);
    Token first = lexer.next();
    Token previous = first;
    Lexer scan = lexer;
    while (previous.kind != TokenKind::End) {
        Token token = scan.next();
        if (is_punct(token, ':') && is_key(previous)) {
            KeyUse *use = previous.text == "stages"      ? &stages
                          : previous.text == "startRate" ? &start_rate
                          : previous.text == "timeUnit"  ? &time_unit
                          : previous.text == "executor"  ? &executor
                          : previous.text == "rate"      ? &rate
                          : previous.text == "duration"  ? &duration
                                                         : nullptr;
            if (use) {
                use->values.push_back(scan);
                use->lines.push_back(previous.line);
            }
        }
        previous = token;
    }
    for (auto [use, key] : {std::pair{&stages, "stages"}, std::pair{&start_rate, "startRate"},
                            std::pair{&time_unit, "timeUnit"}, std::pair{&executor, "executor"}}) {
        if (use->values.size() > 1) {
            throw UsageError(std::string(source) + ": " + key + " appears " +
                             std::to_string(use->values.size()) + " times (lines " +
                             std::to_string(use->lines[0]) + " and " +
                             std::to_string(use->lines[1]) +
                             "): give a file with one scenario's stages");
        }
    }
    bool constant_rate = false;
    if (!executor.values.empty()) {
        std::string name = reader.string_value(executor.values[0], "executor");
        constant_rate = name == "constant-arrival-rate";
        if (name != "ramping-arrival-rate" && !constant_rate) {
            throw UsageError(executor.values[0].where(executor.lines[0]) + "executor '" + name +
                             "': only the arrival-rate executors (ramping-arrival-rate, "
                             "constant-arrival-rate) give request rates");
        }
    }
    long double unit_seconds = 1;
    if (!time_unit.values.empty()) {
        Nanos unit = reader.duration_value(time_unit.values[0], "timeUnit");
        if (unit <= 0) {
            throw UsageError(time_unit.values[0].where(time_unit.lines[0]) +
                             "timeUnit must be greater than 0");
        }
        unit_seconds = static_cast<long double>(unit) / kNanosPerSecond;
    }

    RampPlan plan;
    if (constant_rate) {
        // k6's constant-arrival-rate: `rate` per timeUnit for `duration`, one held stage.
        if (rate.values.size() != 1 || duration.values.size() != 1) {
            throw UsageError(std::string(source) +
                             ": a constant-arrival-rate scenario needs exactly one rate and one "
                             "duration");
        }
        double per_unit = reader.number_value(rate.values[0], "rate");
        plan.stages.push_back(
            RampStage{reader.duration_value(duration.values[0], "duration"), per_unit});
        plan.start_rate = per_unit;
        plan.start_rate_given = true;
    } else if (!stages.values.empty()) {
        plan.stages = reader.stage_list(stages.values[0]);
    } else if (is_punct(first, '[')) {
        Lexer whole(text, source);
        plan.stages = reader.stage_list(whole);  // the JSON form: the list alone
    } else {
        throw UsageError(std::string(source) +
                         ": no stages list (expected k6's stages: [{ duration: '30s', target: "
                         "200 }, ...] or a JSON list of {\"duration\", \"target\"})");
    }
    if (!start_rate.values.empty() && !constant_rate) {
        plan.start_rate = reader.number_value(start_rate.values[0], "startRate");
        plan.start_rate_given = true;
    }
    auto per_second = [&](double per_unit) {
        return static_cast<double>(static_cast<long double>(per_unit) / unit_seconds);
    };
    plan.start_rate = per_second(plan.start_rate);
    for (RampStage &stage : plan.stages)
        stage.target = per_second(stage.target);
    return plan;
}

RampPlan read_k6_stages_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw UsageError("cannot read --stages-file '" + path + "': " + std::strerror(errno));
    }
    // At most one byte more than the limit is read, whatever the file's size.
    std::string text(kMaxStagesFileBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (in.bad()) throw UsageError("cannot read --stages-file '" + path + "'");
    return parse_k6_stages(text, path);
}

std::vector<Stage> ramp_schedule_stages(const RampPlan &plan) {
    check_target(plan.start_rate, "the start rate");
    std::vector<Stage> stages;
    double previous = plan.start_rate;
    Nanos start = 0;
    for (size_t i = 0; i < plan.stages.size(); ++i) {
        const RampStage &ramp = plan.stages[i];
        std::string name = "stage " + std::to_string(i + 1);
        check_target(ramp.target, name);
        if (ramp.duration < 0) throw UsageError(name + ": the duration is negative");
        if (ramp.duration > kMaxScheduleDuration - start) {
            throw UsageError(name + ": the stages last longer than " + max_schedule_text() +
                             ", the longest accepted");
        }
        if (ramp.duration > 0) {
            Stage stage{start, start + ramp.duration, previous, std::nullopt};
            if (ramp.target != previous) stage.ramp_to = ramp.target;
            stages.push_back(stage);
            start += ramp.duration;
        }
        previous = ramp.target;
    }
    if (stages.empty()) throw UsageError("no stage has a duration greater than 0");
    return stages;
}

}  // namespace dfaas::loadgen
