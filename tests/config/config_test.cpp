#include "hookmcp/config/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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

Overrides with_file(const std::string& path) {
  Overrides o;
  o.config_file = path;
  return o;
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

// apply_json's findings for `text`, with `env` as the environment.
Findings findings_of(const std::string& text, std::map<std::string, std::string> env = {}) {
  Config c;
  Findings f;
  apply_json(json::parse(text), fake_env(env), c, f);
  return f;
}

std::vector<std::string> lines(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) out.push_back(f.where + ": " + f.what);
  return out;
}

// The one error expected of `text`, as "where: what".
std::string only_error(const std::string& text, std::map<std::string, std::string> env = {}) {
  auto f = findings_of(text, std::move(env));
  EXPECT_EQ(f.errors.size(), 1u) << text << "\n" << f.to_error().message;
  return f.errors.empty() ? std::string() : lines(f.errors)[0];
}

TEST(Config, EveryMissingVariableIsReportedAtOnce) {
  auto f = findings_of(R"({
      "mcp": {"tokens": ["env:HOOKMCP_TOKEN"]},
      "sources": {
        "github": {"provider": "github", "secrets": ["env:GITHUB_WEBHOOK_SECRET", "env:OLD"]},
        "stripe": {"provider": "stripe", "secrets": ["env:STRIPE_WEBHOOK_SECRET"]}}})",
                       {{"OLD", "old-secret"}});
  EXPECT_EQ(
      lines(f.errors),
      (std::vector<std::string>{
          "mcp.tokens[0]: environment variable HOOKMCP_TOKEN is not set",
          "sources.github.secrets[0]: environment variable GITHUB_WEBHOOK_SECRET is not set",
          "sources.stripe.secrets[0]: environment variable STRIPE_WEBHOOK_SECRET is not set"}));
  EXPECT_TRUE(f.warnings.empty());
}

TEST(Config, ErrorsInDifferentPlacesAreAllReported) {
  auto f = findings_of(R"({"lisen": "127.0.0.1:1", "durability": "sometimes", "colour": 1,
      "retention": {"max_age_days": -1},
      "sources": {"gh": {"provider": "gihub", "secrets": ["s"]},
                  "ci": {"provider": "hmac", "secrets": ["s"], "algorithm": "md5"}}})");
  auto got = lines(f.errors);
  ASSERT_EQ(got.size(), 7u) << f.to_error().message;
  EXPECT_EQ(got[0].rfind("colour: unknown field", 0), 0u);
  EXPECT_EQ(got[1].rfind("lisen: unknown field", 0), 0u);
  EXPECT_EQ(got[2].rfind("durability: expected", 0), 0u);
  EXPECT_EQ(got[3].rfind("retention.max_age_days: must be", 0), 0u);
  EXPECT_EQ(got[4].rfind("sources.ci.header: provider \"hmac\" needs", 0), 0u);
  EXPECT_EQ(got[5], "sources.ci.algorithm: expected sha1, sha256 or sha512");
  EXPECT_EQ(got[6].rfind("sources.gh.provider: unknown provider \"gihub\"", 0), 0u);
  // The one Error for callers that stop at the first problem lists them all, one per line.
  std::string message = f.to_error().message;
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 6);
}

TEST(Config, ShellVariablesPointAtEnv) {
  EXPECT_EQ(only_error(R"({"sources": {"gh": {"provider": "github",
                                              "secrets": ["$GITHUB_WEBHOOK_SECRET"]}}})"),
            "sources.gh.secrets[0]: \"$GITHUB_WEBHOOK_SECRET\" is not expanded: hookmcp does not "
            "expand shell variables; write \"env:GITHUB_WEBHOOK_SECRET\" to read the environment "
            "variable GITHUB_WEBHOOK_SECRET");
  EXPECT_EQ(only_error(R"({"mcp": {"tokens": ["${HOOKMCP_TOKEN}"]}})")
                .rfind("mcp.tokens[0]: \"${HOOKMCP_TOKEN}\" is not expanded", 0),
            0u);
  // A literal that only contains a dollar sign is a literal.
  for (const char* literal : {"pa$$word", "$1abc", "${A B}", "$"}) {
    json doc = {{"sources", {{"gh", {{"provider", "github"}, {"secrets", {literal}}}}}}};
    EXPECT_TRUE(findings_of(doc.dump()).ok()) << literal;
  }
}

