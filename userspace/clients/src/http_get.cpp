#include "http_get.h"

#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include "dfaas/clients/duration_text.h"

namespace dfaas::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string errno_text(int err) {
    if (err == ECONNREFUSED) return "connection refused";
    if (err == ETIMEDOUT) return "connection timed out";
    std::string text = std::strerror(err);
    if (!text.empty())
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    return text;
}

// Waits for a non-blocking connect to finish; returns 0 on success, else an errno value.
int finish_connect(int fd, milliseconds budget) {
    pollfd pfd{fd, POLLOUT, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(budget.count()));
    if (ready == 0) return ETIMEDOUT;
    if (ready < 0) return errno;
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}

// httplib reports every connect failure as Error::Connection and does not keep errno. To tell
// the operator *why* (refused, unreachable, unresolvable), connect once more ourselves, within
// the time left of the request's budget. Only runs on the failure path.
std::string diagnose_connect_failure(const HttpUrl &url, milliseconds budget) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *found = nullptr;
    std::string port = std::to_string(url.port);
    int gai = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found);
    if (gai != 0) return "cannot resolve host \"" + url.host + "\": " + ::gai_strerror(gai);
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);

    int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      found->ai_protocol);
    if (fd < 0) return "could not connect: " + errno_text(errno);
    int err = ::connect(fd, found->ai_addr, found->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) err = finish_connect(fd, budget);
    ::close(fd);
    if (err == 0) return "could not connect (the server accepted a retry: transient failure)";
    if (err == ETIMEDOUT) return "connection timed out after " + format_duration(budget);
    return errno_text(err);
}

std::string describe_transport_error(httplib::Error error, const HttpUrl &url, milliseconds elapsed,
                                     milliseconds timeout) {
    bool used_whole_budget = elapsed >= timeout - milliseconds(timeout.count() / 10);
    switch (error) {
        case httplib::Error::Connection:
        case httplib::Error::ConnectionTimeout:
            if (used_whole_budget) return "connection timed out after " + format_duration(timeout);
            return diagnose_connect_failure(url, timeout - elapsed);
        case httplib::Error::Read:
            if (used_whole_budget) return "no response within " + format_duration(timeout);
            return "connection closed before a complete response was received";
        case httplib::Error::Write:
            return "failed to send the request";
        case httplib::Error::SSLConnection:
            return "TLS handshake failed";
        case httplib::Error::SSLLoadingCerts:
            return "could not load TLS CA certificates";
        case httplib::Error::SSLServerVerification:
            return "TLS server certificate verification failed";
        case httplib::Error::Canceled:
            return "request canceled";
        case httplib::Error::Compression:
            return "could not decompress the response";
        default:
            return "request failed (" + httplib::to_string(error) + ")";
    }
}

}  // namespace

std::string describe_get(const HttpUrl &base, std::string_view path) {
    return "GET " + base.origin() + base.join(path);
}

std::string body_excerpt(std::string_view body, size_t max_chars) {
    std::string line;
    bool pending_space = false;
    for (char c : body) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            pending_space = !line.empty();
            continue;
        }
        if (pending_space) line += ' ';
        pending_space = false;
        line += c;
        if (line.size() > max_chars) {
            line.resize(max_chars);
            return line + "...";
        }
    }
    return line.empty() ? "(empty body)" : line;
}

Result<HttpResponse> http_get(const HttpUrl &base, std::string_view path, const QueryParams &params,
                              const HttpGetOptions &options) {
    httplib::Client client(base.origin());
    client.set_connection_timeout(options.timeout);
    client.set_read_timeout(options.timeout);
    client.set_write_timeout(options.timeout);
    client.set_keep_alive(false);
    client.set_follow_location(false);
    if (options.basic_auth)
        client.set_basic_auth(options.basic_auth->username, options.basic_auth->password);

    httplib::Params query(params.begin(), params.end());
    auto started = Clock::now();
    auto response =
        client.Get(base.join(path), query, httplib::Headers{{"Accept", "application/json"}});
    auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
    if (!response)
        return fail(describe_get(base, path) + ": " +
                    describe_transport_error(response.error(), base, elapsed, options.timeout));
    return HttpResponse{response->status, std::move(response->body),
                        response->get_header_value("Content-Type")};
}

}  // namespace dfaas::detail
