#include "suggestions.h"

#include "dfaas/suggest.h"

namespace dfaas::cli {

namespace {

std::string command_path(const CLI::App &app) {
    std::string path = app.get_name();
    for (const CLI::App *parent = app.get_parent(); parent != nullptr;
         parent = parent->get_parent())
        path = parent->get_name() + " " + path;
    return path;
}

const CLI::App *find_subcommand(const CLI::App &app, const std::string &name) {
    for (const CLI::App *sub : app.get_subcommands({}))
        if (sub->check_name(name)) return sub;
    return nullptr;
}

// Options are looked up in the command and its parents: global options may follow a subcommand
// (dfaasctl falls through to its parents).
const CLI::Option *find_option(const CLI::App &app, const std::string &name) {
    for (const CLI::App *at = &app; at != nullptr; at = at->get_parent())
        if (const CLI::Option *opt = at->get_option_no_throw(name)) return opt;
    return nullptr;
}

bool has_positionals(const CLI::App &app) {
    for (const CLI::Option *opt : app.get_options())
        if (opt->get_positional()) return true;
    return false;
}

std::string did_you_mean(const std::string &word, const std::vector<std::string> &candidates) {
    auto match = dfaas::closest_match(word, candidates);
    return match ? "; did you mean \"" + *match + "\"?" : "";
}

std::string joined(const std::vector<std::string> &words) {
    std::string text;
    for (const auto &w : words)
        text += (text.empty() ? "" : ", ") + w;
    return text;
}

}  // namespace

std::optional<std::string> unknown_word_message(const CLI::App &app,
                                                const std::vector<std::string> &args) {
    const CLI::App *at = &app;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &arg = args[i];
        if (arg == "--") return std::nullopt;
        if (arg.size() > 1 && arg[0] == '-') {
            // "--name=value", "--name value", "-o value", "-ojson".
            bool long_form = arg.size() > 2 && arg[1] == '-';
            std::string name = long_form ? arg.substr(0, arg.find('=')) : arg.substr(0, 2);
            const CLI::Option *opt = find_option(*at, name);
            if (opt == nullptr) {
                std::vector<std::string> candidates;
                for (const CLI::App *a = at; a != nullptr; a = a->get_parent())
                    for (const CLI::Option *o : a->get_options()) {
                        for (const auto &l : o->get_lnames())
                            candidates.push_back("--" + l);
                        for (const auto &s : o->get_snames())
                            candidates.push_back("-" + s);
                    }
                return "unknown option \"" + name + "\" for \"" + command_path(*at) + "\"" +
                       did_you_mean(name, candidates);
            }
            bool value_attached = long_form ? arg.find('=') != std::string::npos : arg.size() > 2;
            if (opt->get_type_size_max() > 0 && !value_attached) ++i;  // skip the value
            continue;
        }
        if (const CLI::App *sub = find_subcommand(*at, arg)) {
            at = sub;
            continue;
        }
        if (has_positionals(*at)) continue;  // an argument of the command, not a command
        std::vector<std::string> names;
        for (const CLI::App *sub : at->get_subcommands({}))
            names.push_back(sub->get_name());
        if (names.empty()) return "\"" + command_path(*at) + "\" takes no argument \"" + arg + "\"";
        std::string hint = did_you_mean(arg, names);
        if (hint.empty()) hint = " (commands: " + joined(names) + ")";
        return "unknown command \"" + arg + "\" for \"" + command_path(*at) + "\"" + hint;
    }
    return std::nullopt;
}

}  // namespace dfaas::cli
