#include "hookmcp/intake/intake.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include <nlohmann/json.hpp>

#include "hookmcp/verify/crypto.hpp"
#include "support/temp_dir.hpp"

namespace hookmcp::intake {
namespace {

using nlohmann::json;

class IntakeTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = hookmcp::testing::fresh_test_directory("intake"); }
  void TearDown() override {
    if (store_) store_->close();
    std::filesystem::remove_all(dir_);
  }

  void start(const config::Config& cfg, uint64_t max_pending = 1 << 20) {
    store::Options o;
    o.path = (dir_ / "events.db").string();
    o.clock = &clock_;
    o.max_pending_bytes = max_pending;
    auto s = store::open_sqlite(o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    intake_ = std::make_unique<Intake>(cfg, *store_, clock_, metrics_);
  }

  Response send(const std::string& source, std::string body,
                std::initializer_list<std::pair<const char*, std::string>> headers = {}) {
    Request r;
    r.source = source;
    r.body = std::move(body);
    for (const auto& [k, v] : headers) r.headers.add(k, v);
    std::promise<Response> p;
    intake_->handle(std::move(r), [&p](Response res) { p.set_value(std::move(res)); });
    return p.get_future().get();
  }

  static config::Config github_config() {
    config::Config c;
    config::Source s;
    s.name = "gh";
    s.provider = "github";
    s.secrets.push_back({"It's a Secret to Everybody", "It's a Secret to Everybody"});
    s.ignore_types = {"ping"};
    c.sources["gh"] = s;
    return c;
  }

  std::filesystem::path dir_;
  FakeClock clock_{1'795'936'000'000};
  Metrics metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Intake> intake_;
};

constexpr const char* kSig =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

TEST_F(IntakeTest, OpenModeStoresAnySourceUnverified) {
  start(config::Config{});
  auto r = send("demo", R"({"type":"hello"})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(json::parse(r.body), json({{"id", 1}, {"duplicate", false}}));
  auto e = store_->get(1);
  ASSERT_TRUE(e && *e);
  EXPECT_EQ((*e)->source, "demo");
  EXPECT_EQ((*e)->provider, "none");
  EXPECT_EQ((*e)->type, "hello");
  EXPECT_FALSE((*e)->verified);
  EXPECT_EQ((*e)->content_type, "application/json");
  EXPECT_EQ((*e)->received_at_ms, clock_.now_ms());
  EXPECT_EQ((*e)->delivery_id.rfind("sha256:", 0), 0u);
}

TEST_F(IntakeTest, SameBodyWithoutDeliveryIdIsADuplicate) {
  start(config::Config{});
  EXPECT_EQ(send("demo", "x").status, 202);
  auto again = send("demo", "x");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body), json({{"id", 1}, {"duplicate", true}}));
}

TEST_F(IntakeTest, InvalidSourceNameIs404) {
  start(config::Config{});
  EXPECT_EQ(send("", "x").status, 404);
  EXPECT_EQ(send("a/b", "x").status, 404);
  EXPECT_EQ(send(std::string(65, 'a'), "x").status, 404);
}

// "." and ".." are the dot-segments a URI path resolves away: the same rule in both modes.
TEST_F(IntakeTest, DotSegmentsAreNotSourceNames) {
  start(config::Config{});
  for (const char* name : {".", "..", "%2e%2e", "%2E.", ".%2e"}) {
    auto r = send(name, "x");
    EXPECT_EQ(r.status, 404) << name;
    EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("not valid"), std::string::npos)
        << r.body;
  }
  EXPECT_EQ(send("...", "x").status, 202);
  EXPECT_EQ(send(".hidden", "y").status, 202);
  EXPECT_EQ(*store_->max_id(), 2);
}

