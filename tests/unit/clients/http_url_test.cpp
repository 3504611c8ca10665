#include <gtest/gtest.h>

#include "dfaas/clients/http_url.h"

using dfaas::HttpUrl;

TEST(HttpUrl, ParsesHostPortAndPath) {
    auto url = HttpUrl::parse("http://gateway.openfaas:8080/prefix/");
    ASSERT_TRUE(url) << url.error();
    EXPECT_EQ(url->scheme, "http");
    EXPECT_EQ(url->host, "gateway.openfaas");
    EXPECT_EQ(url->port, 8080);
    EXPECT_EQ(url->path, "/prefix");
    EXPECT_EQ(url->str(), "http://gateway.openfaas:8080/prefix");
    EXPECT_EQ(url->join("/system/functions"), "/prefix/system/functions");
}

TEST(HttpUrl, DefaultsPortFromScheme) {
    EXPECT_EQ(HttpUrl::parse("http://prometheus")->port, 80);
    EXPECT_EQ(HttpUrl::parse("HTTPS://prometheus")->port, 443);
    EXPECT_EQ(HttpUrl::parse("https://prometheus")->scheme, "https");
}

TEST(HttpUrl, BracketsIpv6Hosts) {
    auto url = HttpUrl::parse("http://[::1]:9090");
    ASSERT_TRUE(url) << url.error();
    EXPECT_EQ(url->host, "::1");
    EXPECT_EQ(url->origin(), "http://[::1]:9090");
}

TEST(HttpUrl, StrRoundTrips) {
    for (const char *text : {"http://127.0.0.1:8080", "https://h:1/a/b", "http://[fe80::1]:80"}) {
        auto url = HttpUrl::parse(text);
        ASSERT_TRUE(url) << text;
        EXPECT_EQ(*HttpUrl::parse(url->str()), *url) << text;
    }
}

TEST(HttpUrl, RejectsWithReason) {
    struct Case {
        const char *text;
        const char *reason;
    };
    for (Case c :
         {Case{"127.0.0.1:8080", "is not a URL"},
          Case{"ftp://host", "scheme \"ftp\" is not supported"}, Case{"http://", "missing host"},
          Case{"http://:8080", "missing host"},
          Case{"http://admin:secret@gateway:8080", "credentials in the URL"},
          Case{"http://host:0", "not a number in 1..65535"},
          Case{"http://host:65536", "not a number in 1..65535"},
          Case{"http://host:80x", "not a number in 1..65535"}, Case{"http://host:", "empty port"},
          Case{"http://bad host", "not allowed in a host name"},
          Case{"http://host/path?x=1", "query string"}, Case{"http://[::1", "unterminated"}}) {
        auto url = HttpUrl::parse(c.text);
        ASSERT_FALSE(url) << c.text;
        EXPECT_NE(url.error().find(c.reason), std::string::npos) << c.text << " -> " << url.error();
    }
}
