// dfaas-loadgen: see docs/loadgen.md. Exit status (the table in docs/operations.md): 0 when the
// run completed (failed requests included, and after SIGINT), 2 on usage errors, 1 on a failure
// at run time (the report cannot be written, an unexpected system error).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <system_error>

#include "dfaas/loadgen/cli.h"
#include "dfaas/loadgen/report.h"

namespace {

using namespace dfaas::loadgen;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::atomic<LoadGenerator *> g_running{nullptr};

void on_interrupt(int) {
    if (LoadGenerator *generator = g_running.load()) generator->request_stop();
}

void install_interrupt_handlers() {
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

// Connection-per-request at thousands per second with multi-second timeouts keeps thousands of
// sockets open at once; the default soft limit (often 1024) would turn that into EMFILE errors.
void raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

// Opened before the run, so a bad path is a usage error and not a lost report after the run.
std::unique_ptr<std::ofstream> open_for_writing(const std::string &path, const char *flag) {
    if (path.empty()) return nullptr;
    auto file = std::make_unique<std::ofstream>(path, std::ios::trunc);
    if (!*file) {
        throw UsageError(std::string("cannot write ") + flag + " '" + path +
                         "': " + std::strerror(errno));
    }
    return file;
}

int run(const Options &options) {
    auto report_file = open_for_writing(options.output_path, "--output");
    auto timeline_file = open_for_writing(options.timeline_path, "--timeline");
    raise_descriptor_limit();

    LoadGenerator generator(options.config);
    bool show_progress = !options.quiet && isatty(STDERR_FILENO);
    ProgressCallback progress;
    if (show_progress) {
        progress = [](const Progress &snapshot) {
            std::fprintf(stderr, "\r%s\033[K", format_progress_line(snapshot).c_str());
            std::fflush(stderr);
        };
    }
    g_running.store(&generator);
    install_interrupt_handlers();
    RunResult result = generator.run(progress);
    g_running.store(nullptr);
    if (show_progress) std::fprintf(stderr, "\r\033[K");

    std::string report = options.json ? format_json_report(result) : format_text_report(result);
    std::ostream &out = report_file ? *report_file : std::cout;
    out << report;
    out.flush();
    if (timeline_file) {
        write_timeline_csv(result, *timeline_file);
        timeline_file->flush();
    }
    if (!out || (timeline_file && !*timeline_file)) {
        std::cerr << "dfaas-loadgen: error: writing the report failed\n";
        return kExitFailure;
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    try {
        CommandLine command_line = parse_command_line(argc, argv);
        if (command_line.exit_now) {
            std::cout << command_line.message;
            return 0;
        }
        return run(command_line.options);
    } catch (const UsageError &e) {
        std::cerr << "dfaas-loadgen: error: " << e.what() << "\nRun with --help for usage.\n";
        return kExitUsage;
    } catch (const std::exception &e) {
        std::cerr << "dfaas-loadgen: error: " << e.what() << "\n";
        return kExitFailure;
    }
}