// A request the transport found foreign (a web page's Origin, a Host outside the allow-list)
// reaches an unsigned source only as a 403; a signed source judges it by its signature.
TEST_F(IntakeTest, UnsignedSourcesRefuseForeignOrigins) {
  start(config::Config{});
  Request r;
  r.source = "demo";
  r.body = "{}";
  r.origin_denied = "Origin not allowed; add it to mcp.allowed_origins";
  std::promise<Response> p;
  intake_->handle(std::move(r), [&p](Response res) { p.set_value(std::move(res)); });
  auto answer = p.get_future().get();
  EXPECT_EQ(answer.status, 403);
  EXPECT_NE(answer.body.find("unsigned"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("Origin"), std::string::npos) << answer.body;
  EXPECT_EQ(*store_->max_id(), 0);
  EXPECT_NE(metrics_.render_prometheus().find("reason=\"origin\"} 1"), std::string::npos);
}

TEST_F(IntakeTest, SignedSourcesIgnoreTheOrigin) {
  start(github_config());
  Request r;
  r.source = "gh";
  r.body = "Hello, World!";
  r.headers.add("X-Hub-Signature-256", kSig);
  r.origin_denied = "Host not allowed; add it to mcp.allowed_hosts";
  std::promise<Response> p;
  intake_->handle(std::move(r), [&p](Response res) { p.set_value(std::move(res)); });
  EXPECT_EQ(p.get_future().get().status, 202);
}

TEST_F(IntakeTest, RepeatedSignatureHeaderIs401NamingIt) {
  start(github_config());
  auto r = send("gh", "Hello, World!",
                {{"X-Hub-Signature-256", kSig}, {"X-Hub-Signature-256", "sha256=00"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["error"], "X-Hub-Signature-256 is sent more than once");
  EXPECT_EQ(*store_->max_id(), 0);
}

TEST_F(IntakeTest, ConfiguredSourcesOnly) {
  start(github_config());
  EXPECT_EQ(send("other", "Hello, World!").status, 404);
  auto r = send(
      "gh", "Hello, World!",
      {{"X-Hub-Signature-256", kSig}, {"X-GitHub-Event", "issues"}, {"X-GitHub-Delivery", "d-1"}});
  EXPECT_EQ(r.status, 202) << r.body;
  auto e = store_->get(1);
  ASSERT_TRUE(e && *e);
  EXPECT_TRUE((*e)->verified);
  EXPECT_EQ((*e)->type, "issues");
  EXPECT_EQ((*e)->delivery_id, "d-1");
}

TEST_F(IntakeTest, BadSignatureIs401AndNothingStored) {
  start(github_config());
  auto r =
      send("gh", "Hello, World?", {{"X-Hub-Signature-256", kSig}, {"X-GitHub-Event", "issues"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["error"], "signature verification failed");
  EXPECT_EQ(send("gh", "Hello, World!").status, 401);
  EXPECT_EQ(*store_->max_id(), 0);
  EXPECT_NE(metrics_.render_prometheus().find("reason=\"signature\"} 2"), std::string::npos);
}

TEST_F(IntakeTest, IgnoredTypesAreFilteredNotStored) {
  start(github_config());
  auto r = send("gh", "Hello, World!", {{"X-Hub-Signature-256", kSig}, {"X-GitHub-Event", "ping"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), json({{"filtered", true}}));
  EXPECT_EQ(*store_->max_id(), 0);
}

TEST_F(IntakeTest, OverloadIs503WithRetryAfter) {
  start(config::Config{}, /*max_pending=*/512);
  auto r = send("demo", std::string(2048, 'x'));
  EXPECT_EQ(r.status, 503);
  ASSERT_TRUE(r.retry_after_s);
  EXPECT_EQ(*store_->max_id(), 0);
}

TEST_F(IntakeTest, CredentialHeadersAreRedacted) {
  start(config::Config{});
  ASSERT_EQ(send("demo", "x",
                 {{"Authorization", "Bearer secret-token"},
                  {"X-Gitlab-Token", "gl-secret"},
                  {"X-Goog-Channel-Token", "channel-secret"},
                  {"X-Custom", "kept"}})
                .status,
            202);
  auto e = store_->get(1);
  json h = json::parse((*e)->headers_json);
  EXPECT_EQ(h["Authorization"], "[redacted]");
  EXPECT_EQ(h["X-Gitlab-Token"], "[redacted]");
  EXPECT_EQ(h["X-Goog-Channel-Token"], "[redacted]");
  EXPECT_EQ(h["X-Custom"], "kept");
}

// Printable headers are written straight out; the text must be what the JSON library makes of
// them: names in byte order, repeats joined, quotes and backslashes escaped, credentials hidden.
TEST(HeadersJson, PrintableHeadersGiveTheSameTextAsTheJsonLibrary) {
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"X-Quote", R"(say "hi" \ bye)"},
      {"content-type", "application/json"},
      {"Accept", "*/*"},
      {"X-A", "1"},
      {"authorization", "Bearer t0ken"},
      {"X-A", "2"},
      {"a", ""},
      {"Z", "~ { } [ ] : ,"}};
  Headers h;
  json expected = json::object();
  for (const auto& [name, value] : fields) {
    h.add(name, value);
    std::string shown = name == "authorization" ? "[redacted]" : value;
    if (expected.contains(name)) {
      expected[name] = expected[name].get<std::string>() + ", " + shown;
    } else {
      expected[name] = shown;
    }
  }
  EXPECT_EQ(headers_to_json(h), expected.dump());
  EXPECT_EQ(headers_to_json(Headers{}), "{}");
}

TEST(HeadersJson, JoinsRepeatsAndSurvivesBadUtf8) {
  Headers h;
  h.add("X-A", "1");
  h.add("X-A", "2");
  h.add("X-Bin", std::string("\xff\xfe", 2));
  json j = json::parse(headers_to_json(h));
  EXPECT_EQ(j["X-A"], "1, 2");
  EXPECT_TRUE(j["X-Bin"].is_string());
}

}  // namespace
}  // namespace hookmcp::intake
