#include "faas_sim/basic_auth.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace faas_sim {
namespace {

TEST(Base64, DecodesRfc4648Vectors) {
    EXPECT_EQ(decode_base64(""), "");
    EXPECT_EQ(decode_base64("Zg=="), "f");
    EXPECT_EQ(decode_base64("Zm8="), "fo");
    EXPECT_EQ(decode_base64("Zm9v"), "foo");
    EXPECT_EQ(decode_base64("Zm9vYmFy"), "foobar");
}

TEST(Base64, RejectsMalformedInput) {
    EXPECT_FALSE(decode_base64("Zm9"));
    EXPECT_FALSE(decode_base64("Zm9v!!!!"));
    EXPECT_FALSE(decode_base64("Z=9v"));
}

const BasicAuthCredentials kAdmin{"admin", "pa:ss"};

TEST(BasicAuth, AcceptsTheRightCredentials) {
    EXPECT_TRUE(authorization_matches("Basic YWRtaW46cGE6c3M=", kAdmin));  // admin:pa:ss
    EXPECT_TRUE(authorization_matches("basic YWRtaW46cGE6c3M=", kAdmin))
        << "scheme is case-insensitive";
}

TEST(BasicAuth, RejectsEverythingElse) {
    EXPECT_FALSE(authorization_matches("", kAdmin));
    EXPECT_FALSE(authorization_matches("Basic YWRtaW46cGFzcw==", kAdmin));  // admin:pass
    EXPECT_FALSE(authorization_matches("Basic cm9vdDpwYTpzcw==", kAdmin));  // root:pa:ss
    EXPECT_FALSE(authorization_matches("Basic YWRtaW4=", kAdmin));          // admin, no colon
    EXPECT_FALSE(authorization_matches("Bearer YWRtaW46cGE6c3M=", kAdmin));
    EXPECT_FALSE(authorization_matches("Basic not-base64", kAdmin));
}

TEST(BasicAuth, ReadsSecretFilesTrimmed) {
    test::TempFile file("basic-auth-password", "  s3cret \n");
    EXPECT_EQ(read_secret_file(file.path()), "s3cret");
}

TEST(BasicAuth, RejectsEmptyOrMissingSecretFiles) {
    test::TempFile empty("basic-auth-password", " \n");
    EXPECT_THROW(read_secret_file(empty.path()), std::runtime_error);
    EXPECT_THROW(read_secret_file("/nonexistent/secret"), std::runtime_error);
}

}  // namespace
}  // namespace faas_sim
