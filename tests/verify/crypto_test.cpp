#include "hookmcp/verify/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <gtest/gtest.h>

#include "hookmcp/core/text.hpp"

#include <string>
#include <thread>
#include <vector>

namespace hookmcp::verify {
namespace {

TEST(Crypto, HmacSha256MatchesRfc4231Case2) {
  EXPECT_EQ(hex_encode(hmac(Digest::kSha256, "Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, HmacSha1AndSha512MatchTheRfcVectors) {
  EXPECT_EQ(hex_encode(hmac(Digest::kSha1, "Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");  // RFC 2202, case 2
  EXPECT_EQ(hex_encode(hmac(Digest::kSha512, "Jefe", "what do ya want for nothing?")),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

// hmac() keeps keyed contexts per thread: more keys than it keeps, each used again, from two
// threads at once, must all give what a fresh computation gives.
TEST(Crypto, HmacWithManyKeysAndThreadsMatchesAFreshComputation) {
  auto fresh = [](const EVP_MD* md, const std::string& key, const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md, key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    return std::string(reinterpret_cast<const char*>(out), len);
  };
  auto check = [&](int thread) {
    for (int round = 0; round < 2; ++round) {
      for (int k = 0; k < 40; ++k) {
        std::string key = k == 0 ? "" : "secret-" + std::to_string(k) + std::string(k * 5, 'k');
        std::string data = "payload " + std::to_string(thread * 1000 + k);
        EXPECT_EQ(hmac(Digest::kSha256, key, data), fresh(EVP_sha256(), key, data)) << k;
        EXPECT_EQ(hmac(Digest::kSha1, key, data), fresh(EVP_sha1(), key, data)) << k;
        EXPECT_EQ(hmac(Digest::kSha512, key, data), fresh(EVP_sha512(), key, data)) << k;
      }
    }
  };
  std::thread other(check, 1);
  check(0);
  other.join();
}

TEST(Crypto, Sha256OfEmpty) {
  EXPECT_EQ(hex_encode(sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

}  // namespace
}  // namespace hookmcp::verify
