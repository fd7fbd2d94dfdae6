#include <openssl/evp.h>

#include <gtest/gtest.h>

#include <map>

#include "auth/signer.hpp"
#include "hookmcp/auth/jwt.hpp"
#include "hookmcp/auth/resource_server.hpp"

namespace hookmcp::auth {
namespace {

using nlohmann::json;
using testing::Signer;

constexpr int64_t kNow = 1'800'000'000'000;  // ms
constexpr const char* kIssuer = "https://auth.example.com/realms/team";
constexpr const char* kAudience = "https://hooks.example.com/mcp";

// Generated once: RSA key generation takes a while.
const Signer& rsa_key() {
  static const Signer key = Signer::rsa("rsa-1");
  return key;
}
const Signer& ec_key() {
  static const Signer key = Signer::ec("ec-1");
  return key;
}

json claims(json extra = json::object()) {
  json c = {{"iss", kIssuer},     {"aud", kAudience},
            {"sub", "user-42"},   {"exp", kNow / 1000 + 300},
            {"iat", kNow / 1000}, {"scope", "events:read events:write"}};
  for (auto& [k, v] : extra.items()) c[k] = v;
  return c;
}

TEST(Jws, RefusesWhatIsNotASupportedSignedToken) {
  for (std::string_view token : {"", "a.b", "a.b.c.d", "abc", "..", "e30.e30.", "!!.e30.c2ln"}) {
    EXPECT_FALSE(parse_jws(token)) << token;
  }
  auto with_header = [](const json& header) {
    return base64url_encode(header.dump()) + "." + base64url_encode(claims().dump()) + ".c2ln";
  };
  for (const json& header :
       {json{{"alg", "none"}}, json{{"alg", "HS256"}}, json{{"alg", "HS512"}},
        json{{"alg", "RS512"}}, json{{"typ", "JWT"}}, json{{"alg", 1}},
        json{{"alg", "RS256"}, {"crit", {"exp"}}}, json{{"alg", "RS256"}, {"kid", 7}}}) {
    auto jws = parse_jws(with_header(header));
    EXPECT_FALSE(jws) << header.dump();
  }
  // alg "none" with an empty signature, the classic forgery.
  std::string none =
      base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(claims().dump()) + ".";
  EXPECT_FALSE(parse_jws(none));
  EXPECT_FALSE(parse_jws(std::string(17000, 'a')));
}

TEST(Jws, VerifiesEachAlgorithmAndNothingTampered) {
  auto rsa = PublicKey::from_jwk(rsa_key().jwk());
  auto ec = PublicKey::from_jwk(ec_key().jwk());
  ASSERT_TRUE(rsa) << rsa.error().message;
  ASSERT_TRUE(ec) << ec.error().message;
  for (const auto& [alg, key, signer] :
       {std::tuple{"RS256", &*rsa, &rsa_key()}, std::tuple{"PS256", &*rsa, &rsa_key()},
        std::tuple{"ES256", &*ec, &ec_key()}}) {
    std::string token = signer->sign(alg, claims());
    auto jws = parse_jws(token);
    ASSERT_TRUE(jws) << jws.error().message;
    EXPECT_EQ(jws->alg, alg);
    EXPECT_TRUE(key->verify(alg, jws->signing_input, jws->signature)) << alg;
    // One claim changed after signing.
    std::string forged = jws->signing_input.substr(0, jws->signing_input.find('.') + 1) +
                         base64url_encode(claims({{"sub", "admin"}}).dump());
    EXPECT_FALSE(key->verify(alg, forged, jws->signature)) << alg;
    // One bit of the signature flipped.
    std::string sig = jws->signature;
    sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 1);
    EXPECT_FALSE(key->verify(alg, jws->signing_input, sig)) << alg;
  }
  // A key of the other type never verifies, whatever the token's header says.
  std::string token = rsa_key().sign("RS256", claims());
  auto jws = parse_jws(token);
  EXPECT_FALSE(ec->verify("RS256", jws->signing_input, jws->signature));
  EXPECT_FALSE(rsa->verify("ES256", jws->signing_input, jws->signature));
}

TEST(Jws, APublicKeyIsNeverAnHmacSecret) {
  // The attacker signs with HS256 using the server's public key (as published) as the secret.
  std::string public_key = rsa_key().jwk().dump();
  std::string input = base64url_encode(R"({"alg":"HS256","kid":"rsa-1"})") + "." +
                      base64url_encode(claims({{"sub", "admin"}}).dump());
  unsigned char mac[64];
  size_t size = 0;
  ASSERT_TRUE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, public_key.data(),
                        public_key.size(), reinterpret_cast<const unsigned char*>(input.data()),
                        input.size(), mac, sizeof mac, &size));
  std::string token =
      input + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), size));
  auto jws = parse_jws(token);
  ASSERT_FALSE(jws);
  EXPECT_NE(jws.error().message.find("HS256"), std::string::npos);
}

