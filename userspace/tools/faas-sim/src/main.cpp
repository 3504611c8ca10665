// dfaas-faas-sim: serves simulated OpenFaaS functions behind the gateway's API.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <iostream>
#include <limits>
#include <thread>

#include "faas_sim/function_spec.h"
#include "faas_sim/server.h"

namespace {

constexpr int kExitBadConfig = 2;
constexpr int kExitServerFailed = 1;

struct CommandLine {
    std::string listen = "0.0.0.0:8080";
    std::string functions_file;
    std::string node_name;
    std::string basic_auth_user;
    std::string basic_auth_user_file;
    std::string basic_auth_password_file;
    size_t threads = faas_sim::ServerOptions{}.threads;
    int backlog = faas_sim::ServerOptions{}.listen_backlog;
    size_t keep_alive_max = faas_sim::ServerOptions{}.keep_alive_max_requests;
    time_t keep_alive_timeout = faas_sim::ServerOptions{}.keep_alive_timeout_seconds;
    size_t max_body_bytes = faas_sim::ServerOptions{}.max_body_bytes;
    std::string log_level = "info";
    bool check_config = false;
};

void add_flags(CLI::App &app, CommandLine &cli) {
    app.add_option("--listen", cli.listen, "Address to serve on, ADDR:PORT ([v6]:PORT for IPv6)")
        ->capture_default_str();
    app.add_option("--functions", cli.functions_file, "Functions file (YAML or .json)")->required();
    app.add_option("--node", cli.node_name,
                   "Node name sent in the DFaaS-Node-ID header (default: the host name)");
    auto *user = app.add_option("--basic-auth-user", cli.basic_auth_user,
                                "Enable basic auth on /system/* for this user");
    auto *user_file = app.add_option("--basic-auth-user-file", cli.basic_auth_user_file,
                                     "Read the basic-auth user from this file (trimmed)");
    user->excludes(user_file);
    app.add_option("--basic-auth-password-file", cli.basic_auth_password_file,
                   "Read the basic-auth password from this file (trimmed)");
    app.add_option("--threads", cli.threads,
                   "Server threads; each open connection (idle keep-alive too) holds one")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    app.add_option("--backlog", cli.backlog, "Listen backlog (capped by net.core.somaxconn)")
        ->check(CLI::Range(1, 65535))
        ->capture_default_str();
    app.add_option("--keep-alive-max", cli.keep_alive_max,
                   "Requests served on one keep-alive connection before it is closed")
        ->check(CLI::Range(size_t{1}, std::numeric_limits<size_t>::max()))
        ->capture_default_str();
    app.add_option("--keep-alive-timeout", cli.keep_alive_timeout,
                   "Seconds an idle keep-alive connection is kept")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    app.add_option("--max-body-bytes", cli.max_body_bytes,
                   "Largest request body accepted (413 above)")
        ->check(CLI::Range(size_t{1}, std::numeric_limits<size_t>::max()))
        ->capture_default_str();
    app.add_option("--log-level", cli.log_level, "Log level (debug logs every request)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
        ->capture_default_str();
    app.add_flag("--check-config", cli.check_config,
                 "Validate the functions file, print what would be served, and exit");
    app.set_version_flag(
        "--version", std::string("dfaas-faas-sim ") + DFAAS_VERSION + " (" DFAAS_GIT_DESCRIBE ")",
        "Print the version and exit");
}

std::string host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "unknown";
    return name;
}

bool is_header_safe(const std::string &value) {
    return std::all_of(value.begin(), value.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// Throws std::runtime_error with a message naming the flag or file at fault.
std::optional<faas_sim::BasicAuthCredentials> basic_auth(const CommandLine &cli) {
    std::string user = cli.basic_auth_user;
    if (!cli.basic_auth_user_file.empty())
        user = faas_sim::read_secret_file(cli.basic_auth_user_file);
    const bool has_password = !cli.basic_auth_password_file.empty();
    if (user.empty() && !has_password) return std::nullopt;
    if (user.empty()) {
        throw std::runtime_error(
            "--basic-auth-password-file needs --basic-auth-user or --basic-auth-user-file");
    }
    if (!has_password) throw std::runtime_error("basic auth needs --basic-auth-password-file");
    return faas_sim::BasicAuthCredentials{user,
                                          faas_sim::read_secret_file(cli.basic_auth_password_file)};
}

faas_sim::ServerOptions server_options(const CommandLine &cli) {
    faas_sim::ServerOptions options;
    auto listen = faas_sim::parse_listen_address(cli.listen);
    if (!listen) {
        throw std::runtime_error("--listen '" + cli.listen +
                                 "' is not ADDR:PORT with a port from 0 to 65535");
    }
    options.listen = *listen;
    options.node_name = cli.node_name.empty() ? host_name() : cli.node_name;
    if (!is_header_safe(options.node_name)) {
        throw std::runtime_error(
            "--node '" + options.node_name +
            "' must be printable ASCII without spaces (it is sent in a header)");
    }
    options.basic_auth = basic_auth(cli);
    options.threads = cli.threads;
    options.listen_backlog = cli.backlog;
    options.keep_alive_max_requests = cli.keep_alive_max;
    options.keep_alive_timeout_seconds = cli.keep_alive_timeout;
    options.max_body_bytes = cli.max_body_bytes;
    options.log_requests = cli.log_level == "debug" || cli.log_level == "trace";
    return options;
}

void print_functions(const faas_sim::FunctionsDocument &document) {
    if (document.node) {
        std::cout << "node model: " << document.node->cpus << " virtual CPU(s), memory_mb "
                  << document.node->memory_mb << ", base_memory_mb "
                  << document.node->base_memory_mb << "\n";
    }
    const auto &specs = document.functions;
    std::cout << specs.size() << " function(s)\n";
    for (const auto &spec : specs) {
        std::cout << "  " << spec.qualified_name() << ": behaviour "
                  << faas_sim::behaviour_name(spec.behaviour) << ", cpu_ms " << spec.cpu_ms
                  << ", sleep_ms " << spec.sleep_ms << ", replicas " << spec.replicas
                  << ", max_inflight " << spec.max_inflight;
        if (document.node) {
            std::cout << ", cost_ms " << spec.cost_ms << ", queue " << spec.queue << ", timeout_ms "
                      << spec.timeout_ms << ", memory_mb " << spec.memory_mb
                      << ", request_memory_mb " << spec.request_memory_mb;
        }
        for (const auto &[key, value] : spec.labels)
            std::cout << ", " << key << "=" << value;
        std::cout << "\n";
    }
}

// Requests beyond the thread count queue inside cpp-httplib instead of getting a 429, which
// would hide overload; 429 answers, scrapes and /system calls need free threads too.
constexpr uint64_t kSpareThreads = 16;

void warn_if_threads_limit_capacity(const faas_sim::FunctionsDocument &document, size_t threads) {
    // Each admitted request holds a thread: without a node model, replicas x max_inflight of
    // each function; with one, at most `cpus` running plus every function's queue.
    uint64_t total = document.node ? document.node->cpus : 0;
    for (const auto &spec : document.functions)
        total += document.node ? spec.queue : spec.replicas * spec.max_inflight;
    if (total + kSpareThreads > threads) {
        spdlog::warn(
            "the functions admit {} concurrent requests and --threads is {}; give at least {} "
            "threads so that 429 answers and scrapes do not wait for a busy thread",
            total, threads, total + kSpareThreads);
    }
}

// SIGINT/SIGTERM are blocked in every thread and taken here, so that stopping happens in a
// normal thread rather than in a signal handler.
void wait_for_stop_signal(const sigset_t &signals, const std::atomic<bool> &served,
                          faas_sim::FaasSimServer &server) {
    const timespec poll_interval{0, 200 * 1000 * 1000};
    while (!served.load()) {
        int signal = sigtimedwait(&signals, nullptr, &poll_interval);
        if (signal > 0) {
            spdlog::info("received {}, stopping", strsignal(signal));
            server.stop();
            return;
        }
    }
}

int run(const CommandLine &cli) {
    faas_sim::FunctionsDocument document;
    faas_sim::ServerOptions options;
    try {
        document = faas_sim::load_functions_document(cli.functions_file);
        options = server_options(cli);
    } catch (const std::exception &error) {
        std::cerr << "dfaas-faas-sim: " << error.what() << "\n";
        return kExitBadConfig;
    }
    if (cli.check_config) {
        print_functions(document);
        return 0;
    }
    warn_if_threads_limit_capacity(document, options.threads);

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread starts
    std::signal(SIGPIPE, SIG_IGN);

    const size_t function_count = document.functions.size();
    faas_sim::FaasSimServer server(std::move(document), options);
    int port = 0;
    try {
        port = server.bind();
    } catch (const std::exception &error) {
        spdlog::error("{}", error.what());
        return kExitServerFailed;
    }
    spdlog::info("node {} listening on {}:{} with {} function(s), {} threads", options.node_name,
                 options.listen.host, port, function_count, options.threads);
    std::atomic<bool> served{false};
    std::thread signal_thread(wait_for_stop_signal, std::cref(stop_signals), std::cref(served),
                              std::ref(server));
    server.serve();
    served.store(true);
    signal_thread.join();
    spdlog::info("stopped");
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"dfaas-faas-sim: an OpenFaaS-gateway-compatible function server"};
    CommandLine cli;
    add_flags(app, cli);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &error) {
        int code = app.exit(error);
        return code == 0 ? 0 : kExitBadConfig;
    }
    spdlog::set_default_logger(spdlog::stderr_color_mt("faas-sim"));
    spdlog::set_level(spdlog::level::from_str(cli.log_level));
    return run(cli);
}