TEST(Config, WhitespaceInASecretIsAnErrorThatDoesNotShowIt) {
  struct Case {
    std::string secret;
    std::map<std::string, std::string> env;
    std::string expected;
  };
  const std::string secret = "s3cr3t-value";
  const Case cases[] = {
      {secret + "\n", {}, "the secret ends with a newline"},
      {secret + " ", {}, "the secret ends with a space"},
      {"\t" + secret, {}, "the secret starts with a tab"},
      {"s3cr3t\nvalue", {}, "the secret contains a line break"},
      {"env:GH", {{"GH", secret + "\r\n"}}, "environment variable GH ends with a newline"},
      {"env:GH", {{"GH", " " + secret}}, "environment variable GH starts with a space"},
  };
  for (const auto& c : cases) {
    json doc = {{"sources", {{"gh", {{"provider", "github"}, {"secrets", {c.secret}}}}}}};
    std::string error = only_error(doc.dump(), c.env);
    EXPECT_EQ(error.rfind("sources.gh.secrets[0]: " + c.expected + "; remove it", 0), 0u) << error;
    EXPECT_EQ(error.find("s3cr3t"), std::string::npos) << error;
  }
  // A space inside is some sender's chosen secret.
  EXPECT_TRUE(findings_of(R"({"sources": {"gh": {"provider": "github",
                                                 "secrets": ["two words"]}}})")
                  .ok());
}

TEST(Config, StripeSecretsStartWithWhsec) {
  EXPECT_TRUE(findings_of(R"({"sources": {"s": {"provider": "stripe",
                                                "secrets": ["whsec_abc", "env:S"]}}})",
                          {{"S", "whsec_from_env"}})
                  .ok());
  std::string error = only_error(R"({"sources": {"s": {"provider": "stripe",
                                                       "secrets": ["whsec_abc", "env:S"]}}})",
                                 {{"S", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}});
  EXPECT_EQ(error.rfind("sources.s.secrets[1]: a Stripe webhook signing secret starts with "
                        "\"whsec_\" (this is an API key): copy the signing secret from the Stripe "
                        "Dashboard's page of the webhook endpoint",
                        0),
            0u)
      << error;
  EXPECT_EQ(error.find("4eC39"), std::string::npos);
  error = only_error(R"({"sources": {"s": {"provider": "stripe", "secrets": ["abc123"]}}})");
  EXPECT_EQ(error.rfind("sources.s.secrets[0]: a Stripe webhook signing secret starts with "
                        "\"whsec_\": copy",
                        0),
            0u)
      << error;
}

TEST(Config, PublicKeyProvidersNeedTheirFieldsAndNoSecrets) {
  EXPECT_EQ(only_error(R"({"sources": {"g": {"provider": "gmail", "service_account": "a@b"}}})")
                .rfind("sources.g.audience: provider \"gmail\" needs the audience", 0),
            0u);
  EXPECT_EQ(
      only_error(R"({"sources": {"g": {"provider": "gmail", "audience": "x"}}})")
          .rfind("sources.g.service_account: provider \"gmail\" needs the service account", 0),
      0u);
  EXPECT_EQ(
      only_error(R"({"sources": {"g": {"provider": "gmail", "audience": "x",
                "service_account": "a@b", "secrets": ["s"]}}})")
          .rfind("sources.g.secrets: provider \"gmail\" is verified with the sender's public key",
                 0),
      0u);
  EXPECT_EQ(only_error(R"({"sources": {"s": {"provider": "sendgrid"}}})")
                .rfind("sources.s.public_key: provider \"sendgrid\" needs the verification key", 0),
            0u);
  EXPECT_EQ(only_error(R"({"sources": {"s": {"provider": "sns"}}})")
                .rfind("sources.s.topic_arns: provider \"sns\" needs the ARNs", 0),
            0u);
  EXPECT_EQ(only_error(R"({"sources": {"s": {"provider": "sns", "topic_arns": ["*"],
                "cert_url_prefix": "http://certs.example.com/"}}})")
                .rfind("sources.s.cert_url_prefix: must start with https://", 0),
            0u);
  EXPECT_EQ(only_error(R"({"sources": {"s": {"provider": "sns", "topic_arns": ["*"],
                "cert_url_prefix": "https://certs.example.com"}}})")
                .rfind("sources.s.cert_url_prefix: must end its host with '/'", 0),
            0u);
  auto f = findings_of(R"({"sources": {
      "g": {"provider": "gmail", "audience": "x", "service_account": "a@b"},
      "s": {"provider": "sns", "topic_arns": ["arn:aws:sns:us-east-1:1:t"], "auto_confirm": true},
      "m": {"provider": "msgraph", "secrets": ["cs"]},
      "mg": {"provider": "mailgun", "secrets": ["key"], "tolerance_s": 60}}})");
  EXPECT_TRUE(f.ok()) << f.to_error().message;
  EXPECT_TRUE(f.warnings.empty());
}