TEST(KeySet, KeepsUsableKeysAndSaysWhyOthersAreLeftOut) {
  json weak = Signer::rsa("weak", 1024).jwk();
  json p384 = ec_key().jwk();
  p384["kid"] = "p384";
  p384["crv"] = "P-384";
  json enc = rsa_key().jwk();
  enc["kid"] = "enc";
  enc["use"] = "enc";
  json oct = {{"kid", "oct"}, {"kty", "oct"}, {"k", "c2VjcmV0"}};
  json off_curve = ec_key().jwk();
  off_curve["kid"] = "off";
  off_curve["y"] = base64url_encode(std::string(32, '\x01'));
  json jwks = {{"keys", {rsa_key().jwk(), ec_key().jwk(), weak, p384, enc, oct, off_curve, 7}}};
  auto set = KeySet::from_jwks(jwks);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->keys.size(), 2u);
  EXPECT_EQ(set->skipped.size(), 6u);
  EXPECT_EQ(set->candidates("rsa-1", "RS256").size(), 1u);
  EXPECT_EQ(set->candidates("rsa-1", "ES256").size(), 0u);
  EXPECT_EQ(set->candidates("", "ES256").size(), 1u);
  EXPECT_EQ(set->candidates("nope", "RS256").size(), 0u);
  EXPECT_FALSE(KeySet::from_jwks(json::object()));
}

// An issuer served from a map of URL -> document, counting what is fetched.
struct FakeIssuer {
  std::map<std::string, std::string> documents;
  std::map<std::string, int> fetched;
  bool down = false;

  FakeIssuer() {
    documents["https://auth.example.com/.well-known/oauth-authorization-server/realms/team"] =
        json{{"issuer", kIssuer}, {"jwks_uri", "https://auth.example.com/keys"}}.dump();
    publish({rsa_key().jwk(), ec_key().jwk()});
  }
  void publish(const std::vector<json>& keys) {
    documents["https://auth.example.com/keys"] = json{{"keys", keys}}.dump();
  }
  Fetch fetch() {
    return [this](const std::string& url) -> Result<std::string> {
      ++fetched[url];
      if (down) return make_error(ErrorCode::kIo, url + ": connection refused");
      auto it = documents.find(url);
      if (it == documents.end()) return make_error(ErrorCode::kIo, url + " answered 404");
      return it->second;
    };
  }
  int jwks_fetches() { return fetched["https://auth.example.com/keys"]; }
};

OAuthOptions options() {
  OAuthOptions o;
  o.issuer = kIssuer;
  o.audience = kAudience;
  o.resource = kAudience;
  return o;
}

std::string refusal(std::variant<Grant, Refusal> verdict) {
  if (auto* r = std::get_if<Refusal>(&verdict))
    return std::to_string(r->status) + " " + r->description;
  return "granted to " + std::get<Grant>(verdict).principal;
}

