#include "dfaas/entry/http_head.h"

#include <gtest/gtest.h>

namespace dfaas::entry {
namespace {

HeadResult parse(std::string_view bytes, size_t max = 8192) {
    HeadLimits limits;
    limits.max_head_bytes = max;
    return parse_head(bytes, limits);
}

TEST(HttpHead, ParsesAValidHead) {
    std::string bytes =
        "POST /function/figlet HTTP/1.1\r\nHost: node\r\nContent-Length: 5\r\n\r\nhello";
    auto r = parse(bytes);
    ASSERT_EQ(r.status, HeadStatus::Complete) << r.reason;
    EXPECT_EQ(r.head.method, "POST");
    EXPECT_EQ(r.head.target, "/function/figlet");
    EXPECT_EQ(r.head.version, "HTTP/1.1");
    EXPECT_EQ(r.head.length, bytes.size() - 5);
    ASSERT_EQ(r.head.fields.size(), 2u);
    EXPECT_EQ(r.head.field("content-length").value(), "5");
    EXPECT_FALSE(r.head.field("X-Missing"));
}

TEST(HttpHead, BytesAfterTheHeadAreNotInspected) {
    std::string body("\0\x01\r\x7f\n binary", 12);
    auto r = parse("POST /function/a HTTP/1.1\r\nContent-Length: 12\r\n\r\n" + body);
    ASSERT_EQ(r.status, HeadStatus::Complete) << r.reason;
    EXPECT_EQ(r.head.length, 49u);
}

TEST(HttpHead, AcceptsHttp10AndNoFields) {
    auto r = parse("GET /function/a HTTP/1.0\r\n\r\n");
    ASSERT_EQ(r.status, HeadStatus::Complete);
    EXPECT_EQ(r.head.version, "HTTP/1.0");
    EXPECT_TRUE(r.head.fields.empty());
}

TEST(HttpHead, IncompleteUntilCrlfCrlf) {
    EXPECT_EQ(parse("GET /function/a HTTP/1.1\r\nHost: x\r\n").status, HeadStatus::Incomplete);
    EXPECT_EQ(parse("GE").status, HeadStatus::Incomplete);
    EXPECT_EQ(parse("").status, HeadStatus::Incomplete);
}

TEST(HttpHead, LimitIsInclusiveAndOneMoreByteIsTooLarge) {
    std::string start = "GET /function/a HTTP/1.1\r\nX-Pad: ";
    std::string end = "\r\n\r\n";
    std::string exact = start + std::string(8192 - start.size() - end.size(), 'p') + end;
    ASSERT_EQ(exact.size(), 8192u);
    EXPECT_EQ(parse(exact).status, HeadStatus::Complete);
    std::string over = start + std::string(8193 - start.size() - end.size(), 'p') + end;
    EXPECT_EQ(parse(over).status, HeadStatus::TooLarge);
    // No end in sight and the limit reached: too large, without waiting for more.
    EXPECT_EQ(parse(start + std::string(9000, 'p')).status, HeadStatus::TooLarge);
}

TEST(HttpHead, RefusesBadMethodsVersionsAndBytes) {
    EXPECT_EQ(parse("\x16\x03\x01\x02\x00").status, HeadStatus::NotHttp);  // a TLS hello
    EXPECT_EQ(parse("SSH-2.0-OpenSSH\r\n").status, HeadStatus::NotHttp);
    EXPECT_EQ(parse("CONNECT host:443 HTTP/1.1\r\n\r\n").status, HeadStatus::NotHttp);
    EXPECT_EQ(parse("get /function/a HTTP/1.1\r\n\r\n").status, HeadStatus::NotHttp);
    EXPECT_EQ(parse("GET /function/a HTTP/2.0\r\n\r\n").status, HeadStatus::NotHttp);
    EXPECT_EQ(parse("GET /function/a\r\n\r\n").status, HeadStatus::NotHttp);
    EXPECT_EQ(parse("GET http://x/function/a HTTP/1.1\r\n\r\n").status, HeadStatus::NotHttp);
    EXPECT_EQ(parse("GET /function/a HTTP/1.1\nHost: x\r\n\r\n").status, HeadStatus::NotHttp);
    EXPECT_EQ(parse("GET /function/a HTTP/1.1\r\nBad Name: x\r\n\r\n").status, HeadStatus::NotHttp);
    EXPECT_EQ(parse("GET /function/a HTTP/1.1\r\n folded\r\n\r\n").status, HeadStatus::NotHttp);
    EXPECT_EQ(parse(std::string("GET /function/a HTTP/1.1\r\nX: a\0b\r\n\r\n", 32)).status,
              HeadStatus::NotHttp);
}

TEST(HttpHead, BoundsTheFieldCount) {
    HeadLimits limits;
    limits.max_fields = 3;
    std::string head = "GET /function/a HTTP/1.1\r\n";
    for (int i = 0; i < 3; ++i)
        head += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(parse_head(head + "\r\n", limits).status, HeadStatus::Complete);
    EXPECT_EQ(parse_head(head + "X-3: v\r\n\r\n", limits).status, HeadStatus::TooLarge);
}

TEST(HttpHead, MatchesFunctionTargets) {
    auto m = match_target("/function/figlet");
    EXPECT_EQ(m.kind, TargetKind::Function);
    EXPECT_EQ(m.name, "figlet");
    m = match_target("/function/figlet/sub/path?x=1");
    EXPECT_EQ(m.kind, TargetKind::Function);
    EXPECT_EQ(m.name, "figlet");
    m = match_target("/function/figlet.openfaas-fn?x");
    EXPECT_EQ(m.name, "figlet.openfaas-fn");
    m = match_target("/async-function/shasum");
    EXPECT_EQ(m.kind, TargetKind::AsyncFunction);
    EXPECT_EQ(m.name, "shasum");
    EXPECT_EQ(match_target("/").kind, TargetKind::NoPrefix);
    EXPECT_EQ(match_target("/system/functions").kind, TargetKind::NoPrefix);
    EXPECT_EQ(match_target("/functions/x").kind, TargetKind::NoPrefix);
    EXPECT_EQ(match_target("/function/").kind, TargetKind::BadName);
    EXPECT_EQ(match_target("/function/a%20b").kind, TargetKind::BadName);
    EXPECT_EQ(match_target("/function/" + std::string(kMaxFunctionName, 'a')).kind,
              TargetKind::Function);
    EXPECT_EQ(match_target("/function/" + std::string(kMaxFunctionName + 1, 'a')).kind,
              TargetKind::BadName);
}

TEST(HttpHead, RewriteAddsOrAppendsForwardedFor) {
    auto r = parse("GET /function/a HTTP/1.1\r\nHost: n\r\n\r\n");
    ASSERT_EQ(r.status, HeadStatus::Complete);
    EXPECT_EQ(rewrite_head(r.head, "10.0.0.9", std::nullopt),
              "GET /function/a HTTP/1.1\r\nHost: n\r\nX-Forwarded-For: 10.0.0.9\r\n\r\n");
    r = parse("GET /function/a HTTP/1.1\r\nx-forwarded-for: 1.2.3.4\r\nHost: n\r\n\r\n");
    EXPECT_EQ(rewrite_head(r.head, "10.0.0.9", std::nullopt),
              "GET /function/a HTTP/1.1\r\nx-forwarded-for: 1.2.3.4, 10.0.0.9\r\nHost: "
              "n\r\n\r\n");
}

TEST(HttpHead, RewriteReplacesForwardedBy) {
    auto r = parse("GET /function/a HTTP/1.1\r\nX-DFaaS-Forwarded-By: forged\r\n\r\n");
    ASSERT_EQ(r.status, HeadStatus::Complete);
    EXPECT_EQ(rewrite_head(r.head, "10.0.0.9", std::string("node-a")),
              "GET /function/a HTTP/1.1\r\nX-Forwarded-For: 10.0.0.9\r\nX-DFaaS-Forwarded-By: "
              "node-a\r\n\r\n");
    EXPECT_EQ(rewrite_head(r.head, "10.0.0.9", std::nullopt),
              "GET /function/a HTTP/1.1\r\nX-Forwarded-For: 10.0.0.9\r\n\r\n");
}

}  // namespace
}  // namespace dfaas::entry
