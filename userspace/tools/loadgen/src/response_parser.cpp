#include "dfaas/loadgen/response_parser.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "dfaas/text.h"

namespace dfaas::loadgen {
namespace {

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Calls visit(token) for each comma-separated, trimmed, non-empty element of a header list.
template <typename Visit>
void for_each_list_item(std::string_view value, Visit visit) {
    size_t pos = 0;
    while (pos <= value.size()) {
        size_t comma = value.find(',', pos);
        std::string_view item = trim_blanks(value.substr(pos, comma - pos));
        if (!item.empty()) visit(item);
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
}

bool parse_decimal(std::string_view text, uint64_t &out) {
    if (text.empty() || text.size() > 18) return false;
    uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    out = value;
    return true;
}

}  // namespace

void ResponseParser::reset(bool head_request) {
    head_request_ = head_request;
    error_.clear();
    wire_bytes_ = 0;
    body_bytes_ = 0;
    start_response();
}

// Clears per-response state; also used after an interim 1xx response, which keeps the byte count.
void ResponseParser::start_response() {
    state_ = State::StatusLine;
    line_.clear();
    status_ = 0;
    version_minor_ = 1;
    chunked_ = false;
    has_content_length_ = false;
    close_token_ = false;
    keep_alive_token_ = false;
    close_delimited_ = false;
    must_close_ = false;
    content_length_ = 0;
    remaining_ = 0;
    header_bytes_ = 0;
    node_id_.clear();
}

bool ResponseParser::keep_alive() const {
    if (close_delimited_ || must_close_ || close_token_) return false;
    return version_minor_ >= 1 || keep_alive_token_;
}

bool ResponseParser::in_line_state() const {
    return state_ == State::StatusLine || state_ == State::Headers || state_ == State::ChunkSize ||
           state_ == State::ChunkDataEnd || state_ == State::Trailers;
}

size_t ResponseParser::feed(std::string_view data) {
    size_t pos = 0;
    while (pos < data.size() && state_ != State::Done && state_ != State::Failed) {
        if (!in_line_state()) {
            pos += consume_body(data.substr(pos));
            continue;
        }
        size_t newline = data.find('\n', pos);
        size_t end = newline == std::string_view::npos ? data.size() : newline + 1;
        line_.append(data.substr(pos, end - pos));
        pos = end;
        if (line_.size() > kMaxLineBytes) {
            fail("line longer than " + std::to_string(kMaxLineBytes) + " bytes");
            break;
        }
        if (newline == std::string_view::npos) break;
        std::string_view line(line_);
        line.remove_suffix(1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        process_line(line);
        line_.clear();
    }
    wire_bytes_ += pos;
    return pos;
}

size_t ResponseParser::consume_body(std::string_view data) {
    if (state_ == State::UntilClose) {
        body_bytes_ += data.size();
        return data.size();
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
    remaining_ -= take;
    body_bytes_ += take;
    if (remaining_ == 0) {
        state_ = state_ == State::FixedBody ? State::Done : State::ChunkDataEnd;
    }
    return take;
}

void ResponseParser::process_line(std::string_view line) {
    switch (state_) {
        case State::StatusLine:
            parse_status_line(line);
            break;
        case State::Headers:
        case State::Trailers:
            header_bytes_ += line.size() + 2;
            if (header_bytes_ > kMaxHeaderBytes) {
                fail("header block larger than " + std::to_string(kMaxHeaderBytes) + " bytes");
            } else if (line.empty()) {
                if (state_ == State::Headers) {
                    finish_headers();
                } else {
                    state_ = State::Done;
                }
            } else if (state_ == State::Headers) {
                parse_header(line);
            }  // trailer fields carry nothing we report
            break;
        case State::ChunkSize:
            parse_chunk_size(line);
            break;
        case State::ChunkDataEnd:
            if (!line.empty()) {
                fail("chunk data longer than its declared size");
            } else {
                state_ = State::ChunkSize;
            }
            break;
        default:
            break;
    }
}

void ResponseParser::parse_status_line(std::string_view line) {
    // "HTTP/1.1 200 OK"; the reason phrase may be empty or absent.
    if (line.size() < 12 || !line.starts_with("HTTP/1.") || line[8] != ' ' ||
        !std::isdigit(static_cast<unsigned char>(line[7]))) {
        fail("malformed status line '" + std::string(line.substr(0, 64)) + "'");
        return;
    }
    int status = 0;
    for (size_t i = 9; i < 12; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(line[i]))) {
            fail("malformed status code in '" + std::string(line.substr(0, 64)) + "'");
            return;
        }
        status = status * 10 + (line[i] - '0');
    }
    if (line.size() > 12 && line[12] != ' ') {
        fail("malformed status code in '" + std::string(line.substr(0, 64)) + "'");
        return;
    }
    if (status < 100) {
        fail("status code " + std::to_string(status) + " out of range");
        return;
    }
    version_minor_ = line[7] - '0';
    status_ = status;
    state_ = State::Headers;
}

void ResponseParser::parse_header(std::string_view line) {
    if (line.front() == ' ' || line.front() == '\t') return;  // obsolete line folding: ignored
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
        fail("malformed header line '" + std::string(line.substr(0, 64)) + "'");
        return;
    }
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) {
        fail("malformed header name '" + std::string(name.substr(0, 64)) + "'");
        return;
    }
    std::string_view value = trim_blanks(line.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
        uint64_t length = 0;
        if (!parse_decimal(value, length) || (has_content_length_ && length != content_length_)) {
            fail("invalid Content-Length '" + std::string(value.substr(0, 32)) + "'");
            return;
        }
        has_content_length_ = true;
        content_length_ = length;
    } else if (iequals(name, "Transfer-Encoding")) {
        // Only the final coding decides the framing; chunked must be last when present.
        std::string_view last;
        for_each_list_item(value, [&](std::string_view coding) { last = coding; });
        chunked_ = iequals(last, "chunked");
        if (!chunked_) close_delimited_ = true;
    } else if (iequals(name, "Connection")) {
        for_each_list_item(value, [&](std::string_view option) {
            if (iequals(option, "close")) close_token_ = true;
            if (iequals(option, "keep-alive")) keep_alive_token_ = true;
        });
    } else if (iequals(name, kServedByHeader)) {
        node_id_ = std::string(value.substr(0, kMaxNodeIdBytes));
    }
}

