#include "dfaas/config/node_id.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "value_parsers.h"

namespace dfaas {
namespace {

Error id_file_error(const std::string &path, const std::string &what) {
    return fail("node.id_file: " + path + ": " + what);
}

// Writes the id to a temporary file and renames it over `path`, so a crash never leaves a
// half-written id behind.
Result<std::string> create_id_file(const std::string &path) {
    std::error_code ec;
    auto directory = std::filesystem::path(path).parent_path();
    if (!directory.empty()) std::filesystem::create_directories(directory, ec);
    if (ec) return id_file_error(path, "cannot create directory: " + ec.message());

    std::string id = generate_node_id();
    std::string temporary = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream file(temporary, std::ios::trunc);
        if (!file)
            return id_file_error(path, std::string("cannot create: ") + std::strerror(errno));
        file << id << '\n';
        if (!file.flush()) return id_file_error(path, "cannot write");
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        int err = errno;
        std::remove(temporary.c_str());
        return id_file_error(path, std::string("cannot create: ") + std::strerror(err));
    }
    return id;
}

}  // namespace

bool is_valid_node_id(std::string_view id) {
    return !id.empty() && config_detail::parse_node_id(id).ok();
}

std::string generate_node_id() {
    std::random_device entropy;
    std::uniform_int_distribution<unsigned> hex_digit(0, 15);
    std::string id = "node-";
    for (int i = 0; i < 16; ++i)
        id += "0123456789abcdef"[hex_digit(entropy)];
    return id;
}

Result<std::string> resolve_node_id(const NodeConfig &node, NodeIdFile mode) {
    if (!node.id.empty()) return node.id;
    const std::string &path = node.id_file;
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        if (errno != ENOENT)
            return id_file_error(path, std::string("cannot read: ") + std::strerror(errno));
        if (mode == NodeIdFile::ReadOnly)
            return id_file_error(path,
                                 "does not exist yet (the agent creates it at its first start)");
        return create_id_file(path);
    }
    std::ifstream file(path);
    if (!file || S_ISDIR(info.st_mode))
        return id_file_error(path, "cannot read (is it a readable file?)");
    std::string id;
    std::getline(file, id);
    id = config_detail::trim(id);
    if (!is_valid_node_id(id))
        return id_file_error(path, "holds \"" + id +
                                       "\", not a node id (1..63 of A-Z a-z 0-9 . _ -); fix or "
                                       "delete the file");
    return id;
}

}  // namespace dfaas
