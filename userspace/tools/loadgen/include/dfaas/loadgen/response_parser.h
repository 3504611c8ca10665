// An incremental HTTP/1.1 response parser: bytes go in as they arrive from the socket, in pieces
// of any size. Bodies are counted, never stored, so memory stays bounded whatever the server
// sends. Handles Content-Length, chunked transfer coding (with extensions and trailers),
// close-delimited bodies, bodiless responses (HEAD, 1xx, 204, 304) and interim 1xx responses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dfaas::loadgen {

// The response header naming the DFaaS node that served a request (matched case-insensitively).
inline constexpr std::string_view kServedByHeader = "DFaaS-Node-ID";

class ResponseParser {
  public:
    // Guards against a hostile or broken server: no line and no header block grows without bound.
    static constexpr size_t kMaxLineBytes = 16 * 1024;
    static constexpr size_t kMaxHeaderBytes = 64 * 1024;
    // Longer served-by values are cut, so one node cannot inflate the report.
    static constexpr size_t kMaxNodeIdBytes = 128;

    // Prepares for the response to a new request; a HEAD request's response has no body.
    void reset(bool head_request = false);

    // Consumes bytes and returns how many it used: all of them unless the response completed or
    // failed part-way, in which case the rest belongs to no response of ours.
    size_t feed(std::string_view data);

    // The server closed the connection: this completes a close-delimited body; any other
    // incomplete response fails.
    void on_eof();

    bool done() const { return state_ == State::Done; }
    bool failed() const { return state_ == State::Failed; }
    // True once any byte of a response has arrived.
    bool started() const { return wire_bytes_ > 0; }
    const std::string &error() const { return error_; }

    int status() const { return status_; }
    // Whether the connection may carry another request after this response.
    bool keep_alive() const;
    uint64_t body_bytes() const { return body_bytes_; }
    uint64_t wire_bytes() const { return wire_bytes_; }
    // The served-by header's value, empty when the response had none.
    const std::string &node_id() const { return node_id_; }

  private:
    enum class State {
        StatusLine,
        Headers,
        FixedBody,
        ChunkSize,
        ChunkData,
        ChunkDataEnd,
        Trailers,
        UntilClose,
        Done,
        Failed,
    };

    void start_response();
    bool in_line_state() const;
    size_t consume_body(std::string_view data);
    void process_line(std::string_view line);
    void parse_status_line(std::string_view line);
    void parse_header(std::string_view line);
    void parse_chunk_size(std::string_view line);
    void finish_headers();
    void fail(std::string reason);

    State state_ = State::StatusLine;
    bool head_request_ = false;
    std::string line_;
    std::string error_;
    int status_ = 0;
    int version_minor_ = 1;
    bool chunked_ = false;
    bool has_content_length_ = false;
    bool close_token_ = false;
    bool keep_alive_token_ = false;
    bool close_delimited_ = false;
    bool must_close_ = false;
    uint64_t content_length_ = 0;
    uint64_t remaining_ = 0;
    uint64_t header_bytes_ = 0;
    uint64_t body_bytes_ = 0;
    uint64_t wire_bytes_ = 0;
    std::string node_id_;
};

}  // namespace dfaas::loadgen