TEST(ResourceServer, GrantsAValidTokenItsSubjectAndScopes) {
  FakeIssuer issuer;
  FakeClock clock(kNow);
  ResourceServer server(options(), issuer.fetch(), clock);
  for (const char* alg : {"RS256", "PS256"}) {
    auto verdict = server.authenticate(rsa_key().sign(alg, claims()));
    ASSERT_TRUE(std::holds_alternative<Grant>(verdict)) << refusal(verdict);
    EXPECT_EQ(std::get<Grant>(verdict).principal, "user-42");
    EXPECT_TRUE(std::get<Grant>(verdict).has(kWriteScope));
  }
  auto verdict = server.authenticate(ec_key().sign(
      "ES256",
      claims({{"aud", {"other", kAudience}}, {"scope", nullptr}, {"scp", {"events:read"}}})));
  ASSERT_TRUE(std::holds_alternative<Grant>(verdict)) << refusal(verdict);
  EXPECT_TRUE(std::get<Grant>(verdict).has(kReadScope));
  EXPECT_FALSE(std::get<Grant>(verdict).has(kWriteScope));
  EXPECT_EQ(issuer.jwks_fetches(), 1);  // fetched once, then kept
}

TEST(ResourceServer, RefusesEachWrongClaim) {
  FakeIssuer issuer;
  FakeClock clock(kNow);
  ResourceServer server(options(), issuer.fetch(), clock);
  int64_t now = kNow / 1000;
  std::vector<std::pair<json, std::string>> cases = {
      {{{"iss", "https://evil.example.com"}}, "another issuer"},
      {{{"aud", "https://other.example.com/mcp"}}, "another audience"},
      {{{"aud", json::array()}}, "another audience"},
      {{{"exp", now - 61}}, "expired"},
      {{{"exp", nullptr}}, "no expiry"},
      {{{"exp", "tomorrow"}}, "no expiry"},
      {{{"nbf", now + 120}}, "not valid yet"},
      {{{"iat", now + 3600}}, "in the future"},
      {{{"sub", ""}}, "no subject"},
      {{{"sub", 42}}, "no subject"},
  };
  for (const auto& [extra, expected] : cases) {
    json c = claims(extra);
    if (c["exp"].is_null()) c.erase("exp");
    std::string why = refusal(server.authenticate(rsa_key().sign("RS256", c)));
    EXPECT_EQ(why.substr(0, 4), "401 ") << extra.dump();
    EXPECT_NE(why.find(expected), std::string::npos) << extra.dump() << ": " << why;
  }
  // Within the leeway, an expired token or one not yet valid still passes.
  EXPECT_EQ(refusal(server.authenticate(rsa_key().sign("RS256", claims({{"exp", now - 30}})))),
            "granted to user-42");
  EXPECT_EQ(refusal(server.authenticate(rsa_key().sign("RS256", claims({{"nbf", now + 30}})))),
            "granted to user-42");
  // Signed by a key the issuer never published, under a kid it did publish.
  Signer stranger = Signer::rsa("rsa-1");
  EXPECT_NE(refusal(server.authenticate(stranger.sign("RS256", claims()))).find("does not verify"),
            std::string::npos);
}

