// The dfaas-faas-sim binary itself: exit codes, messages, signals.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <vector>

#include "test_support.h"

namespace faas_sim::test {
namespace {

using Clock = std::chrono::steady_clock;

// dfaas-faas-sim started with `args`; stdout and stderr go to one pipe.
class SimProcess {
  public:
    explicit SimProcess(std::vector<std::string> args) {
        int fds[2];
        if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            dup2(fds[1], STDOUT_FILENO);
            dup2(fds[1], STDERR_FILENO);
            close(fds[0]);
            close(fds[1]);
            std::vector<char *> argv;
            std::string binary = FAAS_SIM_BINARY;
            argv.push_back(binary.data());
            for (auto &arg : args)
                argv.push_back(arg.data());
            argv.push_back(nullptr);
            execv(binary.c_str(), argv.data());
            _exit(127);
        }
        close(fds[1]);
        output_fd_ = fds[0];
    }
    ~SimProcess() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        close(output_fd_);
    }

    // Reads output until `pattern` matches it (returns the match) or the timeout passes.
    std::smatch wait_for_output(const std::regex &pattern,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto deadline = Clock::now() + timeout;
        std::smatch match;
        while (!std::regex_search(output_, match, pattern) && Clock::now() < deadline) {
            if (!read_some(50)) break;
        }
        return match;
    }

    // Waits for the exit and returns the exit status (-1 on timeout or death by signal).
    int wait_for_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            int status = 0;
            pid_t done = waitpid(pid_, &status, WNOHANG);
            if (done == pid_) {
                pid_ = -1;
                while (read_some(0)) {
                }
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            read_some(20);
        }
        return -1;
    }

    void signal(int number) const { kill(pid_, number); }
    const std::string &output() const { return output_; }

  private:
    // False at end of output.
    bool read_some(int timeout_ms) {
        pollfd fd{output_fd_, POLLIN, 0};
        if (poll(&fd, 1, timeout_ms) <= 0) return true;
        char buffer[4096];
        ssize_t n = read(output_fd_, buffer, sizeof(buffer));
        if (n <= 0) return false;
        output_.append(buffer, static_cast<size_t>(n));
        return true;
    }

    pid_t pid_ = -1;
    int output_fd_ = -1;
    std::string output_;
};

const char *kGoodFile =
    "functions:\n  - {name: echo, behaviour: echo, labels: {dfaas.maxrate: 10}}\n";

TEST(FaasSimBinary, BadFunctionsFileExitsWith2NamingTheProblem) {
    TempFile file("functions.yaml", "functions:\n  - name: echo\n    replicas: lots\n");
    SimProcess sim({"--functions", file.path().string(), "--listen", "127.0.0.1:0"});
    EXPECT_EQ(sim.wait_for_exit(), 2);
    EXPECT_NE(sim.output().find(file.path().string() + ":3: functions[0] (echo): 'replicas'"),
              std::string::npos)
        << sim.output();
}

TEST(FaasSimBinary, MissingFunctionsFileExitsWith2) {
    SimProcess sim({"--functions", "/nonexistent/f.yaml"});
    EXPECT_EQ(sim.wait_for_exit(), 2);
    EXPECT_NE(sim.output().find("/nonexistent/f.yaml: cannot open"), std::string::npos)
        << sim.output();
}

TEST(FaasSimBinary, BadFlagsExitWith2) {
    TempFile file("functions.yaml", kGoodFile);
    struct Case {
        std::vector<std::string> args;
        const char *expected;
    };
    std::vector<Case> cases = {
        {{}, "--functions is required"},
        {{"--functions", file.path().string(), "--listen", "localhost"}, "--listen 'localhost'"},
        {{"--functions", file.path().string(), "--threads", "0"}, "--threads"},
        {{"--functions", file.path().string(), "--node", "a b"}, "--node 'a b' must be printable"},
        {{"--functions", file.path().string(), "--log-level", "loud"}, "--log-level"},
        {{"--functions", file.path().string(), "--basic-auth-user", "admin"},
         "basic auth needs --basic-auth-password-file"},
        {{"--functions", file.path().string(), "--basic-auth-user", "admin",
          "--basic-auth-password-file", "/nonexistent/pw"},
         "/nonexistent/pw: cannot open"},
    };
    for (const Case &c : cases) {
        SimProcess sim(c.args);
        EXPECT_EQ(sim.wait_for_exit(), 2) << c.expected;
        EXPECT_NE(sim.output().find(c.expected), std::string::npos) << sim.output();
    }
}

TEST(FaasSimBinary, BusyPortExitsWith1NamingTheAddress) {
    httplib::Server occupant;
    int port = occupant.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    TempFile file("functions.yaml", kGoodFile);
    std::string address = "127.0.0.1:" + std::to_string(port);
    SimProcess sim({"--functions", file.path().string(), "--listen", address});
    EXPECT_EQ(sim.wait_for_exit(), 1);
    EXPECT_NE(sim.output().find("cannot listen on " + address), std::string::npos) << sim.output();
}

TEST(FaasSimBinary, CheckConfigPrintsTheFunctions) {
    TempFile file("functions.yaml", kGoodFile);
    SimProcess sim({"--functions", file.path().string(), "--check-config"});
    EXPECT_EQ(sim.wait_for_exit(), 0);
    EXPECT_NE(sim.output().find("echo.openfaas-fn: behaviour echo"), std::string::npos)
        << sim.output();
    EXPECT_NE(sim.output().find("dfaas.maxrate=10"), std::string::npos) << sim.output();
}

// Starts the binary on an ephemeral port, calls it, sends `stop_signal`, expects exit code 0.
void serve_then_stop_with(int stop_signal) {
    TempFile file("functions.yaml", kGoodFile);
    SimProcess sim(
        {"--functions", file.path().string(), "--listen", "127.0.0.1:0", "--node", "node-b"});
    std::smatch listening = sim.wait_for_output(std::regex(R"(listening on 127\.0\.0\.1:(\d+))"));
    ASSERT_FALSE(listening.empty()) << sim.output();
    httplib::Client client("127.0.0.1", std::stoi(listening[1].str()));
    client.set_connection_timeout(std::chrono::seconds(5));
    auto response = client.Post("/function/echo", "ping", "text/plain");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "ping");
    EXPECT_EQ(response->get_header_value("DFaaS-Node-ID"), "node-b");

    auto start = Clock::now();
    sim.signal(stop_signal);
    EXPECT_EQ(sim.wait_for_exit(), 0) << sim.output();
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
    EXPECT_NE(sim.output().find("stopped"), std::string::npos) << sim.output();
}

TEST(FaasSimBinary, StopsCleanlyOnSigterm) {
    serve_then_stop_with(SIGTERM);
}

TEST(FaasSimBinary, StopsCleanlyOnSigint) {
    serve_then_stop_with(SIGINT);
}

}  // namespace
}  // namespace faas_sim::test
