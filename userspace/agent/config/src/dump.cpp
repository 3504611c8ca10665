// dump_effective() and the key listings (JSON, Markdown), all generated from the key table.
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "dfaas/config/config.h"
#include "dfaas/config/config_keys.h"
#include "key_registry.h"

namespace dfaas {
namespace {

using config_detail::key_specs;
using config_detail::KeySpec;

// The node for `section_path` inside `root`, creating the sections on the way (insertion order is
// kept, so the dump follows the key table).
YAML::Node section_node(YAML::Node root, const std::string &section_path) {
    YAML::Node node = root;
    size_t start = 0;
    while (start < section_path.size()) {
        size_t dot = section_path.find('.', start);
        std::string name = section_path.substr(start, dot - start);
        node.reset(node[name]);  // rebind: plain assignment would overwrite the parent
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return node;
}

YAML::Node value_node(const KeySpec &spec, const Config &config) {
    std::vector<std::string> items = spec.render(config);
    if (!spec.is_list) return YAML::Node(items.front());
    YAML::Node list(YAML::NodeType::Sequence);
    for (const auto &item : items)
        list.push_back(item);
    list.SetStyle(YAML::EmitterStyle::Flow);
    return list;
}

std::string default_text(const KeySpec &spec) {
    if (!spec.default_note.empty()) return spec.default_note;
    static const Config defaults;
    std::string text;
    for (const auto &item : spec.render(defaults))
        text += (text.empty() ? "" : ", ") + item;
    return text;
}

std::string markdown_cell(std::string text) {
    std::string escaped;
    for (char c : text) {
        if (c == '|') escaped += '\\';
        escaped += c;
    }
    return escaped;
}

std::string code(const std::string &text) {
    return "`" + text + "`";
}

}  // namespace

std::string generic_env_name(const std::string &path) {
    std::string name = "DFAAS_";
    for (char c : path)
        name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
}

const std::vector<ConfigKeyInfo> &config_keys() {
    static const std::vector<ConfigKeyInfo> keys = [] {
        std::vector<ConfigKeyInfo> list;
        for (const auto &spec : key_specs()) {
            std::vector<std::string> env = spec.env_names();
            for (const auto &url : config_detail::url_host_port_variables()) {
                if (url.path != spec.path) continue;
                env.push_back(url.host_env);
                env.push_back(url.port_env);
            }
            list.push_back({spec.path, spec.type, default_text(spec), env, spec.description});
        }
        return list;
    }();
    return keys;
}

std::string config_keys_json() {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto &key : config_keys())
        keys.push_back({{"path", key.path},
                        {"type", key.type},
                        {"default", key.default_value},
                        {"env", key.env},
                        {"description", key.description}});
    return keys.dump(2) + "\n";
}

std::string config_keys_markdown() {
    std::string table = "| Key | Type | Default | Environment | Meaning |\n|---|---|---|---|---|\n";
    for (const auto &key : config_keys()) {
        std::string env;
        for (const auto &name : key.env)
            env += (env.empty() ? "" : "<br>") + code(name);
        std::string default_value = key.default_value.empty() ? "\"\"" : key.default_value;
        table += "| " + code(key.path) + " | " + markdown_cell(key.type) + " | " +
                 markdown_cell(code(default_value)) + " | " + env + " | " +
                 markdown_cell(key.description) + " |\n";
    }
    return table;
}

std::string dump_effective(const Config &config) {
    YAML::Node root(YAML::NodeType::Map);
    for (const auto &spec : key_specs()) {
        auto dot = spec.path.rfind('.');
        YAML::Node section = section_node(root, spec.path.substr(0, dot));
        section[spec.path.substr(dot + 1)] = value_node(spec, config);
    }
    YAML::Emitter out;
    out << YAML::Comment(
               "dfaas-agent effective configuration (secrets are files: only paths shown)")
        << YAML::Newline << root;
    return std::string(out.c_str()) + "\n";
}

}  // namespace dfaas