void ResponseParser::parse_chunk_size(std::string_view line) {
    std::string_view digits = trim_blanks(line.substr(0, line.find(';')));
    if (digits.empty() || digits.size() > 15 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
        fail("invalid chunk size '" + std::string(line.substr(0, 32)) + "'");
        return;
    }
    remaining_ = std::stoull(std::string(digits), nullptr, 16);
    state_ = remaining_ == 0 ? State::Trailers : State::ChunkData;
}

void ResponseParser::finish_headers() {
    bool interim = status_ >= 100 && status_ < 200 && status_ != 101;
    if (interim) {  // e.g. 100 Continue: the real response follows on the same connection
        start_response();
        return;
    }
    bool bodiless = head_request_ || status_ < 200 || status_ == 204 || status_ == 304;
    if (bodiless) {
        state_ = State::Done;
    } else if (chunked_) {
        // Content-Length next to chunked is a smuggling pattern: parse chunked, then close.
        must_close_ = has_content_length_;
        state_ = State::ChunkSize;
    } else if (close_delimited_ || !has_content_length_) {
        close_delimited_ = true;
        state_ = State::UntilClose;
    } else {
        remaining_ = content_length_;
        state_ = remaining_ == 0 ? State::Done : State::FixedBody;
    }
}

void ResponseParser::on_eof() {
    if (state_ == State::UntilClose) {
        state_ = State::Done;
    } else if (state_ != State::Done && state_ != State::Failed) {
        fail(started() ? "connection closed before the response was complete"
                       : "connection closed before any response");
    }
}

void ResponseParser::fail(std::string reason) {
    state_ = State::Failed;
    error_ = std::move(reason);
}

}  // namespace dfaas::loadgen