TEST(Config, FieldsAProviderDoesNotReadAreWarnings) {
  auto f = findings_of(R"({"sources": {
      "gh": {"provider": "github", "secrets": ["s"], "tolerance_s": 60, "header": "X-Sig"},
      "dev": {"provider": "none", "type_header": "X-Kind", "algorithm": "sha1"},
      "ci": {"provider": "hmac", "secrets": ["s"], "header": "X-Sig", "tolerance_s": 60},
      "st": {"provider": "stripe", "secrets": ["whsec_a"], "tolerance_s": 60,
             "delivery_header": "X-Id"}}})");
  EXPECT_TRUE(f.ok()) << f.to_error().message;
  EXPECT_EQ(lines(f.warnings),
            (std::vector<std::string>{
                "sources.ci.tolerance_s: has no effect without timestamp_header (no timestamp to "
                "check); it is ignored",
                "sources.dev.algorithm: does not apply to provider \"none\" (only to hmac); it is "
                "ignored",
                "sources.gh.header: does not apply to provider \"github\" (only to hmac); it is "
                "ignored",
                "sources.gh.tolerance_s: does not apply to provider \"github\" (only to stripe, "
                "slack, standard, mailgun and hmac); it is ignored",
                "sources.st.delivery_header: does not apply to provider \"stripe\" (only to hmac "
                "and none); it is ignored"}));
  // Ignored, but still of the right type.
  EXPECT_EQ(only_error(R"({"sources": {"gh": {"provider": "github", "secrets": ["s"],
                                              "tolerance_s": "5m"}}})"),
            "sources.gh.tolerance_s: expected an integer, got string");
}

TEST(Config, ChannelSourcesMustBeConfigured) {
  EXPECT_EQ(only_error(R"({"mcp": {"channel": {"sources": ["github", "stirpe"]}},
      "sources": {"github": {"provider": "github", "secrets": ["s"]},
                  "stripe": {"provider": "stripe", "secrets": ["whsec_s"]}}})"),
            "mcp.channel.sources[1]: \"stirpe\" is not a configured source (sources: github, "
            "stripe)");
  // Without sources any /hooks/NAME is accepted, so any name may be pushed.
  EXPECT_TRUE(findings_of(R"({"mcp": {"channel": {"sources": ["anything"]}}})").ok());
}

