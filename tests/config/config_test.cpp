#include "hookmcp/config/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace hookmcp::config {
namespace {

using nlohmann::json;

Getenv fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<Config> from_json(const std::string& text, std::map<std::string, std::string> env = {}) {
  Config c;
  Status s = apply_json(json::parse(text), fake_env(env), c);
  if (!s) return s.error();
  return c;
}

TEST(Config, DefaultsWithNothingGiven) {
  auto c = load({}, fake_env({{"HOME", "/home/u"}}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->listen.to_string(), "127.0.0.1:8787");
  EXPECT_EQ(c->database, "/home/u/.local/share/hookmcp/events.db");
  EXPECT_EQ(c->durability, Durability::kFull);
  EXPECT_EQ(c->max_body_bytes, 26214400u);
  EXPECT_TRUE(c->sources.empty());
}

TEST(Config, XdgDataHomeWins) {
  auto c = load({}, fake_env({{"HOME", "/home/u"}, {"XDG_DATA_HOME", "/data"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->database, "/data/hookmcp/events.db");
}

TEST(Config, FlagsBeatEnvironmentBeatFile) {
  std::string path = ::testing::TempDir() + "/hookmcp-config-test.json";
  std::ofstream(path) << R"({"listen": "127.0.0.1:1000", "database": "/file.db"})";
  auto env = fake_env({{"HOOKMCP_CONFIG", path}, {"HOOKMCP_LISTEN", "127.0.0.1:2000"}});
  auto c = load({}, env);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->listen.port, 2000);
  EXPECT_EQ(c->database, "/file.db");

  Overrides o;
  o.listen = "127.0.0.1:3000";
  o.database = "/flag.db";
  c = load(o, env);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->listen.port, 3000);
  EXPECT_EQ(c->database, "/flag.db");
}

TEST(Config, ErrorsNameTheField) {
  struct Case {
    const char* doc;
    const char* field;
  };
  const Case cases[] = {
      {R"({"lisen": "x"})", "lisen: unknown field"},
      {R"({"listen": "nope"})", "listen: expected HOST:PORT"},
      {R"({"listen": "127.0.0.1:70000"})", "listen: port must be"},
      {R"({"durability": "sometimes"})", "durability: expected"},
      {R"({"max_body_bytes": "big"})", "max_body_bytes: expected an integer"},
      {R"({"retention": {"max_age_days": -1}})", "retention.max_age_days: must be"},
      {R"({"sources": {"gh": {"provider": "gihub", "secrets": ["s"]}}})",
       "sources.gh.provider: unknown provider"},
      {R"({"sources": {"gh": {"provider": "github"}}})",
       "sources.gh.secrets: provider \"github\" needs"},
      {R"({"sources": {"gh": {"provider": "github", "secret": ["s"]}}})",
       "sources.gh.secret: unknown field"},
      {R"({"sources": {"gh": {"provider": "github", "secrets": ["env:NOPE"]}}})",
       "sources.gh.secrets[0]: environment variable NOPE is not set"},
      {R"({"sources": {"ci": {"provider": "hmac", "secrets": ["s"]}}})",
       "sources.ci.header: provider \"hmac\" needs"},
      {R"({"sources": {"ci": {"provider": "hmac", "secrets": ["s"], "header": "X", "algorithm": "md5"}}})",
       "sources.ci.algorithm"},
      {R"({"sources": {"bad name": {"provider": "none"}}})", "sources.bad name: a source name"},
      {R"({"sources": {"..": {"provider": "none"}}})", "sources...: a source name"},
      {R"({"sources": {".": {"provider": "none"}}})", "sources..: a source name"},
      {R"({"sources": {"b": {"provider": "standard", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64"]}}})",
       "sources.b.secrets[1]: a Standard Webhooks secret"},
      {R"({"sources": {"b": {"provider": "standard", "secrets": ["whsec_"]}}})",
       "sources.b.secrets[0]: a Standard Webhooks secret"},
      {R"({"tls": {"cert_file": "c.pem"}})", "tls.key_file: is required"},
      {R"({"http": {"header_timeout_s": 0}})", "http.header_timeout_s: must be"},
      {R"({"http": {"body_timeout": 5}})", "http.body_timeout: unknown field"},
      {R"({"mcp": {"tokens": [{"principal": "a"}]}})", "mcp.tokens[0].token: is required"},
      {R"({"mcp": {"tokens": [{"token": "t", "name": "a"}]}})",
       "mcp.tokens[0].name: unknown field"},
      {R"({"mcp": {"tokens": [{"token": "t", "principal": ""}]}})",
       "mcp.tokens[0].principal: must be"},
      {R"({"mcp": {"tokens": [{"token": "t", "principal": "a"}, {"token": "u", "principal": "a"}]}})",
       "mcp.tokens[1].principal: \"a\" names another token too"},
      {R"({"mcp": {"tokens": [7]}})", "mcp.tokens[0]: expected a string"},
      {R"({"events": {"allow_private_callbacks": "yes"}})", "events.allow_private_callbacks"},
      {R"({"events": {"max_subscriptions_per_principal": 0}})",
       "events.max_subscriptions_per_principal: must be"},
      {R"({"events": {"callbacks": 1}})", "events.callbacks: unknown field"},
  };
  for (const auto& c : cases) {
    auto r = from_json(c.doc);
    ASSERT_FALSE(r) << c.doc;
    EXPECT_EQ(r.error().message.rfind(c.field, 0), 0u) << c.doc << " -> " << r.error().message;
  }
}

