// Loading: defaults, then the file, then the environment, then validation. Every problem is
// collected (not just the first), each naming its key and where the value came from.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "dfaas/config/config.h"
#include "dfaas/config/config_keys.h"
#include "key_registry.h"
#include "suggest.h"
#include "validate.h"
#include "value_parsers.h"

extern char **environ;

namespace dfaas {
namespace config_detail {
namespace {

std::string join(const std::vector<std::string> &items, std::string_view separator) {
    std::string joined;
    for (const auto &item : items)
        joined += (joined.empty() ? "" : std::string(separator)) + item;
    return joined;
}

std::string child_path(const std::string &section, const std::string &key) {
    return section.empty() ? key : section + "." + key;
}

std::vector<std::string> all_known_paths() {
    std::vector<std::string> paths;
    std::set<std::string> sections;
    for (const auto &spec : key_specs()) {
        paths.push_back(spec.path);
        for (auto dot = spec.path.find('.'); dot != std::string::npos;
             dot = spec.path.find('.', dot + 1))
            sections.insert(spec.path.substr(0, dot));
    }
    paths.insert(paths.end(), sections.begin(), sections.end());
    return paths;
}

std::vector<std::string> all_env_names() {
    std::vector<std::string> names;
    for (const auto &spec : key_specs())
        for (auto &name : spec.env_names())
            names.push_back(name);
    for (const auto &url : url_host_port_variables()) {
        names.push_back(url.host_env);
        names.push_back(url.port_env);
    }
    return names;
}

class Loader {
  public:
    explicit Loader(const Environment &env) : env_(env) {}

    void read_document(std::string_view text, const std::string &source);
    void read_environment();
    LoadResult finish();

    void add_error(std::string message) { errors_.push_back(std::move(message)); }
    // The file could not be read as a whole: report only that, not the consequences.
    void add_fatal_error(std::string message) {
        add_error(std::move(message));
        fatal_ = true;
    }

  private:
    std::string location(const std::string &source, const YAML::Node &node) const {
        return source + " line " + std::to_string(node.Mark().line + 1);
    }
    void read_mapping(const YAML::Node &mapping, const std::string &section,
                      const std::string &source);
    void read_entry(const std::string &path, const YAML::Node &key, const YAML::Node &value,
                    const std::string &source);
    void read_leaf(const KeySpec &spec, const YAML::Node &value, const std::string &where);
    void report_unknown_key(const std::string &path, const std::string &section,
                            const std::string &where);

    std::optional<std::pair<std::string, std::string>> env_value(const KeySpec &spec);
    void read_url_host_port(const UrlFromHostPort &variables);
    void warn_about_unknown_variables();

