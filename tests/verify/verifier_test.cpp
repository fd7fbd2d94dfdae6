#include "hookmcp/verify/verifier.hpp"

#include <gtest/gtest.h>

#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/crypto.hpp"

namespace hookmcp::verify {
namespace {

config::Source source(const std::string& provider, std::vector<std::string> secrets) {
  config::Source s;
  s.name = provider;
  s.provider = provider;
  for (auto& v : secrets) s.secrets.push_back({v, v});
  return s;
}

Headers headers(std::initializer_list<std::pair<const char*, std::string>> fields) {
  Headers h;
  for (const auto& [k, v] : fields) h.add(k, v);
  return h;
}

// From GitHub's documentation, "Validating webhook deliveries".
constexpr const char* kGithubSecret = "It's a Secret to Everybody";
constexpr const char* kGithubBody = "Hello, World!";
constexpr const char* kGithubSignature =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

TEST(Github, AcceptsThePublishedVector) {
  auto v = make_verifier(source("github", {kGithubSecret}));
  auto verdict = v->verify(headers({{"X-Hub-Signature-256", kGithubSignature}}), kGithubBody, 0);
  EXPECT_TRUE(verdict.accepted) << verdict.reason;
  EXPECT_TRUE(verdict.verified);
}

TEST(Github, RejectsForgeries) {
  auto v = make_verifier(source("github", {kGithubSecret}));
  struct Case {
    const char* name;
    Headers h;
    std::string body;
  };
  std::string good = kGithubSignature;
  std::string flipped = good;
  flipped.back() = flipped.back() == '7' ? '8' : '7';
  const Case cases[] = {
      {"tampered body", headers({{"X-Hub-Signature-256", good}}), "Hello, World?"},
      {"wrong signature", headers({{"X-Hub-Signature-256", flipped}}), kGithubBody},
      {"missing header", headers({}), kGithubBody},
      {"no prefix", headers({{"X-Hub-Signature-256", good.substr(7)}}), kGithubBody},
      {"bad hex", headers({{"X-Hub-Signature-256", "sha256=zz"}}), kGithubBody},
      {"truncated", headers({{"X-Hub-Signature-256", good.substr(0, 20)}}), kGithubBody},
      {"huge", headers({{"X-Hub-Signature-256", "sha256=" + std::string(100000, 'a')}}),
       kGithubBody},
  };
  for (const auto& c : cases) {
    auto verdict = v->verify(c.h, c.body, 0);
    EXPECT_FALSE(verdict.accepted) << c.name;
    EXPECT_FALSE(verdict.reason.empty()) << c.name;
  }
}

TEST(Github, WrongSecretRejectedRotatedSecretAccepted) {
  auto wrong = make_verifier(source("github", {"not it"}));
  EXPECT_FALSE(
      wrong->verify(headers({{"X-Hub-Signature-256", kGithubSignature}}), kGithubBody, 0).accepted);
  auto rotated = make_verifier(source("github", {"new secret", kGithubSecret}));
  EXPECT_TRUE(rotated->verify(headers({{"X-Hub-Signature-256", kGithubSignature}}), kGithubBody, 0)
                  .accepted);
}

TEST(Github, LegacySha1WhenNoSha256) {
  auto v = make_verifier(source("github", {kGithubSecret}));
  std::string sig = "sha1=" + hex_encode(hmac(Digest::kSha1, kGithubSecret, kGithubBody));
  EXPECT_TRUE(v->verify(headers({{"X-Hub-Signature", sig}}), kGithubBody, 0).accepted);
}

TEST(Github, NormalizesEventActionDelivery) {
  auto v = make_verifier(source("github", {kGithubSecret}));
  auto n = v->normalize(headers({{"X-GitHub-Event", "pull_request"},
                                 {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"}}),
                        R"({"action": "opened", "number": 1})");
  EXPECT_EQ(n.type, "pull_request");
  EXPECT_EQ(n.action, "opened");
  EXPECT_EQ(n.delivery_id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  EXPECT_FALSE(n.handshake_response);
}

TEST(Hmac, ConfigurableHeaderPrefixEncodingAndTimestamp) {
  auto s = source("hmac", {"k"});
  s.header = "X-Signature";
  s.prefix = "v1=";
  s.algorithm = "sha512";
  s.encoding = "base64";
  s.timestamp_header = "X-Timestamp";
  s.tolerance_s = 300;
  auto v = make_verifier(s);
  const std::string body = R"({"type":"build.done"})";
  std::string sig = "v1=" + base64_encode(hmac(Digest::kSha512, "k", "1000." + body));
  auto h = headers({{"X-Signature", sig}, {"X-Timestamp", "1000"}});
  EXPECT_TRUE(v->verify(h, body, 1000).accepted);
  EXPECT_TRUE(v->verify(h, body, 1300).accepted);
  EXPECT_FALSE(v->verify(h, body, 1301).accepted) << "too old";
  EXPECT_FALSE(v->verify(h, body, 699).accepted) << "from the future";
  EXPECT_FALSE(v->verify(headers({{"X-Signature", sig}}), body, 1000).accepted) << "no timestamp";
  EXPECT_FALSE(
      v->verify(headers({{"X-Signature", sig}, {"X-Timestamp", "1e3"}}), body, 1000).accepted);
}

TEST(Hmac, PlainBodyHex) {
  auto s = source("hmac", {"k"});
  s.header = "X-Sig";
  auto v = make_verifier(s);
  EXPECT_TRUE(
      v->verify(headers({{"X-Sig", hex_encode(hmac(Digest::kSha256, "k", "body"))}}), "body", 0)
          .accepted);
  EXPECT_FALSE(
      v->verify(headers({{"X-Sig", hex_encode(hmac(Digest::kSha256, "k", "body!"))}}), "body", 0)
          .accepted);
}

TEST(Generic, TypeFromHeaderThenPayloadDeliveryFromHeader) {
  auto v = make_verifier(source("none", {}));
  auto n = v->normalize(headers({{"X-Event-Type", "deploy"}, {"X-Delivery-Id", "d-1"}}),
                        R"({"type": "ignored", "action": "start"})");
  EXPECT_EQ(n.type, "deploy");
  EXPECT_EQ(n.action, "start");
  EXPECT_EQ(n.delivery_id, "d-1");
  n = v->normalize(headers({}), R"({"type": "from.payload"})");
  EXPECT_EQ(n.type, "from.payload");
  EXPECT_EQ(n.delivery_id, "");
  n = v->normalize(headers({}), "not json at all");
  EXPECT_EQ(n.type, "");
}

TEST(Generic, TypePointerAndHeaderAreConfigurable) {
  auto s = source("none", {});
  s.type_header = "X-Kind";
  s.type_pointer = "/meta/kind";
  s.delivery_header = "X-Id";
  auto v = make_verifier(s);
  auto n = v->normalize(headers({{"X-Id", "7"}}), R"({"meta": {"kind": "alert"}})");
  EXPECT_EQ(n.type, "alert");
  EXPECT_EQ(n.delivery_id, "7");
}

TEST(DeliveryId, Sha256OfBody) {
  EXPECT_EQ(body_delivery_id(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace hookmcp::verify
