#include "state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "dfaas/strategy/json.h"

namespace dfaas::agent {

namespace {

using Json = nlohmann::json;
constexpr size_t kMaxFunctionNameBytes = 128;

int64_t to_ms(WallTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallTime from_ms(int64_t ms) {
    return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds(ms)));
}

std::string errno_text(int error) {
    return std::strerror(error);
}

StateLoad refuse(std::string error) {
    StateLoad r;
    r.status = StateLoadStatus::Refused;
    r.error = std::move(error);
    return r;
}

// Milliseconds since the epoch within ±~292 years: an integer that a time_point can hold.
bool valid_ms(const Json &value) {
    if (!value.is_number_integer()) return false;
    const int64_t ms = value.get<int64_t>();
    constexpr int64_t kLimit = int64_t{1} << 53;
    return ms > -kLimit && ms < kLimit;
}

// Closes a descriptor on every path out.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

std::string encode_state(const std::string &node_id, const PersistedState &state) {
    Json overrides = Json::object();
    for (const auto &[function, o] : state.overrides) {
        overrides[function] = {
            {"policy", strategy::policy_to_json(o.policy)},
            {"set_at_ms", to_ms(o.set_at)},
            {"expires_at_ms", o.expires_at ? Json(to_ms(*o.expires_at)) : Json(nullptr)}};
    }
    Json doc = {{"version", kStateFileVersion}, {"node_id", node_id}, {"overrides", overrides}};
    return doc.dump(1) + "\n";
}

StateLoad decode_state(const std::string &text, const std::string &node_id, WallTime now) {
    Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return refuse("not valid JSON");
    if (!doc.is_object()) return refuse("not a JSON object");
    auto version = doc.find("version");
    if (version == doc.end() || !version->is_number_integer() ||
        version->get<int64_t>() != kStateFileVersion)
        return refuse("version: expected " + std::to_string(kStateFileVersion));
    auto owner = doc.find("node_id");
    if (owner == doc.end() || !owner->is_string()) return refuse("node_id: expected a string");
    // Two agents configured with the same path (a shared volume) must not take each other's
    // overrides.
    if (owner->get<std::string>() != node_id)
        return refuse("node_id: the file belongs to node '" + owner->get<std::string>() +
                      "', this node is '" + node_id + "'");
    auto overrides = doc.find("overrides");
    if (overrides == doc.end() || !overrides->is_object())
        return refuse("overrides: expected an object");
    if (overrides->size() > kMaxPersistedOverrides)
        return refuse("overrides: more than " + std::to_string(kMaxPersistedOverrides));

    StateLoad result;
    result.status = StateLoadStatus::Loaded;
    for (const auto &[function, entry] : overrides->items()) {
        const std::string where = "overrides." + function;
        if (function.empty() || function.size() > kMaxFunctionNameBytes)
            return refuse("overrides: a function name must have 1.." +
                          std::to_string(kMaxFunctionNameBytes) + " bytes");
        if (!entry.is_object()) return refuse(where + ": expected an object");
        auto policy_json = entry.find("policy");
        if (policy_json == entry.end()) return refuse(where + ".policy: missing");
        Override o;
        try {
            o.policy = strategy::policy_from_json(*policy_json);
        } catch (const std::exception &e) {
            return refuse(where + ": " + e.what());
        }
        if (auto problem = o.policy.validate()) return refuse(where + ".policy: " + *problem);
        auto set_at = entry.find("set_at_ms");
        if (set_at == entry.end() || !valid_ms(*set_at))
            return refuse(where + ".set_at_ms: expected milliseconds since the epoch");
        o.set_at = from_ms(set_at->get<int64_t>());
        auto expires = entry.find("expires_at_ms");
        if (expires == entry.end()) return refuse(where + ".expires_at_ms: missing");
        if (!expires->is_null()) {
            if (!valid_ms(*expires))
                return refuse(where +
                              ".expires_at_ms: expected milliseconds since the epoch or "
                              "null");
            o.expires_at = from_ms(expires->get<int64_t>());
            if (*o.expires_at <= now) {
                ++result.expired_dropped;  // its time ran out while the agent was down
                continue;
            }
        }
        result.state.overrides[function] = o;
    }
    return result;
}

StateLoad read_state_file(const std::string &path, const std::string &node_id, WallTime now,
                          size_t max_bytes) {
    Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
    if (file.fd < 0) {
        if (errno == ENOENT) return StateLoad{};
        return refuse(path + ": cannot open: " + errno_text(errno));
    }
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) return refuse(path + ": cannot stat: " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) return refuse(path + ": not a regular file");
    if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > max_bytes)
        return refuse(path + ": " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                      std::to_string(max_bytes));
    // The size was checked first; reading one byte past it catches a file that grew since.
    std::string text(static_cast<size_t>(st.st_size) + 1, '\0');
    size_t have = 0;
    while (have < text.size()) {
        ssize_t n = ::read(file.fd, text.data() + have, text.size() - have);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return refuse(path + ": read: " + errno_text(errno));
        if (n == 0) break;
        have += static_cast<size_t>(n);
        if (have > max_bytes)
            return refuse(path + ": more than the limit of " + std::to_string(max_bytes) +
                          " bytes");
    }
    text.resize(have);
    StateLoad loaded = decode_state(text, node_id, now);
    if (loaded.status == StateLoadStatus::Refused) loaded.error = path + ": " + loaded.error;
    return loaded;
}

std::string write_state_file(const std::string &path, const std::string &text, size_t max_bytes) {
    if (text.size() > max_bytes)
        return path + ": state of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
               std::to_string(max_bytes);
    const std::filesystem::path target(path);
    const std::filesystem::path dir =
        target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec) return dir.string() + ": cannot create: " + ec.message();
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }
    // Same directory: rename() is atomic only within one file system.
    const std::string temporary = path + ".tmp." + std::to_string(::getpid());
    {
        Fd out{
            ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)};
        if (out.fd < 0) return temporary + ": cannot create: " + errno_text(errno);
        size_t done = 0;
        while (done < text.size()) {
            ssize_t n = ::write(out.fd, text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                std::string error = temporary + ": write: " + errno_text(errno);
                ::unlink(temporary.c_str());
                return error;
            }
            done += static_cast<size_t>(n);
        }
        if (::fsync(out.fd) != 0) {
            std::string error = temporary + ": fsync: " + errno_text(errno);
            ::unlink(temporary.c_str());
            return error;
        }
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        std::string error = path + ": rename: " + errno_text(errno);
        ::unlink(temporary.c_str());
        return error;
    }
    // The rename itself is durable only once the directory entry is on disk.
    Fd directory{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (directory.fd >= 0) ::fsync(directory.fd);
    return {};
}

}  // namespace dfaas::agent
