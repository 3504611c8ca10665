// dfaasctl: the operator's CLI. `dfaasctl dp ...` works on the pinned maps directly; the
// agent-facing commands talk to dfaas-agent's HTTP API.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "agent_commands.h"
#include "completion.h"
#include "dfaas/version.h"
#include "dfaas/duration.h"
#include "dp_commands.h"
#include "monitor_command.h"
#include "suggestions.h"
#include "whatif_commands.h"

int main(int argc, char **argv) {
    using namespace dfaas::cli;
    CLI::App app{"dfaasctl: inspect and control a DFaaS node (agent API and eBPF data plane)",
                 "dfaasctl"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Help for every command");
    app.set_version_flag("--version",
                         std::string("dfaasctl ") + DFAAS_VERSION + " (" + DFAAS_GIT + ")",
                         "Print the version and exit");
    // Global options may follow the subcommand too (dfaasctl dp stats -o json), as with kubectl.
    app.fallthrough();

    GlobalOptions global;
    if (const char *env = std::getenv("DFAAS_BPFFS")) global.bpffs = env;
    std::string output = "table";
    app.add_option("-o,--output", output, "Output format: table, json or yaml")
        ->check(CLI::IsMember({"table", "json", "yaml"}))
        ->capture_default_str();
    app.add_option("--bpffs", global.bpffs, "Pin directory of the data plane (env DFAAS_BPFFS)")
        ->capture_default_str();
    AgentOptions agent;
    if (const char *env = std::getenv("DFAAS_AGENT")) agent.url = env;
    if (const char *env = std::getenv("DFAAS_TOKEN")) agent.token = env;
    app.add_option("--agent", agent.url, "The agent's API (env DFAAS_AGENT)")
        ->capture_default_str();
    app.add_option("--token", agent.token,
                   "Control token for mutations from other hosts (env DFAAS_TOKEN)");
    std::string request_timeout = "5s";
    app.add_option("--request-timeout", request_timeout,
                   "How long to wait for the agent: connect, send, answer (e.g. 2s, 500ms)")
        ->capture_default_str();

    std::function<int()> run;
    add_agent_commands(app, global, agent, run);
    add_dp_commands(app, global, run);
    add_monitor_command(app, global, agent, run);
    add_whatif_commands(app, global, run);

    auto *version = app.add_subcommand("version", "Print the version");
    version->callback([&] {
        run = [&] {
            if (is_document(global.format))
                print_document(std::cout, global.format,
                               nlohmann::json{{"version", DFAAS_VERSION}, {"git", DFAAS_GIT}});
            else
                std::cout << "dfaasctl " << DFAAS_VERSION << " (" << DFAAS_GIT << ")\n";
            return int(kOk);
        };
    });

    auto *completion = app.add_subcommand("completion", "Print a shell completion script");
    std::string shell;
    completion->add_option("shell", shell, "bash, zsh or fish")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh", "fish"}));
    completion->callback([&] {
        run = [&] {
            CompletionExtras extras;
            extras.command_arguments[" completion"] = "bash zsh fish";
            extras.option_values["-o"] = extras.option_values["--output"] = "table json yaml";
            std::cout << completion_script(app, shell, extras);
            return int(kOk);
        };
    });

    // Options are parsed before subcommand callbacks run, so the format is known when the
    // callbacks pick the action; the action itself runs after parsing.
    std::string bad_timeout;
    app.parse_complete_callback([&] {
        global.format = output == "json"   ? Format::Json
                        : output == "yaml" ? Format::Yaml
                                           : Format::Table;
        auto timeout = dfaas::parse_duration(request_timeout, dfaas::BareNumber::Seconds);
        if (!timeout || *timeout < std::chrono::milliseconds(1))
            bad_timeout =
                dfaas::duration_error("--request-timeout", request_timeout,
                                      timeout ? "is shorter than the minimum 1ms" : timeout.reason);
        else
            agent.timeout_ms = int(std::min<int64_t>(
                std::chrono::duration_cast<std::chrono::milliseconds>(*timeout).count(),
                24 * 3600 * 1000));
    });
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        std::vector<std::string> args(argv + 1, argv + argc);
        if (auto message = unknown_word_message(app, args)) {
            std::cerr << "dfaasctl: " << *message << "\nRun 'dfaasctl --help' for usage.\n";
            return kUsage;
        }
        app.exit(e);
        return kUsage;
    }
    if (!bad_timeout.empty()) {
        std::cerr << "dfaasctl: " << bad_timeout << '\n';
        return kUsage;
    }
    return run ? run() : int(kUsage);
}
