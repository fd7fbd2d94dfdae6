// Everything sign() produces verifies with the matching verifier, and normalizes to the type
// and delivery id that were signed.
#include "hookmcp/verify/sign.hpp"

#include <gtest/gtest.h>

#include <set>

#include "hookmcp/verify/verifier.hpp"

namespace hookmcp::verify {
namespace {

config::Source source(const std::string& provider, const std::string& secret) {
  config::Source s;
  s.name = provider;
  s.provider = provider;
  if (provider != "none") s.secrets.push_back({secret, secret});
  if (provider == "hmac") {
    s.header = "X-Signature";
    s.prefix = "sha256=";
  }
  return s;
}

struct Case {
  const char* provider;
  std::string secret;
  std::string body;
  std::string type;  // what normalize() should find
};

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {"github", "It's a Secret to Everybody", R"({"action":"opened"})", "pull_request"},
      {"stripe", "whsec_abc123", R"({"id":"evt_9","type":"invoice.paid"})", "invoice.paid"},
      {"slack", "8f742231b10e8888abcd99yyyzzz85a5",
       R"({"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention"}})",
       "app_mention"},
      {"slack", "8f742231b10e8888abcd99yyyzzz85a5", "command=%2Fdeploy&text=prod", "/deploy"},
      {"standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", R"({"type":"user.created"})",
       "user.created"},
      {"shopify", "shpss_1234", R"({"id":1})", "orders/create"},
      {"gitlab", "glpat-token", R"({"object_attributes":{"action":"merge"}})",
       "Merge Request Hook"},
      {"google-calendar", "398348u3tu83ut8uu38", "", "sync"},
      {"postmark", "hooks:s3cret", R"({"MessageID":"73e6d360","Subject":"hi"})", "email.received"},
      {"hmac", "k", R"({"n":1})", "build.done"},
      {"none", "", R"({"n":1})", "anything"},
  };
  return kCases;
}

TEST(Sign, RoundTripsThroughEveryVerifier) {
  constexpr int64_t kNow = 1'800'000'000;
  for (const auto& c : cases()) {
    SignRequest r;
    r.provider = c.provider;
    r.secret = c.secret;
    r.body = c.body;
    r.now_s = kNow;
    if (has_type_header(c.provider)) r.type = c.type;
    auto h = sign(r);
    ASSERT_TRUE(h) << c.provider << ": " << h.error().message;
    auto v = make_verifier(source(c.provider, c.secret));
    ASSERT_NE(v, nullptr) << c.provider;
    auto verdict = v->verify(*h, c.body, kNow);
    EXPECT_TRUE(verdict.accepted) << c.provider << ": " << verdict.reason;
    EXPECT_EQ(verdict.verified, std::string(c.provider) != "none") << c.provider;
    EXPECT_TRUE(h->contains("Content-Type")) << c.provider;

    auto n = v->normalize(*h, c.body);
    EXPECT_EQ(n.type, c.type) << c.provider;

    if (std::string(c.provider) != "none") {
      // A token or credentials say who sent a delivery, not what it holds: nothing covers the
      // body (GitLab, Google Calendar, Postmark).
      const std::string p = c.provider;
      if (p != "gitlab" && p != "google-calendar" && p != "postmark") {
        EXPECT_FALSE(v->verify(*h, c.body + " ", kNow).accepted) << c.provider << " tampered";
      }
      auto other = make_verifier(source(c.provider, c.secret + "x"));
      // "x" appended to a base64 secret may still decode to the same key bytes; change the key.
      if (std::string(c.provider) == "standard") {
        other = make_verifier(source(c.provider, "whsec_c2Vjb25kIGtleQ=="));
      }
      EXPECT_FALSE(other->verify(*h, c.body, kNow).accepted) << c.provider << " other secret";
    }
  }
}

TEST(Sign, TimestampedProvidersGoStale) {
  for (const char* provider : {"stripe", "slack", "standard"}) {
    std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    auto h = sign({provider, secret, R"({"type":"t"})", 1000, "", ""});
    ASSERT_TRUE(h) << provider;
    auto v = make_verifier(source(provider, secret));
    EXPECT_TRUE(v->verify(*h, R"({"type":"t"})", 1300).accepted) << provider;
    EXPECT_FALSE(v->verify(*h, R"({"type":"t"})", 1301).accepted) << provider;
    EXPECT_FALSE(v->verify(*h, R"({"type":"t"})", 699).accepted) << provider;
  }
}

