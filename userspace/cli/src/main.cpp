// dfaasctl: the operator's CLI. `dfaasctl dp ...` works on the pinned maps directly; the
// agent-facing commands talk to dfaas-agent's HTTP API.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "agent_commands.h"
#include "completion.h"
#include "dfaas/version.h"
#include "dp_commands.h"
#include "whatif_commands.h"

int main(int argc, char **argv) {
    using namespace dfaas::cli;
    CLI::App app{"dfaasctl: inspect and control a DFaaS node (agent API and eBPF data plane)",
                 "dfaasctl"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Help for every command");

    GlobalOptions global;
    if (const char *env = std::getenv("DFAAS_BPFFS")) global.bpffs = env;
    std::string output = "table";
    app.add_option("-o,--output", output, "Output format: table or json")
        ->check(CLI::IsMember({"table", "json"}))
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

    std::function<int()> run;
    add_agent_commands(app, global, agent, run);
    add_dp_commands(app, global, run);
    add_whatif_commands(app, global, run);

    auto *version = app.add_subcommand("version", "Print the version");
    version->callback([&] {
        run = [&] {
            if (global.format == Format::Json)
                print_json(std::cout, {{"version", DFAAS_VERSION}, {"git", DFAAS_GIT}});
            else
                std::cout << "dfaasctl " << DFAAS_VERSION << " (" << DFAAS_GIT << ")\n";
            return int(kOk);
        };
    });

    auto *completion = app.add_subcommand("completion", "Print a shell completion script");
    std::string shell;
    completion->add_option("shell", shell, "bash")->required()->check(CLI::IsMember({"bash"}));
    completion->callback([&] {
        run = [&] {
            std::cout << bash_completion(app);
            return int(kOk);
        };
    });

    // Options are parsed before subcommand callbacks run, so the format is known when the
    // callbacks pick the action; the action itself runs after parsing.
    app.parse_complete_callback(
        [&] { global.format = output == "json" ? Format::Json : Format::Table; });
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        int rc = app.exit(e);
        return rc == 0 ? kOk : kUsage;
    }
    return run ? run() : int(kUsage);
}
