// What the agent keeps across its own restarts: the operator overrides (PUT /v1/policies/{f}),
// each with its absolute expiry, so a restart neither loses an override nor extends it.
//
// The file is small JSON, rewritten whole on every change: written to a temporary file in the
// same directory, fsync'ed, then renamed over the old one (and the directory fsync'ed), so a
// crash at any point leaves either the old or the new state, never a torn file. Reading is
// bounded before anything is allocated (kMaxStateFileBytes); a file that is too large, not
// JSON, of another version, of another node or holding an invalid override is refused as a
// whole (the agent logs it, counts it and starts without it: it never exits over its state).
//
// {"version":1,"node_id":"node-a","overrides":{"figlet":{"policy":{...},"set_at_ms":...,
//  "expires_at_ms":... or null}}}
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "overrides.h"

namespace dfaas::agent {

inline constexpr size_t kMaxStateFileBytes = size_t{1} << 20;  // 1 MiB
// More overrides than functions the data plane can hold make no sense; this bounds the parse.
inline constexpr size_t kMaxPersistedOverrides = 4096;
inline constexpr int kStateFileVersion = 1;

struct PersistedState {
    std::map<std::string, Override> overrides;
};

enum class StateLoadStatus {
    Absent,   // no file yet (first start): not an error
    Loaded,   // `state` holds what the file said, expired overrides dropped
    Refused,  // `error` says why; the agent starts without it
};

struct StateLoad {
    StateLoadStatus status = StateLoadStatus::Absent;
    PersistedState state;
    std::string error;           // refused: the reason, naming the file
    size_t expired_dropped = 0;  // loaded: overrides whose expiry passed while the agent was down
};

// Pure: the file's text for `state`, and back. decode_state() refuses (status refused) rather
// than throwing; `now` drops the overrides that expired.
std::string encode_state(const std::string &node_id, const PersistedState &state);
StateLoad decode_state(const std::string &text, const std::string &node_id, WallTime now);

// Reads at most `max_bytes` (+1 to detect a larger file): a file larger than that, not a
// regular file, or unreadable is refused without reading it whole.
StateLoad read_state_file(const std::string &path, const std::string &node_id, WallTime now,
                          size_t max_bytes = kMaxStateFileBytes);

// Atomic replace (temporary file in the same directory, fsync, rename, fsync of the directory).
// Creates the directory (0700) when missing. Returns an empty string on success, else the error.
// Refuses to write more than `max_bytes` (the reader would refuse it).
std::string write_state_file(const std::string &path, const std::string &text,
                             size_t max_bytes = kMaxStateFileBytes);

}  // namespace dfaas::agent
