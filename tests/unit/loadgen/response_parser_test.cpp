#include "dfaas/loadgen/response_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace dfaas::loadgen {
namespace {

// Feeds the response in pieces of `step` bytes, as a socket might deliver it.
ResponseParser parse_in_steps(const std::string &wire, size_t step, bool head = false) {
    ResponseParser parser;
    parser.reset(head);
    for (size_t pos = 0; pos < wire.size() && !parser.done() && !parser.failed(); pos += step) {
        parser.feed(std::string_view(wire).substr(pos, step));
    }
    return parser;
}

TEST(ResponseParser, ContentLengthBodyInAnySplit) {
    const std::string wire =
        "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nDFaaS-Node-ID: node-a\r\n\r\nhello world";
    for (size_t step : {size_t{1}, size_t{2}, size_t{7}, wire.size()}) {
        ResponseParser parser = parse_in_steps(wire, step);
        ASSERT_TRUE(parser.done()) << "step " << step << ": " << parser.error();
        EXPECT_EQ(parser.status(), 200);
        EXPECT_EQ(parser.body_bytes(), 11u);
        EXPECT_EQ(parser.wire_bytes(), wire.size());
        EXPECT_EQ(parser.node_id(), "node-a");
        EXPECT_TRUE(parser.keep_alive());
    }
}

TEST(ResponseParser, StopsAtTheEndOfTheResponse) {
    const std::string first = "HTTP/1.1 204 No Content\r\n\r\n";
    ResponseParser parser;
    parser.reset();
    EXPECT_EQ(parser.feed(first + "HTTP/1.1 200 OK\r\n"), first.size());
    EXPECT_TRUE(parser.done());
    EXPECT_EQ(parser.status(), 204);
    EXPECT_EQ(parser.body_bytes(), 0u);
}

TEST(ResponseParser, ChunkedWithExtensionsAndTrailers) {
    const std::string wire =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        "5\r\nhello\r\n"
        "6;name=value\r\n world\r\n"
        "A \r\n0123456789\r\n"
        "0\r\nX-Trailer: yes\r\n\r\n";
    for (size_t step : {size_t{1}, size_t{3}, wire.size()}) {
        ResponseParser parser = parse_in_steps(wire, step);
        ASSERT_TRUE(parser.done()) << "step " << step << ": " << parser.error();
        EXPECT_EQ(parser.body_bytes(), 21u);
        EXPECT_EQ(parser.wire_bytes(), wire.size());
        EXPECT_TRUE(parser.keep_alive());
    }
}

TEST(ResponseParser, ChunkedRejectsBadFraming) {
    ResponseParser bad_size =
        parse_in_steps("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 4);
    EXPECT_TRUE(bad_size.failed());
    ResponseParser overlong = parse_in_steps(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", 4);
    EXPECT_TRUE(overlong.failed());
}

TEST(ResponseParser, CloseDelimitedBodyEndsAtEof) {
    ResponseParser parser = parse_in_steps("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nabcdefg", 3);
    EXPECT_FALSE(parser.done());
    parser.on_eof();
    ASSERT_TRUE(parser.done());
    EXPECT_EQ(parser.body_bytes(), 7u);
    EXPECT_FALSE(parser.keep_alive());
}

TEST(ResponseParser, EofBeforeCompleteResponseFails) {
    ResponseParser truncated =
        parse_in_steps("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 5);
    truncated.on_eof();
    EXPECT_TRUE(truncated.failed());
    EXPECT_TRUE(truncated.started());

    ResponseParser nothing;
    nothing.reset();
    nothing.on_eof();
    EXPECT_TRUE(nothing.failed());
    EXPECT_FALSE(nothing.started());
}

TEST(ResponseParser, BodilessResponses) {
    EXPECT_TRUE(
        parse_in_steps("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", 5).done());
    ResponseParser head =
        parse_in_steps("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 5, /*head=*/true);
    EXPECT_TRUE(head.done());
    EXPECT_EQ(head.body_bytes(), 0u);
}

TEST(ResponseParser, InterimContinueIsSkipped) {
    ResponseParser parser = parse_in_steps(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nContent-Length: "
        "2\r\n\r\nno",
        4);
    ASSERT_TRUE(parser.done());
    EXPECT_EQ(parser.status(), 503);
    EXPECT_EQ(parser.body_bytes(), 2u);
}

TEST(ResponseParser, ConnectionPersistenceFollowsVersionAndHeader) {
    EXPECT_FALSE(
        parse_in_steps("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 64)
            .keep_alive());
    EXPECT_FALSE(parse_in_steps("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 64).keep_alive());
    EXPECT_TRUE(
        parse_in_steps("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", 64)
            .keep_alive());
}

TEST(ResponseParser, HeaderNamesAreCaseInsensitive) {
    ResponseParser parser = parse_in_steps(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 1\r\ndfaas-node-id:  node-b \r\n\r\nx",
        64);
    ASSERT_TRUE(parser.done());
    EXPECT_EQ(parser.status(), 429);
    EXPECT_EQ(parser.node_id(), "node-b");
}

TEST(ResponseParser, RejectsMalformedResponses) {
    EXPECT_TRUE(parse_in_steps("garbage\r\n\r\n", 64).failed());
    EXPECT_TRUE(parse_in_steps("HTTP/1.1 2x0 OK\r\n\r\n", 64).failed());
    EXPECT_TRUE(parse_in_steps("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", 64).failed());
    EXPECT_TRUE(
        parse_in_steps("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 64)
            .failed());
    EXPECT_TRUE(parse_in_steps("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 64).failed());
}

TEST(ResponseParser, BoundsHeaderSize) {
    std::string huge_line =
        "HTTP/1.1 200 OK\r\nX: " + std::string(ResponseParser::kMaxLineBytes, 'a');
    EXPECT_TRUE(parse_in_steps(huge_line, 4096).failed());
    std::string many = "HTTP/1.1 200 OK\r\n";
    while (many.size() < ResponseParser::kMaxHeaderBytes + 1024)
        many += "X-Filler: 0123456789\r\n";
    EXPECT_TRUE(parse_in_steps(many + "\r\n", 4096).failed());
}

TEST(ResponseParser, ResetAllowsReuseOnKeepAlive) {
    ResponseParser parser;
    parser.reset();
    parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nDFaaS-Node-ID: a\r\n\r\nabc");
    ASSERT_TRUE(parser.done());
    parser.reset();
    EXPECT_FALSE(parser.started());
    parser.feed("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    ASSERT_TRUE(parser.done());
    EXPECT_EQ(parser.status(), 503);
    EXPECT_EQ(parser.node_id(), "");
    EXPECT_EQ(parser.body_bytes(), 0u);
}

}  // namespace
}  // namespace dfaas::loadgen