TEST(Config, InvalidJsonNamesLineAndColumn) {
  std::string path = ::testing::TempDir() + "/hookmcp-bad-json.json";
  // Line 3 lacks a comma between "topsecret" and "x": the parser stops at the end of "x", in
  // column 70 ("é" is one column of two bytes).
  std::ofstream(path) << "{\n  \"database\": \"/tmp/events.db\",\n"
                         "  \"sources\": {\"gé\": {\"provider\": \"github\", \"secrets\": "
                         "[\"topsecret\" \"x\"]}}\n}\n";
  auto loaded = load_all(with_file(path), fake_env({}));
  ASSERT_EQ(loaded.findings.errors.size(), 1u);
  const Finding& e = loaded.findings.errors[0];
  EXPECT_EQ(e.where, path + ":3:70") << e.what;
  EXPECT_EQ(e.what.rfind("not valid JSON: syntax error while parsing array", 0), 0u) << e.what;
  EXPECT_EQ(e.what.find("topsecret"), std::string::npos) << e.what;

  // An unquoted word is an invalid literal from its second letter on.
  std::ofstream(path, std::ios::trunc)
      << "{\n  \"listen\": \"127.0.0.1:1\",\n  \"durability\": full\n}";
  loaded = load_all(with_file(path), fake_env({}));
  ASSERT_EQ(loaded.findings.errors.size(), 1u);
  EXPECT_EQ(loaded.findings.errors[0].where, path + ":3:18");
}

TEST(Config, FileErrorsNameTheFile) {
  std::string path = ::testing::TempDir() + "/hookmcp-file-errors.json";
  std::ofstream(path) << R"({"sources": {"gh": {"provider": "github", "secrets": ["env:NOPE"]}}})";
  auto c = load(with_file(path), fake_env({}));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message,
            path + ": sources.gh.secrets[0]: environment variable NOPE is not set");
  auto missing = load(with_file("/nonexistent/hookmcp.json"), fake_env({}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "--config: cannot read config file \"/nonexistent/hookmcp.json\": No such file or "
            "directory");
}

TEST(Serving, TlsFilesMustBeReadable) {
  std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/hookmcp-cert.pem") << "not checked here";
  Config c;
  c.tls_cert_file = dir + "/hookmcp-cert.pem";
  c.tls_key_file = dir + "/hookmcp-missing-key.pem";
  Findings f;
  check_serving(c, f);
  EXPECT_EQ(lines(f.errors),
            (std::vector<std::string>{"tls.key_file: \"" + c.tls_key_file + "\" does not exist"}));
  c.tls_key_file = dir;
  f = {};
  check_serving(c, f);
  EXPECT_EQ(lines(f.errors),
            (std::vector<std::string>{"tls.key_file: \"" + dir + "\" is a directory"}));
  c.tls_key_file = "relative-key.pem";
  f = {};
  check_serving(c, f);
  ASSERT_EQ(f.errors.size(), 1u);
  EXPECT_NE(f.errors[0].what.find("(relative to the working directory "), std::string::npos);
}

TEST(Serving, ExposureIsCheckedOnlyForSettingsWithoutErrors) {
  Config c;
  c.listen = {"0.0.0.0", 8787};
  Findings f;
  check_serving(c, f);
  ASSERT_EQ(f.errors.size(), 1u);
  EXPECT_EQ(f.errors[0].where, "listen");
  f = {};
  f.error("sources.gh.secrets[0]", "environment variable GH is not set");
  check_serving(c, f);
  EXPECT_EQ(f.errors.size(), 1u);
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

TEST(Config, TriggersTakeAMatchAndOneAction) {
  auto c = from_json(R"({"triggers": {
    "to-dev": {"match": {"source": "github", "type": "pull_*", "payload": {"/action": "opened"}},
               "forward": {"url": "http://127.0.0.1:3000/webhooks"}},
    "to-ci": {"match": {"source": "stripe"},
              "forward": {"url": "https://ci.example.com/in", "mode": "signed",
                          "secret": "env:CI_WHSEC", "max_attempts": 3}},
    "script": {"match": {}, "run": {"argv": ["/bin/cat"], "timeout_s": 5, "concurrency": 2}},
    "page": {"match": {"source": "pagerduty"},
             "notify": {"message": "Incident {{payload./incident/title}}: page {{source}}"}}}})",
                     {{"CI_WHSEC", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}});
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->triggers.size(), 4u);
  const Trigger& dev = c->triggers.at("to-dev");
  EXPECT_EQ(dev.action, Trigger::Action::kForward);
  EXPECT_FALSE(dev.signed_mode);
  EXPECT_EQ(dev.timeout_s, 10);
  EXPECT_EQ(dev.match.type, "pull_*");
  ASSERT_EQ(dev.match.payload.size(), 1u);
  EXPECT_EQ(dev.match.payload[0].first, "/action");
  EXPECT_EQ(c->triggers.at("to-ci").secret.value, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(c->triggers.at("to-ci").max_attempts, 3);
  EXPECT_EQ(c->triggers.at("script").concurrency, 2);
  EXPECT_EQ(c->triggers.at("page").action, Trigger::Action::kNotify);
  auto shown = c->to_redacted_json()["triggers"];
  EXPECT_EQ(shown["to-ci"]["forward"]["secret"], "env:CI_WHSEC");
  EXPECT_EQ(shown["script"]["run"]["argv"][0], "/bin/cat");
}