    const Environment &env_;
    std::map<std::string, RawValue> raw_;  // path -> value; later sources replace earlier ones
    std::vector<std::string> errors_;
    std::vector<std::string> warnings_;
    bool fatal_ = false;
};

// Receives a document's parse events and keeps nothing: only the number of documents counts.
class DiscardEvents : public YAML::EventHandler {
  public:
    void OnDocumentStart(const YAML::Mark &) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark &, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark &, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark &, const std::string &, YAML::anchor_t,
                  const std::string &) override {}
    void OnSequenceStart(const YAML::Mark &, const std::string &, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark &, const std::string &, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

// The stream's documents, at most `limit` of them (parse errors throw YAML::Exception).
// yaml-cpp 0.7's LoadAll() never returns on some malformed streams (a flow collection followed
// by a comma, "{},": jbeder/yaml-cpp#1040, fixed upstream by #1319): its parser keeps reporting
// one more empty document. Found by tests/fuzz/fuzz_config.cpp.
std::vector<YAML::Node> load_documents(const std::string &text, size_t limit) {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    DiscardEvents discard;
    size_t count = 0;
    while (count < limit && parser.HandleNextDocument(discard))
        ++count;
    if (count <= 1)
        return count ? std::vector<YAML::Node>{YAML::Load(text)} : std::vector<YAML::Node>{};
    return std::vector<YAML::Node>(count);  // only the count is used
}

constexpr size_t kMaxYamlDocuments = 16;

void Loader::read_document(std::string_view text, const std::string &source) {
    std::vector<YAML::Node> documents;
    try {
        documents = load_documents(std::string(text), kMaxYamlDocuments);
    } catch (const YAML::Exception &error) {
        add_fatal_error(source + ": not valid YAML or JSON at line " +
                        std::to_string(error.mark.line + 1) + ", column " +
                        std::to_string(error.mark.column + 1) + ": " + error.msg);
        return;
    }
    if (documents.size() > 1) {
        add_fatal_error(source + ": contains " +
                        (documents.size() < kMaxYamlDocuments ? "" : "at least ") +
                        std::to_string(documents.size()) + " YAML documents, expected one");
        return;
    }
    if (documents.empty() || documents.front().IsNull()) return;  // an empty file: all defaults
    if (!documents.front().IsMap()) {
        add_fatal_error(source + ": the top level must be a mapping of sections (" +
                        join(section_children(""), ", ") + ")");
        return;
    }
    read_mapping(documents.front(), "", source);
}

void Loader::read_mapping(const YAML::Node &mapping, const std::string &section,
                          const std::string &source) {
    std::set<std::string> seen;
    for (const auto &entry : mapping) {
        // Copies: the iterator's pair is a temporary, references into it would dangle.
        YAML::Node key = entry.first;
        YAML::Node value = entry.second;
        if (!key.IsScalar()) {
            add_error(child_path(section, "?") + ": a key must be a plain name (" +
                      location(source, key) + ")");
            continue;
        }
        // A key is never a value, but it is printed: no raw control bytes in messages.
        std::string path = child_path(section, printable(key.Scalar()));
        if (!seen.insert(key.Scalar()).second) {
            add_error(path + ": given twice (" + location(source, key) + ")");
            continue;
        }
        read_entry(path, key, value, source);
    }
}

void Loader::read_entry(const std::string &path, const YAML::Node &key, const YAML::Node &value,
                        const std::string &source) {
    std::string where = location(source, key);
    if (const KeySpec *spec = find_key(path)) return read_leaf(*spec, value, where);
    if (!is_section(path)) {
        auto dot = path.rfind('.');
        return report_unknown_key(path, dot == std::string::npos ? "" : path.substr(0, dot), where);
    }
    if (value.IsNull()) return;  // an empty section: its defaults
    if (!value.IsMap()) {
        add_error(path + ": is a section (with " + join(section_children(path), ", ") +
                  "), not a value (from " + where + ")");
        return;
    }
    read_mapping(value, path, source);
}

void Loader::read_leaf(const KeySpec &spec, const YAML::Node &value, const std::string &where) {
    if (value.IsNull()) return;  // "key:" or "key: null" keeps the default
    RawValue raw;
    raw.origin = where;
    if (value.IsScalar()) {
        raw.items.push_back(value.Scalar());
    } else if (value.IsSequence() && spec.is_list) {
        raw.is_list = true;
        for (const auto &item : value) {
            if (!item.IsScalar()) {
                add_error(spec.path + ": every item must be a single value (from " + where + ")");
                return;
            }
            raw.items.push_back(item.Scalar());
        }
    } else {
        add_error(spec.path + ": expected " + (spec.is_list ? "a list" : "a single value") + " (" +
                  spec.type + "), got a " + (value.IsMap() ? "mapping" : "list") + " (from " +
                  where + ")");
        return;
    }
    raw_[spec.path] = std::move(raw);
}

void Loader::report_unknown_key(const std::string &path, const std::string &section,
                                const std::string &where) {
    std::string message = path + ": unknown key";
    if (auto suggestion = closest_match(path, all_known_paths()))
        message += "; did you mean " + *suggestion + "?";
    else
        message += "; valid keys " +
                   (section.empty() ? std::string("at the top level") : "under " + section) + ": " +
                   join(section_children(section), ", ");
    add_error(message + " (from " + where + ")");
}

// The value of the first set variable of a key; an error if two of them disagree.
std::optional<std::pair<std::string, std::string>> Loader::env_value(const KeySpec &spec) {
    std::optional<std::pair<std::string, std::string>> chosen;
    for (const auto &name : spec.env_names()) {
        auto it = env_.find(name);
        if (it == env_.end() || it->second.empty()) continue;  // empty = not set (k8s habit)
        if (!chosen) {
            chosen = {name, it->second};
        } else if (chosen->second != it->second) {
            add_error(spec.path + ": " + chosen->first + "=" + quote(chosen->second) + " and " +
                      name + "=" + quote(it->second) + " disagree; set only one");
            return std::nullopt;
        }
    }
    return chosen;
}

void Loader::read_environment() {
    for (const auto &spec : key_specs()) {
        auto value = env_value(spec);
        if (value) raw_[spec.path] = RawValue{{value->second}, false, "env " + value->first};
    }
    for (const auto &variables : url_host_port_variables())
        read_url_host_port(variables);
    warn_about_unknown_variables();
}

// AGENT_OPENFAAS_HOST / _PORT each replace their part of the URL configured so far.
void Loader::read_url_host_port(const UrlFromHostPort &variables) {
    auto lookup = [&](const std::string &name) -> std::string {
        auto it = env_.find(name);
        return it == env_.end() ? "" : trim(it->second);
    };
    std::string host = lookup(variables.host_env), port = lookup(variables.port_env);
    if (host.empty() && port.empty()) return;
    if (host.find("://") != std::string::npos || host.find('/') != std::string::npos) {
        add_error(variables.path + ": " + variables.host_env + "=" + quote(host) +
                  " must be a host name or address, without scheme or path");
        return;
    }
    const KeySpec &spec = *find_key(variables.path);
    auto configured = raw_.find(variables.path);
    static const Config defaults;
    std::string base_text =
        configured != raw_.end() ? configured->second.text() : spec.render(defaults).front();
    auto base = HttpUrl::parse(base_text);
    if (!base) base = HttpUrl::parse(spec.render(defaults).front());

    std::string text = base->scheme + "://" + (host.empty() ? base->host : host) + ":" +
                       (port.empty() ? std::to_string(base->port) : port) + base->path;
    std::string names = host.empty()   ? variables.port_env
                        : port.empty() ? variables.host_env
                                       : variables.host_env + " and " + variables.port_env;
    bool set_by_generic_env =
        configured != raw_.end() && configured->second.origin.starts_with("env ");
    if (set_by_generic_env) {
        auto combined = HttpUrl::parse(text);
        if (combined && *combined != *base) {
            add_error(variables.path + ": " + configured->second.origin.substr(4) + "=" +
                      quote(base_text) + " and " + names + " (" + quote(text) +
                      ") disagree; set only one");
            return;
        }
    }
    raw_[variables.path] = RawValue{{text}, false, "env " + names};
}

void Loader::warn_about_unknown_variables() {
    std::vector<std::string> known = all_env_names();
    for (const auto &[name, value] : env_) {
        if (!name.starts_with("DFAAS_")) continue;
        if (std::find(known.begin(), known.end(), name) != known.end()) continue;
        std::string message =
            "environment variable " + printable(name) + " is not a configuration key (ignored)";
        if (auto suggestion = closest_match(name, known))
            message += "; did you mean " + *suggestion + "?";
        warnings_.push_back(message);
    }
}

// Checked before any key's own parser, so that no key can accept text the dump could not
// reproduce, and no message prints raw control bytes.
std::optional<std::string> text_reason(const KeySpec &spec, const RawValue &raw) {
    for (size_t i = 0; i < raw.items.size(); ++i) {
        auto problem = text_problem(raw.items[i], spec.allows_line_breaks);
        if (!problem) continue;
        std::string item = raw.is_list ? " (item " + std::to_string(i + 1) + ")" : "";
        return quote(raw.items[i]) + item + " " + *problem;
    }
    return std::nullopt;
}

LoadResult Loader::finish() {
    LoadResult result;
    if (fatal_) {
        result.errors = std::move(errors_);
        return result;
    }
    Config config;
    KeyOrigins origins;
    for (const auto &spec : key_specs()) {
        auto raw = raw_.find(spec.path);
        if (raw == raw_.end()) continue;
        origins.origin[spec.path] = raw->second.origin;
        if (auto reason = text_reason(spec, raw->second);
            reason || (reason = spec.apply(config, raw->second))) {
            origins.failed.insert(spec.path);
            add_error(spec.path + ": " + *reason + " (from " + raw->second.origin + ")");
        }
    }
    validate_config(config, origins, errors_);
    result.errors = std::move(errors_);
    result.warnings = std::move(warnings_);
    if (result.errors.empty()) result.config = std::move(config);
    return result;
}

}  // namespace
}  // namespace config_detail

Environment process_environment() {
    Environment env;
    for (char **entry = environ; entry && *entry; ++entry) {
        std::string_view text(*entry);
        auto equals = text.find('=');
        if (equals == std::string_view::npos) continue;
        env.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
    }
    return env;
}

LoadResult load_config_text(std::string_view text, std::string_view source_name,
                            const Environment &env) {
    config_detail::Loader loader(env);
    loader.read_document(text, std::string(source_name));
    loader.read_environment();
    return loader.finish();
}

LoadResult load_config(const std::string &path, const Environment &env) {
    if (path.empty()) return load_config_text("", "(no file)", env);
    std::ifstream file(path);
    if (!file) {
        LoadResult result;
        result.errors.push_back("config file " + path + ": cannot open: " + std::strerror(errno));
        return result;
    }
    std::ostringstream content;
    content << file.rdbuf();
    return load_config_text(content.str(), path, env);
}

}  // namespace dfaas