TEST(ResourceServer, FetchesAgainForANewKeyAtMostOnceAMinute) {
  FakeIssuer issuer;
  FakeClock clock(kNow);
  ResourceServer server(options(), issuer.fetch(), clock);
  ASSERT_TRUE(server.refresh_keys());
  EXPECT_EQ(issuer.jwks_fetches(), 1);
  // The issuer rotates to a key not seen yet: the first token under it prompts one fetch, at
  // once.
  Signer next = Signer::ec("ec-2");
  issuer.publish({ec_key().jwk(), next.jwk()});
  clock.set_ms(kNow + 1'000);
  EXPECT_TRUE(server.may_block(next.sign("ES256", claims())));
  EXPECT_EQ(refusal(server.authenticate(next.sign("ES256", claims()))), "granted to user-42");
  EXPECT_EQ(issuer.jwks_fetches(), 2);
  EXPECT_FALSE(server.may_block(next.sign("ES256", claims())));
  // rsa-1 is gone from the set: refused, and a flood of unknown kids fetches nothing more.
  for (int i = 0; i < 50; ++i) {
    std::string why =
        refusal(server.authenticate(rsa_key().sign("RS256", claims(), "k" + std::to_string(i))));
    EXPECT_NE(why.find("does not publish"), std::string::npos) << why;
  }
  EXPECT_EQ(issuer.jwks_fetches(), 2);  // the last such fetch was under a minute ago
  clock.set_ms(kNow + 62'000);
  (void)server.authenticate(rsa_key().sign("RS256", claims(), "k-late"));
  EXPECT_EQ(issuer.jwks_fetches(), 3);
}

TEST(ResourceServer, WithoutTheIssuerKeepsItsKeysOrAnswers503) {
  FakeIssuer issuer;
  FakeClock clock(kNow);
  issuer.down = true;
  ResourceServer server(options(), issuer.fetch(), clock);
  auto first = server.refresh_keys();
  ASSERT_FALSE(first);
  EXPECT_NE(first.error().message.find("connection refused"), std::string::npos);
  EXPECT_EQ(refusal(server.authenticate(rsa_key().sign("RS256", claims()))).substr(0, 3), "503");
  issuer.down = false;
  clock.set_ms(kNow + 11'000);  // past the retry interval
  EXPECT_EQ(
      refusal(server.authenticate(rsa_key().sign("RS256", claims({{"exp", kNow / 1000 + 9000}})))),
      "granted to user-42");
  // Past the cache's lifetime with the issuer down: the keys held keep working.
  issuer.down = true;
  clock.set_ms(kNow + 4000'000);
  EXPECT_EQ(
      refusal(server.authenticate(rsa_key().sign("RS256", claims({{"exp", kNow / 1000 + 9000}})))),
      "granted to user-42");
}

TEST(ResourceServer, TrustsOnlyMetadataThatNamesItsIssuer) {
  FakeIssuer issuer;
  issuer.documents["https://auth.example.com/.well-known/oauth-authorization-server/realms/team"] =
      json{{"issuer", "https://evil.example.com"}, {"jwks_uri", "https://evil.example.com/keys"}}
          .dump();
  FakeClock clock(kNow);
  ResourceServer server(options(), issuer.fetch(), clock);
  auto s = server.refresh_keys();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("another issuer"), std::string::npos);
  EXPECT_EQ(issuer.jwks_fetches(), 0);
}

TEST(ResourceServer, FindsOpenIdConfigurationWhenThereIsNoOAuthMetadata) {
  FakeIssuer issuer;
  std::string doc = issuer.documents.begin()->second;
  issuer.documents.erase(issuer.documents.begin());
  issuer.documents["https://auth.example.com/realms/team/.well-known/openid-configuration"] = doc;
  FakeClock clock(kNow);
  ResourceServer server(options(), issuer.fetch(), clock);
  ASSERT_TRUE(server.refresh_keys());
  EXPECT_EQ(issuer.jwks_fetches(), 1);
}

TEST(ResourceServer, PublishesItsMetadataAndChallenges) {
  FakeIssuer issuer;
  FakeClock clock(kNow);
  ResourceServer server(options(), issuer.fetch(), clock);
  json m = server.metadata();
  EXPECT_EQ(m["resource"], kAudience);
  EXPECT_EQ(m["authorization_servers"], json::array({kIssuer}));
  EXPECT_EQ(m["scopes_supported"], json::array({"events:read", "events:write"}));
  EXPECT_EQ(m["bearer_methods_supported"], json::array({"header"}));
  EXPECT_EQ(server.metadata_url(),
            "https://hooks.example.com/.well-known/oauth-protected-resource/mcp");
  EXPECT_EQ(server.metadata_path(), "/.well-known/oauth-protected-resource/mcp");
  EXPECT_EQ(server.challenge("", "", {"events:read", "events:write"}),
            "Bearer resource_metadata=\"https://hooks.example.com/.well-known/"
            "oauth-protected-resource/mcp\", scope=\"events:read events:write\"");
  EXPECT_EQ(server.challenge("invalid_token", "token \"x\" expired\\", {}),
            "Bearer resource_metadata=\"https://hooks.example.com/.well-known/"
            "oauth-protected-resource/mcp\", error=\"invalid_token\", "
            "error_description=\"token 'x' expired/\"");
}

}  // namespace
}  // namespace hookmcp::auth