TEST(Config, TriggerMistakesNameTheField) {
  EXPECT_EQ(only_error(R"({"triggers": {"t": {"match": {}}}})"),
            "triggers.t: needs an action: \"forward\", \"run\" or \"notify\"");
  EXPECT_EQ(only_error(R"({"triggers": {"t": {"match": {}, "run": {"argv": ["/a"]},
                                             "notify": {"message": "m"}}}})"),
            "triggers.t: has more than one action: give each its own trigger");
  EXPECT_EQ(only_error(R"({"triggers": {"t": {"forward": {"url": "http://127.0.0.1:1/"}}}})")
                .substr(0, 19),
            "triggers.t.match: i");
  EXPECT_EQ(only_error(R"({"triggers": {"t": {"match": {"payload": {"action": 1}},
                                             "notify": {"message": "m"}}}})"),
            "triggers.t.match.payload.action: is not a JSON Pointer: write \"/action\"");
  EXPECT_EQ(only_error(R"({"triggers": {"t": {"match": {}, "run": {"argv": ["notify-send hi"]}}}})")
                .substr(0, 21),
            "triggers.t.run.argv: ");
  EXPECT_EQ(only_error(R"({"triggers": {"t": {"match": {}, "forward": {"url": "ftp://x/"}}}})")
                .substr(0, 26),
            "triggers.t.forward.url: ex");
  EXPECT_EQ(
      only_error(
          R"({"triggers": {"t": {"match": {}, "forward": {"url": "http://x/", "mode": "signed"}}}})")
          .substr(0, 29),
      "triggers.t.forward.secret: is");
  EXPECT_EQ(only_error(R"({"triggers": {"t": {"match": {}, "forward": {"url": "http://x/",
                                             "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}}})")
                .substr(0, 32),
            "triggers.t.forward.secret: is us");
  EXPECT_EQ(only_error(R"({"triggers": {"t": {"match": {}, "notify": {"message": "{{body}}"}}}})")
                .substr(0, 36),
            "triggers.t.notify.message: {{body}} ");
  EXPECT_EQ(only_error(R"({"triggers": {"t": {"match": {"source": "hookmcp"},
                                             "notify": {"message": "m"}}}})")
                .substr(0, 30),
            "triggers.t.match.source: \"hook");
  EXPECT_EQ(only_error(R"({"sources": {"hookmcp": {"provider": "none"}}})").substr(0, 17),
            "sources.hookmcp: ");
}