TEST(Sign, DeliveryIdsAreFreshUnlessGiven) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    auto h = sign({"github", "s", "{}", 0, "push", ""});
    ASSERT_TRUE(h);
    std::string id(h->get("X-GitHub-Delivery").value_or(""));
    EXPECT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(id[14], '4') << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 20u);

  auto h = sign({"standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "{}", 0, "", ""});
  ASSERT_TRUE(h);
  EXPECT_EQ(h->get("webhook-id").value_or("").substr(0, 4), "msg_");

  struct Given {
    const char* provider;
    const char* header;
  };
  for (auto [provider, header] :
       {Given{"github", "X-GitHub-Delivery"}, Given{"shopify", "X-Shopify-Webhook-Id"},
        Given{"gitlab", "X-Gitlab-Event-UUID"}, Given{"standard", "webhook-id"},
        Given{"none", "X-Delivery-Id"}}) {
    auto g = sign({provider, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "{}", 0, "", "d-42"});
    ASSERT_TRUE(g) << provider;
    EXPECT_EQ(g->get(header).value_or(""), "d-42") << provider;
    EXPECT_EQ(make_verifier(source(provider, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
                  ->normalize(*g, "{}")
                  .delivery_id,
              "d-42")
        << provider;
  }
}

// A Google Calendar notification is named by its channel and message number.
TEST(Sign, GoogleCalendarChannelAndMessageNumber) {
  auto v = make_verifier(source("google-calendar", "tok"));
  auto given = sign({"google-calendar", "tok", "", 0, "exists", "chan-1:7"});
  ASSERT_TRUE(given);
  EXPECT_EQ(given->get("X-Goog-Channel-ID").value_or(""), "chan-1");
  EXPECT_EQ(given->get("X-Goog-Message-Number").value_or(""), "7");
  EXPECT_EQ(v->normalize(*given, "").delivery_id, "chan-1:7");
  auto channel_only = sign({"google-calendar", "tok", "", 0, "sync", "chan-2"});
  ASSERT_TRUE(channel_only);
  EXPECT_EQ(v->normalize(*channel_only, "").delivery_id, "chan-2:1");
  auto a = sign({"google-calendar", "tok", "", 0, "", ""});
  auto b = sign({"google-calendar", "tok", "", 0, "", ""});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->get("X-Goog-Resource-State").value_or(""), "exists");
  EXPECT_NE(v->normalize(*a, "").delivery_id, v->normalize(*b, "").delivery_id);
  EXPECT_EQ(a->get("X-Goog-Channel-Expiration").value_or(""), "Thu, 08 Jan 1970 00:00:00 GMT");
}

TEST(Sign, StandardMatchesTheSpecVector) {
  auto h = sign({"standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", R"({"test": 2432232314})",
                 1614265330, "", "msg_p5jXN8AQM9LWM0D4loKWxJek"});
  ASSERT_TRUE(h);
  EXPECT_EQ(h->get("webhook-signature").value_or(""),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(Sign, SlackDeclaresItsBodyShape) {
  auto json = sign({"slack", "s", R"({"type":"event_callback"})", 0, "", ""});
  auto form = sign({"slack", "s", "command=%2Fdeploy", 0, "", ""});
  ASSERT_TRUE(json && form);
  EXPECT_EQ(json->get("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(form->get("Content-Type").value_or(""), "application/x-www-form-urlencoded");
}

// An hmac source's own settings: where the signature goes, how it is encoded, what is signed.
TEST(Sign, SignsAsAConfiguredHmacSource) {
  constexpr int64_t kNow = 1'800'000'000;
  config::Source s = source("hmac", "k2");
  s.header = "X-Hub-Sig";
  s.algorithm = "sha512";
  s.encoding = "base64";
  s.prefix = "";
  s.timestamp_header = "X-Ts";
  s.signed_template = "{timestamp}:{body}";
  s.type_header = "X-Kind";
  s.delivery_header = "X-Id";
  SignRequest r{"hmac", "k2", R"({"n":1})", kNow, "build.done", ""};
  r.generic = s;
  auto h = sign(r);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->get("X-Ts").value_or(""), std::to_string(kNow));
  EXPECT_FALSE(h->contains("X-Signature"));
  auto v = make_verifier(s);
  auto verdict = v->verify(*h, r.body, kNow);
  EXPECT_TRUE(verdict.accepted) << verdict.reason;
  auto n = v->normalize(*h, r.body);
  EXPECT_EQ(n.type, "build.done");
  EXPECT_EQ(n.delivery_id.size(), 36u);
  // The default hmac settings would not verify it.
  EXPECT_FALSE(make_verifier(source("hmac", "k2"))->verify(*h, r.body, kNow).accepted);
}

TEST(Sign, FreshIdRewritesThePayloadsIdentity) {
  const std::string stripe = "{\n  \"id\": \"evt_1\",\n  \"type\": \"invoice.paid\"\n}\n";
  auto once = with_fresh_id("stripe", stripe);
  auto twice = with_fresh_id("stripe", stripe);
  ASSERT_TRUE(once && twice);
  EXPECT_NE(*once, *twice);
  auto stripe_id = [](const std::string& body) {
    Headers h;
    return make_verifier(source("stripe", "whsec_x"))->normalize(h, body).delivery_id;
  };
  EXPECT_EQ(stripe_id(*once).substr(0, 4), "evt_");
  EXPECT_EQ(stripe_id(*once).size(), 28u);
  EXPECT_NE(stripe_id(*once), stripe_id(*twice));
  // Only the id changed: the rest is the file, byte for byte.
  EXPECT_EQ(*once, "{\n  \"id\": \"" + stripe_id(*once) + "\",\n  \"type\": \"invoice.paid\"\n}\n");
  EXPECT_EQ(stripe_id(*with_fresh_id("stripe", R"({"type":"t"})")).substr(0, 4), "evt_");
  EXPECT_FALSE(with_fresh_id("stripe", "id=1"));

  auto slack = with_fresh_id("slack", R"({"type":"event_callback","event_id":"Ev1"})");
  ASSERT_TRUE(slack);
  Headers none;
  std::string event_id = make_verifier(source("slack", "s"))->normalize(none, *slack).delivery_id;
  EXPECT_EQ(event_id.substr(0, 2), "Ev");
  EXPECT_EQ(event_id.size(), 18u);

  auto form = with_fresh_id("slack", "command=%2Fdeploy&trigger_id=old&text=prod");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->rfind("command=%2Fdeploy&trigger_id=", 0), 0u);
  EXPECT_EQ(form->substr(form->size() - 10), "&text=prod");
  EXPECT_EQ(form->find("trigger_id=old"), std::string::npos);
  auto added = with_fresh_id("slack", "command=%2Fdeploy");
  ASSERT_TRUE(added);
  EXPECT_EQ(added->rfind("command=%2Fdeploy&trigger_id=", 0), 0u);
  EXPECT_NE(*added, *with_fresh_id("slack", "command=%2Fdeploy"));

  // Postmark's inbound email is named by its MessageID.
  const std::string inbound = R"({"MessageID": "73e6d360", "Subject": "hi"})";
  auto postmark = with_fresh_id("postmark", inbound);
  ASSERT_TRUE(postmark);
  auto postmark_id = make_verifier(source("postmark", "a:b"))->normalize(Headers{}, *postmark);
  EXPECT_EQ(postmark_id.delivery_id.size(), 36u) << *postmark;
  EXPECT_NE(postmark->find(R"("Subject": "hi")"), std::string::npos) << *postmark;
  EXPECT_FALSE(with_fresh_id("postmark", "not json"));

  // The others carry their id in a header, which sign() makes fresh: the body stays.
  for (const char* p :
       {"github", "standard", "shopify", "gitlab", "google-calendar", "hmac", "none"}) {
    auto same = with_fresh_id(p, R"({"id":"x"})");
    ASSERT_TRUE(same) << p;
    EXPECT_EQ(*same, R"({"id":"x"})") << p;
  }
}

TEST(Sign, Errors) {
  auto unknown = sign({"bitbucket", "s", "{}", 0, "", ""});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("bitbucket"), std::string::npos);
  EXPECT_FALSE(sign({"github", "", "{}", 0, "", ""}));
  EXPECT_FALSE(sign({"postmark", "no-colon", "{}", 0, "", ""}));
  auto bad = sign({"standard", "whsec_***", "{}", 0, "", ""});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("base64"), std::string::npos);
}

}  // namespace
}  // namespace hookmcp::verify
