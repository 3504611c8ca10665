#include "faas_sim/behaviour.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <thread>

#include "faas_sim/banner.h"

namespace faas_sim {
namespace {

using Clock = std::chrono::steady_clock;

// Sleeps are cut into slices so that a stopping server does not wait for long sleeps.
constexpr auto kSleepSlice = std::chrono::milliseconds(50);
// How many arithmetic rounds run between two reads of the thread's CPU clock (a system call).
constexpr int kRoundsPerClockRead = 20000;

double thread_cpu_ms() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

std::string plain_text_or(std::string_view content_type) {
    return content_type.empty() ? std::string("text/plain; charset=utf-8")
                                : std::string(content_type);
}

std::string request_header(const InvocationInput &input, const std::string &name) {
    if (input.headers == nullptr) return {};
    auto it = input.headers->find(name);
    return it == input.headers->end() ? std::string() : it->second;
}

// "Content-Type" -> "Http_Content_Type", as the classic watchdog names request headers.
std::string header_variable_name(std::string_view header) {
    std::string name = "Http_";
    for (char c : header)
        name += c == '-' ? '_' : c;
    return name;
}

std::string env_output(const FunctionSpec &spec, const InvocationInput &input) {
    std::string out;
    auto line = [&out](std::string_view key, std::string_view value) {
        out.append(key).append("=").append(value).append("\n");
    };
    for (const auto &[key, value] : spec.env_vars)
        line(key, value);
    if (!spec.env_process.empty()) line("fprocess", spec.env_process);
    line("Http_Method", input.method);
    line("Http_Path", input.path.empty() ? "/" : input.path);
    if (!input.query.empty()) line("Http_Query", input.query);
    if (input.headers != nullptr) {
        for (const auto &[key, value] : *input.headers)
            line(header_variable_name(key), value);
    }
    return out;
}

}  // namespace

void burn_cpu(double cpu_ms, const std::atomic<bool> &stop) {
    if (cpu_ms <= 0) return;
    const double deadline = thread_cpu_ms() + cpu_ms;
    // An xorshift generator; its state is published through a volatile so the work stays.
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    volatile uint64_t sink = 0;
    do {
        for (int i = 0; i < kRoundsPerClockRead; ++i) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
        }
        sink = state;
    } while (thread_cpu_ms() < deadline && !stop.load(std::memory_order_relaxed));
    (void)sink;
}

void sleep_interruptibly(double sleep_ms, const std::atomic<bool> &stop) {
    if (sleep_ms <= 0) return;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double, std::milli>(sleep_ms));
    while (!stop.load(std::memory_order_relaxed)) {
        auto now = Clock::now();
        if (now >= deadline) return;
        std::this_thread::sleep_for(std::min<Clock::duration>(deadline - now, kSleepSlice));
    }
}

std::string sha512sum_output(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha512(), nullptr) != 1) {
        throw std::runtime_error("SHA-512 computation failed");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2 + 4);
    for (unsigned int i = 0; i < length; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 0xf];
    }
    out += "  -\n";
    return out;
}

InvocationOutput invoke(const FunctionSpec &spec, const InvocationInput &input,
                        const std::atomic<bool> &stop) {
    burn_cpu(spec.cpu_ms, stop);
    sleep_interruptibly(spec.sleep_ms, stop);
    const std::string text_plain = "text/plain; charset=utf-8";
    switch (spec.behaviour) {
        case Behaviour::Figlet:
            return {render_banner(input.body), text_plain};
        case Behaviour::Echo:
            return {std::string(input.body), plain_text_or(request_header(input, "Content-Type"))};
        case Behaviour::Shasum:
            return {sha512sum_output(input.body), text_plain};
        case Behaviour::Env:
            return {env_output(spec, input), text_plain};
        case Behaviour::Cpu:
            return {fmt::format("cpu: burned {} ms\n", spec.cpu_ms), text_plain};
        case Behaviour::Sleep:
            return {fmt::format("sleep: waited {} ms\n", spec.sleep_ms), text_plain};
    }
    return {std::string(), text_plain};
}

}  // namespace faas_sim