TEST(Config, ConnectionsOfEachKind) {
  auto c = from_json(R"({"public_url": "https://hooks.example.com/", "connections": {
    "gh": {"kind": "github", "repository": "octo/hello", "events": ["push", "pull_request"],
           "token": "env:GITHUB_TOKEN", "source": "github"},
    "cal": {"kind": "google-calendar", "source": "calendar", "client_id": "id",
            "client_secret": "env:GOOGLE_CLIENT_SECRET", "refresh_token": "env:GOOGLE_REFRESH_TOKEN"},
    "mail": {"kind": "gmail", "topic": "projects/p/topics/t", "client_id": "id",
             "audience": "https://hooks.example.com/hooks/mail", "service_account": "a@p.iam"},
    "outlook": {"kind": "msgraph", "tenant": "contoso", "client_id": "id",
                "resource": "me/messages"}}})",
                     {{"GITHUB_TOKEN", "ghp_x"},
                      {"GOOGLE_CLIENT_SECRET", "shh"},
                      {"GOOGLE_REFRESH_TOKEN", "1//r"}});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->public_url, "https://hooks.example.com");
  const Connection& gh = c->connections.at("gh");
  EXPECT_EQ(gh.kind, Connection::Kind::kGithub);
  EXPECT_EQ(gh.api_url, "https://api.github.com");
  EXPECT_EQ(gh.token.value, "ghp_x");
  EXPECT_EQ(gh.provider(), "github");
  const Connection& cal = c->connections.at("cal");
  EXPECT_EQ(cal.calendar, "primary");
  EXPECT_EQ(cal.token_url, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(cal.refresh_token.value, "1//r");
  EXPECT_EQ(c->connections.at("mail").source, "mail");
  EXPECT_EQ(c->connections.at("outlook").token_url,
            "https://login.microsoftonline.com/contoso/oauth2/v2.0/token");
  auto shown = c->to_redacted_json()["connections"];
  EXPECT_EQ(shown["gh"]["token"], "env:GITHUB_TOKEN");
  EXPECT_EQ(shown["cal"]["refresh_token"], "env:GOOGLE_REFRESH_TOKEN");
  EXPECT_EQ(shown["outlook"]["refresh_token"], "stored by hookmcp connections login");
}

TEST(Config, ConnectionMistakesNameTheField) {
  auto with_url = [](const std::string& connections) {
    return only_error(R"({"public_url": "https://h.example", "connections": )" + connections + "}");
  };
  EXPECT_EQ(with_url(R"({"x": {"kind": "jira"}})").substr(0, 34),
            "connections.x.kind: unknown kind \"");
  EXPECT_EQ(with_url(R"({"x": {"kind": "github", "token": "t"}})"),
            "connections.x: give one of repository (\"owner/name\") or organization");
  EXPECT_EQ(with_url(R"({"x": {"kind": "github", "repository": "hello", "token": "t"}})"),
            "connections.x.repository: expected \"owner/name\"");
  EXPECT_EQ(with_url(R"({"x": {"kind": "github", "repository": "o/r"}})").substr(0, 31),
            "connections.x.token: is require");
  EXPECT_EQ(with_url(R"({"x": {"kind": "google-calendar"}})").substr(0, 35),
            "connections.x.client_id: is require");
  EXPECT_EQ(with_url(R"({"x": {"kind": "gmail", "client_id": "i", "audience": "a",
                               "service_account": "s"}})")
                .substr(0, 29),
            "connections.x.topic: is requi");
  EXPECT_EQ(with_url(R"({"x": {"kind": "msgraph", "client_id": "i"}})").substr(0, 32),
            "connections.x.resource: is requi");
  EXPECT_EQ(with_url(R"({"x": {"kind": "github", "repository": "o/r", "token": "t",
                               "calendar": "c"}})"),
            "connections.x.calendar: unknown field for a github connection");
  EXPECT_EQ(with_url(R"({"x": {"kind": "gmail", "client_id": "i",
                               "topic": "projects/p/topics/t"}})")
                .substr(0, 33),
            "connections.x: give audience and ");
  EXPECT_EQ(only_error(R"({"connections": {"x": {"kind": "github", "repository": "o/r",
                                                  "token": "t"}}})")
                .substr(0, 24),
            "public_url: is required ");
  EXPECT_EQ(with_url(R"({"a": {"kind": "github", "repository": "o/r", "token": "t", "source": "s"},
                         "b": {"kind": "github", "repository": "o/q", "token": "t",
                               "source": "s"}})")
                .substr(0, 42),
            "connections.b.source: source \"s\" is fed by");
  EXPECT_EQ(only_error(R"({"public_url": "https://h.example",
                           "sources": {"s": {"provider": "stripe",
                                             "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}},
                           "connections": {"a": {"kind": "github", "repository": "o/r",
                                                 "token": "t", "source": "s"}}})")
                .substr(0, 44),
            "connections.a.source: source \"s\" has provide");
}

}  // namespace
}  // namespace hookmcp::config
