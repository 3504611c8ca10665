// dfaas-loadgen-bench-server: the test server as a stand-alone process, to measure how fast
// dfaas-loadgen can go on this machine (see docs/loadgen.md, "Measured limits").
//   dfaas-loadgen-bench-server [PORT [DELAY_MS]]    runs until SIGINT/SIGTERM
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "test_server.h"

using dfaas::loadgen::testing::http_reply;
using dfaas::loadgen::testing::ReceivedRequest;
using dfaas::loadgen::testing::Reply;
using dfaas::loadgen::testing::TestServer;

int main(int argc, char **argv) {
    if (argc > 3) {
        std::fprintf(stderr, "usage: %s [PORT [DELAY_MS]]\n", argv[0]);
        return 1;
    }
    auto port = static_cast<uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
    int delay_ms = argc > 2 ? std::atoi(argv[2]) : 0;
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // the server thread inherits the mask

    TestServer server(
        [delay_ms](const ReceivedRequest &) {
            Reply reply = http_reply(200, "hello\n", {{"DFaaS-Node-ID", "bench"}});
            reply.delay = std::chrono::milliseconds(delay_ms);
            return reply;
        },
        port, /*keep_requests=*/false);
    std::printf("listening on %s\n", server.url().c_str());
    std::fflush(stdout);
    int received = 0;
    sigwait(&signals, &received);
    std::printf("served %llu requests on %llu connections\n",
                static_cast<unsigned long long>(server.request_count()),
                static_cast<unsigned long long>(server.accepted_connections()));
    return 0;
}