TEST(Config, TokensNameTheirPrincipals) {
  auto c = from_json(R"({"mcp": {"tokens": ["plain", {"token": "env:AGENT", "principal": "agent"},
                                           "another"]},
                         "events": {"allow_private_callbacks": true,
                                    "max_subscriptions_per_principal": 500}})",
                     {{"AGENT", "agent-secret"}});
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->mcp_tokens.size(), 3u);
  EXPECT_EQ(c->mcp_tokens[1].value, "agent-secret");
  EXPECT_EQ(c->mcp_token_principals, (std::vector<std::string>{"token-1", "agent", "token-3"}));
  EXPECT_TRUE(c->events_allow_private_callbacks);
  EXPECT_EQ(c->events_max_subscriptions_per_principal, 500);
  json shown = c->to_redacted_json();
  EXPECT_EQ(shown["mcp"]["tokens"][1]["principal"], "agent");
  EXPECT_EQ(shown["mcp"]["tokens"][1]["token"], "env:AGENT");
  EXPECT_EQ(shown.dump().find("agent-secret"), std::string::npos);
}

TEST(Config, HttpTimeouts) {
  auto c = from_json(R"({"http": {"header_timeout_s": 5, "body_timeout_s": 7}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->http_header_timeout_s, 5);
  EXPECT_EQ(c->http_body_timeout_s, 7);
  EXPECT_EQ(c->to_redacted_json()["http"]["body_timeout_s"], 7);
}

TEST(Config, ResolvesEnvSecretsAndRedactsThem) {
  auto c = from_json(R"({"sources": {
      "gh": {"provider": "github", "secrets": ["env:GH_SECRET", "literal-old"]}},
      "mcp": {"tokens": ["tok-literal"]}})",
                     {{"GH_SECRET", "from-env"}});
  ASSERT_TRUE(c) << c.error().message;
  const Source& gh = c->sources.at("gh");
  ASSERT_EQ(gh.secrets.size(), 2u);
  EXPECT_EQ(gh.secrets[0].value, "from-env");
  EXPECT_EQ(gh.secrets[1].value, "literal-old");
  std::string shown = c->to_redacted_json().dump();
  EXPECT_EQ(shown.find("from-env"), std::string::npos);
  EXPECT_EQ(shown.find("literal-old"), std::string::npos);
  EXPECT_EQ(shown.find("tok-literal"), std::string::npos);
  EXPECT_NE(shown.find("env:GH_SECRET"), std::string::npos);
}

TEST(Config, PublicListenerNeedsSecretsAndTokens) {
  Config c;
  c.listen = {"0.0.0.0", 8787};
  EXPECT_FALSE(check_exposure(c));
  c.allow_unsigned = true;
  EXPECT_TRUE(check_exposure(c));

  auto signed_cfg = from_json(R"({"listen": "0.0.0.0:8787",
      "sources": {"gh": {"provider": "github", "secrets": ["s"]}}})");
  ASSERT_TRUE(signed_cfg);
  auto st = check_exposure(*signed_cfg);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message.rfind("mcp.tokens", 0), 0u);
  signed_cfg->mcp_tokens.push_back({"t", "t"});
  EXPECT_TRUE(check_exposure(*signed_cfg));
}

TEST(Loopback, OnlyLoopbackNamesAndAddresses) {
  for (const char* yes : {"localhost", "LocalHost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"}) {
    EXPECT_TRUE(is_loopback_host(yes)) << yes;
  }
  for (const char* no : {"0.0.0.0", "10.0.0.1", "127.0.0.1.evil.example", "127.0.0", "127.0.0.256",
                         "localhost.evil.example", "::", "", "1270.0.0.1"}) {
    EXPECT_FALSE(is_loopback_host(no)) << no;
  }
}

TEST(Endpoint, ParsesIpv4Ipv6AndNames) {
  EXPECT_EQ(parse_endpoint("[::1]:80")->host, "::1");
  EXPECT_EQ(parse_endpoint("localhost:0")->port, 0);
  EXPECT_FALSE(parse_endpoint(":80"));
  EXPECT_FALSE(parse_endpoint("host:"));
  EXPECT_FALSE(parse_endpoint("host:-1"));
  EXPECT_EQ(parse_endpoint("[::1]:8787")->to_string(), "[::1]:8787");
}

}  // namespace
}  // namespace hookmcp::config
