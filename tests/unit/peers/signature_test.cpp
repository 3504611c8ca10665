#include "dfaas/peers/signature.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "dfaas/peers/reject.h"
#include "support.h"

namespace dfaas::peers {
namespace {

using namespace testing;

const std::string kBody = R"({"hello":1})";
constexpr int64_t kTs = 1700000000000;

TEST(Signature, SigningStringIsMethodPathTimestampBody) {
    EXPECT_EQ(signing_string("POST", "/v1/peer/message", kTs, kBody),
              "POST\n/v1/peer/message\n1700000000000\n{\"hello\":1}");
}

TEST(Signature, MatchesAnIndependentHmacSha256) {
    // printf 'POST\n/v1/peer/message\n1700000000000\n{"hello":1}' |
    //   openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
    EXPECT_EQ(sign(ClusterKey(kKeyText), "POST", "/v1/peer/message", kTs, kBody),
              "470ba262607a2dd4291679dec90dcf65adae015759177cfc918128327f217a9a");
}

TEST(Signature, TheExampleOfTheDocsIsRight) {
    // docs/peer-protocol.md signs tests/fixtures/peers/corpus/valid-heartbeat.json (one line).
    std::ifstream in(DFAAS_PEERS_FIXTURES_DIR "/corpus/valid-heartbeat.json", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::string body = text.str();
    while (!body.empty() && body.back() == '\n')
        body.pop_back();
    EXPECT_EQ(body.size(), 397u);
    EXPECT_EQ(sign(ClusterKey(kKeyText), "POST", "/v1/peer/message", 1718000000123, body),
              "5862d735805112ca1145fce1644c4f40228d1774c14f9c7b595096e5e8b64e5d");
}

TEST(Signature, VerifiesOnlyTheExactRequestUnderTheKey) {
    const Keyring keys = keyring();
    const std::string good = sign(keys.signing, "POST", "/v1/peer/message", kTs, kBody);
    EXPECT_TRUE(verify(keys, "POST", "/v1/peer/message", kTs, kBody, good));

    std::string upper = good;
    for (char &c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_TRUE(verify(keys, "POST", "/v1/peer/message", kTs, kBody, upper));

    EXPECT_FALSE(verify(keyring(kOtherKeyText), "POST", "/v1/peer/message", kTs, kBody, good));
    EXPECT_FALSE(verify(keys, "PUT", "/v1/peer/message", kTs, kBody, good));
    EXPECT_FALSE(verify(keys, "POST", "/v1/peer/messages", kTs, kBody, good));
    EXPECT_FALSE(verify(keys, "POST", "/v1/peer/message", kTs + 1, kBody, good));
    EXPECT_FALSE(verify(keys, "POST", "/v1/peer/message", kTs, R"({"hello":2})", good));
    EXPECT_FALSE(verify(keys, "POST", "/v1/peer/message", kTs, kBody + " ", good));

    std::string flipped = good;
    flipped[10] = flipped[10] == '0' ? '1' : '0';
    EXPECT_FALSE(verify(keys, "POST", "/v1/peer/message", kTs, kBody, flipped));
    EXPECT_FALSE(verify(keys, "POST", "/v1/peer/message", kTs, kBody, good.substr(0, 63)));
    EXPECT_FALSE(verify(keys, "POST", "/v1/peer/message", kTs, kBody, good + "0"));
    EXPECT_FALSE(verify(keys, "POST", "/v1/peer/message", kTs, kBody, std::string(64, 'g')));
    EXPECT_FALSE(verify(keys, "POST", "/v1/peer/message", kTs, kBody, ""));
}

TEST(Signature, KeyRotationAcceptsTheOldAndTheNewKey) {
    const ClusterKey old_key(kKeyText);
    const ClusterKey new_key(kOtherKeyText);
    const Keyring rotating{new_key, {old_key}};
    const std::string by_old = sign(old_key, "POST", "/p", kTs, kBody);
    const std::string by_new = sign(new_key, "POST", "/p", kTs, kBody);
    EXPECT_TRUE(verify(rotating, "POST", "/p", kTs, kBody, by_old));
    EXPECT_TRUE(verify(rotating, "POST", "/p", kTs, kBody, by_new));
    EXPECT_FALSE(verify(Keyring{new_key, {}}, "POST", "/p", kTs, kBody, by_old));
}

TEST(Signature, ShortKeysAreRefusedWithoutEchoingThem) {
    try {
        ClusterKey key("short-secret");
        FAIL() << "a 12-byte key was accepted";
    } catch (const Error &error) {
        const std::string what = error.what();
        EXPECT_NE(what.find("12 bytes, at least 16"), std::string::npos) << what;
        EXPECT_EQ(what.find("short-secret"), std::string::npos) << what;
    }
    EXPECT_NO_THROW(ClusterKey(std::string(16, 'k')));
}

TEST(Signature, KeysCopyAndMove) {
    ClusterKey key(kKeyText);
    ClusterKey copy = key;
    ClusterKey moved = std::move(key);
    EXPECT_EQ(copy.bytes(), kKeyText);
    EXPECT_EQ(moved.bytes(), kKeyText);
    copy = ClusterKey(kOtherKeyText);
    EXPECT_EQ(copy.bytes(), kOtherKeyText);
}

}  // namespace
}  // namespace dfaas::peers
