// dfaas-agent: one per node. See agent.h for what it does and docs/operations.md for how to run it.
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "agent.h"
#include "dfaas/config/node_id.h"
#include "dfaas/version.h"

namespace {

// The exit codes of every DFaaS binary (docs/operations.md, "Exit codes").
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // could not start, detach failed
constexpr int kExitUsage = 2;    // bad command line or configuration

spdlog::level::level_enum to_spdlog(dfaas::LogLevel level) {
    switch (level) {
        case dfaas::LogLevel::Trace:
            return spdlog::level::trace;
        case dfaas::LogLevel::Debug:
            return spdlog::level::debug;
        case dfaas::LogLevel::Info:
            return spdlog::level::info;
        case dfaas::LogLevel::Warn:
            return spdlog::level::warn;
        case dfaas::LogLevel::Error:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

// The secrets a node's security rests on: long enough to resist guessing and readable by the
// agent's user only. --check-config refuses a violation; the agent itself warns (it runs with the
// files the deployment mounted).
constexpr size_t kMinSecretBytes = 16;

std::vector<std::string> secret_problems(const dfaas::Config &cfg) {
    std::vector<std::string> problems;
    auto check = [&](const char *key, const std::string &path) {
        if (path.empty()) return;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            problems.push_back(std::string(key) + ": \"" + path + "\": " + std::strerror(errno));
            return;
        }
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
            char mode[8];
            std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
            problems.push_back(std::string(key) + ": \"" + path + "\" has mode " + mode +
                               ": group and others must have no access (chmod 600)");
        }
        auto secret = dfaas::read_secret_file(path);
        if (!secret) {
            problems.push_back(std::string(key) + ": " + secret.error());
            return;
        }
        if (secret->size() < kMinSecretBytes)
            problems.push_back(std::string(key) + ": \"" + path + "\" holds " +
                               std::to_string(secret->size()) + " bytes, at least " +
                               std::to_string(kMinSecretBytes) + " are required");
    };
    check("api.token_file", cfg.api.token_file);
    check("peers.cluster_key_file", cfg.peers.cluster_key_file);
    return problems;
}

}  // namespace

int main(int argc, char **argv) {
    // glibc gives every thread that allocates its own arena (up to 8 per core): with ~150 HTTP
    // worker threads the agent's RSS grew to 70-100 MiB of mostly empty arenas under 40 peers
    // and 300 functions (38 MiB with two). The agent's threads allocate little and rarely.
    (void)mallopt(M_ARENA_MAX, 2);
    CLI::App app{"dfaas-agent: the DFaaS node agent (strategies, eBPF data plane, peers, API)",
                 "dfaas-agent"};
    std::string config_path;
    if (const char *env = std::getenv("DFAAS_CONFIG")) config_path = env;
    bool check_config = false, detach = false, version = false;
    app.add_option("-c,--config", config_path,
                   "Configuration file, YAML or JSON (env DFAAS_CONFIG)");
    app.add_flag("--check-config", check_config, "Validate the configuration, print it, exit");
    app.add_flag(
        "--detach", detach,
        "Remove the data plane (programs and pinned maps; open connections are reset), exit");
    app.add_flag("--version", version, "Print the version and exit");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        // --help prints and exits 0; a bad command line is a usage error, exit 2 like every DFaaS
        // binary (docs/operations.md, "Exit codes"), not CLI11's own codes (105, 109, ...).
        return app.exit(e) == 0 ? kExitOk : kExitUsage;
    }
    if (version) {
        std::cout << "dfaas-agent " << DFAAS_VERSION << " (" << DFAAS_GIT << ")\n";
        return kExitOk;
    }

    spdlog::set_default_logger(spdlog::stderr_color_mt("dfaas-agent"));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

    auto loaded = dfaas::load_config(config_path, dfaas::process_environment());
    for (const auto &w : loaded.warnings)
        spdlog::warn("config: {}", w);
    if (!loaded.ok()) {
        for (const auto &e : loaded.errors)
            std::cerr << "dfaas-agent: config: " << e << '\n';
        return kExitUsage;
    }
    dfaas::Config cfg = *loaded.config;
    spdlog::set_level(to_spdlog(cfg.log.level));

    if (check_config) {
        auto id = dfaas::resolve_node_id(cfg.node, dfaas::NodeIdFile::ReadOnly);
        if (id) cfg.node.id = *id;
        std::cout << dfaas::dump_effective(cfg);
        if (!id) {
            std::cerr << "dfaas-agent: note: " << id.error()
                      << " (the agent creates it at start)\n";
        }
        const auto problems = secret_problems(cfg);
        for (const auto &problem : problems)
            std::cerr << "dfaas-agent: config: " << problem << '\n';
        return problems.empty() ? kExitOk : kExitUsage;
    }
    if (detach) {
        try {
            bool removed = dfaas::dp::Dataplane::detach(cfg.dataplane.bpffs);
            std::cerr << (removed ? "data plane detached, maps under " + cfg.dataplane.bpffs +
                                        " unpinned"
                                  : "nothing attached under " + cfg.dataplane.bpffs)
                      << '\n';
            return kExitOk;
        } catch (const std::exception &e) {
            std::cerr << "dfaas-agent: detach: " << e.what() << '\n';
            return kExitFailure;
        }
    }

    for (const auto &problem : secret_problems(cfg))
        spdlog::warn("config: {} (dfaas-agent --check-config refuses this)", problem);

    auto node_id = dfaas::resolve_node_id(cfg.node, dfaas::NodeIdFile::CreateIfMissing);
    if (!node_id) {
        std::cerr << "dfaas-agent: " << node_id.error() << '\n';
        return kExitUsage;
    }

    // Signals are taken synchronously by the main thread; every other thread inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    dfaas::agent::Agent agent(cfg, *node_id, dfaas::agent::make_production_dependencies(cfg));
    try {
        agent.start();
    } catch (const std::exception &e) {
        spdlog::critical("cannot start: {}", e.what());
        return kExitFailure;
    }
    std::thread waiter([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        spdlog::info("signal {}: stopping (the data plane keeps serving with its last policies)",
                     sig == SIGTERM ? "TERM" : "INT");
        agent.request_stop();
    });
    agent.wait();
    agent.stop();
    // Unblock the waiter if the stop came from elsewhere.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    spdlog::info("stopped");
    return kExitOk;
}
