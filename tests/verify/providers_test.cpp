// Table tests for the vendor providers: published vectors where the vendor publishes one, then
// tampering, wrong and rotated secrets, stale and future timestamps, and malformed headers.
#include <gtest/gtest.h>

#include <cctype>
#include <random>

#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/crypto.hpp"
#include "hookmcp/verify/verifier.hpp"

namespace hookmcp::verify {
namespace {

config::Source source(const std::string& provider, std::vector<std::string> secrets,
                      int tolerance_s = 300) {
  config::Source s;
  s.name = provider;
  s.provider = provider;
  s.tolerance_s = tolerance_s;
  for (auto& v : secrets) s.secrets.push_back({v, v});
  return s;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

Headers headers(const Fields& fields) {
  Headers h;
  for (const auto& [k, v] : fields) h.add(k, v);
  return h;
}

struct Case {
  const char* name;
  Fields fields;
  std::string body;
  int64_t now_s;
  bool accepted;
};

void run_cases(const Verifier& v, const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    auto verdict = v.verify(headers(c.fields), c.body, c.now_s);
    EXPECT_EQ(verdict.accepted, c.accepted) << c.name << ": " << verdict.reason;
    EXPECT_EQ(verdict.verified, c.accepted) << c.name;
    if (!c.accepted) {
      EXPECT_FALSE(verdict.reason.empty()) << c.name;
    }
  }
}

// ---- Stripe ----------------------------------------------------------------------------------

// Stripe's documented scheme, as produced by stripe-node's webhooks.generateTestHeaderString
// for this payload, secret and timestamp.
constexpr const char* kStripeSecret = "whsec_test_secret";
constexpr const char* kStripeBody = R"({"id":"evt_1","type":"charge.succeeded"})";
constexpr int64_t kStripeTime = 1700000000;
constexpr const char* kStripeV1 =
    "c0475716eb2200f1fe97fcf35a3c05d1fd4f8ba9a07a596730c8d18bb87c0672";

TEST(Stripe, PublishedSchemeAndForgeries) {
  auto v = make_verifier(source("stripe", {kStripeSecret}));
  const std::string t = "t=1700000000";
  const std::string good = t + ",v1=" + kStripeV1;
  const std::string other_v1 = std::string(64, 'a');
  std::vector<Case> cases = {
      {"vector", {{"Stripe-Signature", good}}, kStripeBody, kStripeTime, true},
      {"with v0 too",
       {{"Stripe-Signature", good + ",v0=" + other_v1}},
       kStripeBody,
       kStripeTime,
       true},
      {"second v1 matches",
       {{"Stripe-Signature", t + ",v1=" + other_v1 + ",v1=" + kStripeV1}},
       kStripeBody,
       kStripeTime,
       true},
      {"v1 before t",
       {{"Stripe-Signature", std::string("v1=") + kStripeV1 + "," + t}},
       kStripeBody,
       kStripeTime,
       true},
      {"lower-case header name", {{"stripe-signature", good}}, kStripeBody, kStripeTime, true},
      {"299 s old", {{"Stripe-Signature", good}}, kStripeBody, kStripeTime + 299, true},
      {"301 s old", {{"Stripe-Signature", good}}, kStripeBody, kStripeTime + 301, false},
      {"301 s ahead", {{"Stripe-Signature", good}}, kStripeBody, kStripeTime - 301, false},
      {"tampered body",
       {{"Stripe-Signature", good}},
       R"({"id":"evt_1","type":"charge.failed"})",
       kStripeTime,
       false},
      {"other timestamp",
       {{"Stripe-Signature", "t=1700000001,v1=" + std::string(kStripeV1)}},
       kStripeBody,
       kStripeTime,
       false},
      {"only v0", {{"Stripe-Signature", t + ",v0=" + kStripeV1}}, kStripeBody, kStripeTime, false},
      {"missing", {}, kStripeBody, kStripeTime, false},
      {"empty", {{"Stripe-Signature", ""}}, kStripeBody, kStripeTime, false},
      {"no t",
       {{"Stripe-Signature", std::string("v1=") + kStripeV1}},
       kStripeBody,
       kStripeTime,
       false},
      {"no v1", {{"Stripe-Signature", t}}, kStripeBody, kStripeTime, false},
      {"two t",
       {{"Stripe-Signature", "t=1700000000,t=1700000000,v1=" + std::string(kStripeV1)}},
       kStripeBody,
       kStripeTime,
       false},
      {"t not a number",
       {{"Stripe-Signature", "t=17e8,v1=" + std::string(kStripeV1)}},
       kStripeBody,
       kStripeTime,
       false},
      {"t empty",
       {{"Stripe-Signature", "t=,v1=" + std::string(kStripeV1)}},
       kStripeBody,
       kStripeTime,
       false},
      {"t overflows",
       {{"Stripe-Signature", "t=99999999999999999999999,v1=" + other_v1}},
       kStripeBody,
       kStripeTime,
       false},
      {"bad hex", {{"Stripe-Signature", t + ",v1=zz"}}, kStripeBody, kStripeTime, false},
      {"odd hex", {{"Stripe-Signature", t + ",v1=abc"}}, kStripeBody, kStripeTime, false},
      {"item without =",
       {{"Stripe-Signature", good + ",garbage"}},
       kStripeBody,
       kStripeTime,
       false},
      {"huge",
       {{"Stripe-Signature", good + ",v1=" + std::string(100000, 'a')}},
       kStripeBody,
       kStripeTime,
       false},
      {"header twice",
       {{"Stripe-Signature", good}, {"Stripe-Signature", good}},
       kStripeBody,
       kStripeTime,
       false},
  };
  std::string many = t;
  for (int i = 0; i < 20; ++i) many += ",v1=" + other_v1;
  cases.push_back({"too many v1",
                   {{"Stripe-Signature", many + ",v1=" + kStripeV1}},
                   kStripeBody,
                   kStripeTime,
                   false});
  run_cases(*v, cases);
}

TEST(Stripe, KeyIsTheWholeSecretText) {
  // Decoding the part after whsec_ (as Standard Webhooks does) would make this fail.
  auto v = make_verifier(source("stripe", {kStripeSecret}));
  std::string sig =
      hex_encode(hmac(Digest::kSha256, "whsec_test_secret", std::string("1000.") + kStripeBody));
  EXPECT_TRUE(
      v->verify(headers({{"Stripe-Signature", "t=1000,v1=" + sig}}), kStripeBody, 1000).accepted);
}

TEST(Stripe, WrongSecretRotatedSecretAndTolerance) {
  Fields good = {{"Stripe-Signature", std::string("t=1700000000,v1=") + kStripeV1}};
  EXPECT_FALSE(make_verifier(source("stripe", {"whsec_other"}))
                   ->verify(headers(good), kStripeBody, kStripeTime)
                   .accepted);
  EXPECT_TRUE(make_verifier(source("stripe", {"whsec_new", kStripeSecret}))
                  ->verify(headers(good), kStripeBody, kStripeTime)
                  .accepted);
  auto strict = make_verifier(source("stripe", {kStripeSecret}, 10));
  EXPECT_TRUE(strict->verify(headers(good), kStripeBody, kStripeTime + 10).accepted);
  EXPECT_FALSE(strict->verify(headers(good), kStripeBody, kStripeTime + 11).accepted);
}

TEST(Stripe, Normalizes) {
  auto v = make_verifier(source("stripe", {kStripeSecret}));
  auto n = v->normalize(headers({}), R"({"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
    "object": "event", "type": "customer.subscription.updated", "data": {"object": {}}})");
  EXPECT_EQ(n.type, "customer.subscription.updated");
  EXPECT_EQ(n.delivery_id, "evt_1NG8Du2eZvKYlo2CUI79vXWy");
  EXPECT_EQ(n.action, "");
  EXPECT_FALSE(n.handshake_response);
  n = v->normalize(headers({}), "not json");
  EXPECT_EQ(n.type, "");
  EXPECT_EQ(n.delivery_id, "");
}

// ---- Slack -----------------------------------------------------------------------------------

// From Slack's "Verifying requests from Slack" documentation.
constexpr const char* kSlackSecret = "8f742231b10e8888abcd99yyyzzz85a5";
constexpr int64_t kSlackTime = 1531420618;
constexpr const char* kSlackBody =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"
    "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
    "803a0bc887a14d10d2c447fce8b6703c";
constexpr const char* kSlackSignature =
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

TEST(Slack, PublishedVectorAndForgeries) {
  auto v = make_verifier(source("slack", {kSlackSecret}));
  const std::string ts = "1531420618";
  const std::string sig = kSlackSignature;
  std::string flipped = sig;
  flipped.back() = '4';
  auto both = [&](std::string s, std::string t) {
    return Fields{{"X-Slack-Signature", std::move(s)}, {"X-Slack-Request-Timestamp", std::move(t)}};
  };
  std::vector<Case> cases = {
      {"vector", both(sig, ts), kSlackBody, kSlackTime, true},
      {"300 s old", both(sig, ts), kSlackBody, kSlackTime + 300, true},
      {"301 s old", both(sig, ts), kSlackBody, kSlackTime + 301, false},
      {"a day old", both(sig, ts), kSlackBody, kSlackTime + 86400, false},
      {"future", both(sig, ts), kSlackBody, kSlackTime - 301, false},
      {"tampered body", both(sig, ts), std::string(kSlackBody) + "x", kSlackTime, false},
      {"flipped", both(flipped, ts), kSlackBody, kSlackTime, false},
      {"no signature", {{"X-Slack-Request-Timestamp", ts}}, kSlackBody, kSlackTime, false},
      {"no timestamp", {{"X-Slack-Signature", sig}}, kSlackBody, kSlackTime, false},
      {"timestamp not a number", both(sig, "1531420618.0"), kSlackBody, kSlackTime, false},
      {"negative timestamp", both(sig, "-1"), kSlackBody, kSlackTime, false},
      {"v1 prefix", both("v1=" + sig.substr(3), ts), kSlackBody, kSlackTime, false},
      {"no prefix", both(sig.substr(3), ts), kSlackBody, kSlackTime, false},
      {"bad hex", both("v0=xyz", ts), kSlackBody, kSlackTime, false},
      {"empty", both("", ts), kSlackBody, kSlackTime, false},
      {"huge", both("v0=" + std::string(50000, '0'), ts), kSlackBody, kSlackTime, false},
      {"signature twice",
       {{"X-Slack-Signature", sig}, {"X-Slack-Signature", sig}, {"X-Slack-Request-Timestamp", ts}},
       kSlackBody,
       kSlackTime,
       false},
  };
  run_cases(*v, cases);
  EXPECT_FALSE(make_verifier(source("slack", {"wrong"}))
                   ->verify(headers(both(sig, ts)), kSlackBody, kSlackTime)
                   .accepted);
  EXPECT_TRUE(make_verifier(source("slack", {"old", kSlackSecret}))
                  ->verify(headers(both(sig, ts)), kSlackBody, kSlackTime)
                  .accepted);
}

TEST(Slack, NormalizesEventsCommandsAndInteractivity) {
  auto v = make_verifier(source("slack", {kSlackSecret}));
  auto n = v->normalize(headers({}), R"({"type": "event_callback", "event_id": "Ev08MFMKH6",
    "event": {"type": "message", "subtype": "message_changed", "channel": "C1"}})");
  EXPECT_EQ(n.type, "message");
  EXPECT_EQ(n.action, "message_changed");
  EXPECT_EQ(n.delivery_id, "Ev08MFMKH6");
  EXPECT_FALSE(n.handshake_response);

  n = v->normalize(headers({}), R"({"type": "app_rate_limited", "team_id": "T1"})");
  EXPECT_EQ(n.type, "app_rate_limited");

  n = v->normalize(headers({}), kSlackBody);
  EXPECT_EQ(n.type, "/webhook-collect");
  EXPECT_EQ(n.delivery_id, "");
  n = v->normalize(headers({}), "token=t&command=%2Fdeploy&text=prod+now");
  EXPECT_EQ(n.type, "/deploy");

  n = v->normalize(headers({}),
                   "payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%7B%22action_"
                   "id%22%3A%22approve%22%7D%5D%7D");
  EXPECT_EQ(n.type, "block_actions");
  EXPECT_EQ(n.action, "approve");
  n = v->normalize(headers({}),
                   "payload=%7B%22type%22%3A%22shortcut%22%2C%22callback_id%22%3A"
                   "%22open_ticket%22%7D");
  EXPECT_EQ(n.type, "shortcut");
  EXPECT_EQ(n.action, "open_ticket");

  // Bodies Slack never sends still normalize to something, without throwing.
  for (const char* odd : {"payload=%ZZ", "payload=not-json", "command=%", "", "&&&=", "{",
                          R"({"event": "not an object", "type": "x"})"}) {
    n = v->normalize(headers({}), odd);
    EXPECT_FALSE(n.handshake_response) << odd;
  }
}

TEST(Slack, UrlVerificationIsAHandshake) {
  auto v = make_verifier(source("slack", {kSlackSecret}));
  auto n = v->normalize(headers({}), R"({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
    "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    "type": "url_verification"})");
  ASSERT_TRUE(n.handshake_response);
  auto answer = nlohmann::json::parse(*n.handshake_response);
  EXPECT_EQ(answer, nlohmann::json(
                        {{"challenge", "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}}));
}

// ---- Standard Webhooks -------------------------------------------------------------------------

// The example in the Standard Webhooks specification (also Svix's documented example).
constexpr const char* kStandardSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kStandardId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kStandardTime = 1614265330;
constexpr const char* kStandardBody = R"({"test": 2432232314})";
constexpr const char* kStandardSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

Fields standard_fields(std::string sig, std::string id = kStandardId, std::string ts = "1614265330",
                       std::string_view prefix = "webhook-") {
  std::string p(prefix);
  return {{p + "id", std::move(id)}, {p + "timestamp", std::move(ts)}, {p + "signature", sig}};
}

TEST(Standard, SpecVectorAndForgeries) {
  auto v = make_verifier(source("standard", {kStandardSecret}));
  const std::string sig = kStandardSignature;
  const std::string other = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
  std::vector<Case> cases = {
      {"vector", standard_fields(sig), kStandardBody, kStandardTime, true},
      {"svix names", standard_fields(sig, kStandardId, "1614265330", "svix-"), kStandardBody,
       kStandardTime, true},
      {"mixed case names",
       {{"Webhook-Id", kStandardId},
        {"Webhook-Timestamp", "1614265330"},
        {"Webhook-Signature", sig}},
       kStandardBody,
       kStandardTime,
       true},
      {"second of a list", standard_fields(other + " " + sig), kStandardBody, kStandardTime, true},
      {"after a v1a", standard_fields("v1a,c29tZXRoaW5n " + sig), kStandardBody, kStandardTime,
       true},
      {"300 s old", standard_fields(sig), kStandardBody, kStandardTime + 300, true},
      {"300 s ahead", standard_fields(sig), kStandardBody, kStandardTime - 300, true},
      {"301 s old", standard_fields(sig), kStandardBody, kStandardTime + 301, false},
      {"301 s ahead", standard_fields(sig), kStandardBody, kStandardTime - 301, false},
      {"tampered body", standard_fields(sig), R"({"test": 2432232315})", kStandardTime, false},
      {"other id", standard_fields(sig, "msg_other"), kStandardBody, kStandardTime, false},
      {"other timestamp", standard_fields(sig, kStandardId, "1614265331"), kStandardBody,
       kStandardTime, false},
      {"wrong signature", standard_fields(other), kStandardBody, kStandardTime, false},
      {"only v1a", standard_fields("v1a," + sig.substr(3)), kStandardBody, kStandardTime, false},
      {"no version", standard_fields(sig.substr(3)), kStandardBody, kStandardTime, false},
      {"bad base64", standard_fields("v1,!!!!"), kStandardBody, kStandardTime, false},
      {"empty", standard_fields(""), kStandardBody, kStandardTime, false},
      {"timestamp not a number", standard_fields(sig, kStandardId, "soon"), kStandardBody,
       kStandardTime, false},
      {"missing id",
       {{"webhook-timestamp", "1614265330"}, {"webhook-signature", sig}},
       kStandardBody,
       kStandardTime,
       false},
      {"missing timestamp",
       {{"webhook-id", kStandardId}, {"webhook-signature", sig}},
       kStandardBody,
       kStandardTime,
       false},
      {"missing signature",
       {{"webhook-id", kStandardId}, {"webhook-timestamp", "1614265330"}},
       kStandardBody,
       kStandardTime,
       false},
      {"nothing", {}, kStandardBody, kStandardTime, false},
      {"huge", standard_fields(sig + " v1," + std::string(60000, 'A')), kStandardBody,
       kStandardTime, false},
      {"id twice",
       {{"webhook-id", kStandardId},
        {"webhook-id", "msg_2"},
        {"webhook-timestamp", "1614265330"},
        {"webhook-signature", sig}},
       kStandardBody,
       kStandardTime,
       false},
  };
  run_cases(*v, cases);
}

TEST(Standard, SecretsRotatedPrefixOptionalAndUnusable) {
  auto h = headers(standard_fields(kStandardSignature));
  EXPECT_TRUE(make_verifier(source("standard", {"whsec_c2Vjb25k", kStandardSecret}))
                  ->verify(h, kStandardBody, kStandardTime)
                  .accepted);
  // The key is the decoded base64; the prefix is optional, as in the reference libraries.
  EXPECT_TRUE(make_verifier(source("standard", {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))
                  ->verify(h, kStandardBody, kStandardTime)
                  .accepted);
  EXPECT_FALSE(make_verifier(source("standard", {"whsec_c2Vjb25k"}))
                   ->verify(h, kStandardBody, kStandardTime)
                   .accepted);
  auto unusable = make_verifier(source("standard", {"whsec_not base64!"}));
  auto verdict = unusable->verify(h, kStandardBody, kStandardTime);
  EXPECT_FALSE(verdict.accepted);
  EXPECT_NE(verdict.reason.find("base64"), std::string::npos) << verdict.reason;
}

TEST(Standard, Normalizes) {
  auto v = make_verifier(source("standard", {kStandardSecret}));
  auto n = v->normalize(headers({{"webhook-id", "msg_1"}}), R"({"type": "invoice.paid"})");
  EXPECT_EQ(n.type, "invoice.paid");
  EXPECT_EQ(n.delivery_id, "msg_1");
  n = v->normalize(headers({{"svix-id", "msg_2"}}), R"({"type": "user.created"})");
  EXPECT_EQ(n.type, "user.created");
  EXPECT_EQ(n.delivery_id, "msg_2");
}

// ---- Shopify ---------------------------------------------------------------------------------

// Base64 HMAC-SHA256 of the body under "hush", as computed by Node's crypto module.
constexpr const char* kShopifySecret = "hush";
constexpr const char* kShopifyBody = R"({"id":820982911946154508,"email":"jon@doe.ca"})";
constexpr const char* kShopifyHmac = "fp5HwmAHEVGQQwJU1KRpk57Ts2YHF6/TLOCczCtB5bs=";

TEST(Shopify, VectorAndForgeries) {
  auto v = make_verifier(source("shopify", {kShopifySecret}));
  const std::string sig = kShopifyHmac;
  std::vector<Case> cases = {
      {"vector", {{"X-Shopify-Hmac-Sha256", sig}}, kShopifyBody, 0, true},
      {"unpadded",
       {{"X-Shopify-Hmac-Sha256", sig.substr(0, sig.size() - 1)}},
       kShopifyBody,
       0,
       true},
      {"tampered", {{"X-Shopify-Hmac-Sha256", sig}}, std::string(kShopifyBody) + " ", 0, false},
      {"hex instead",
       {{"X-Shopify-Hmac-Sha256", hex_encode(*base64_decode(sig))}},
       kShopifyBody,
       0,
       false},
      {"bad base64", {{"X-Shopify-Hmac-Sha256", "***"}}, kShopifyBody, 0, false},
      {"missing", {}, kShopifyBody, 0, false},
      {"empty", {{"X-Shopify-Hmac-Sha256", ""}}, kShopifyBody, 0, false},
      {"huge", {{"X-Shopify-Hmac-Sha256", std::string(10000, 'A')}}, kShopifyBody, 0, false},
      {"twice",
       {{"X-Shopify-Hmac-Sha256", sig}, {"X-Shopify-Hmac-Sha256", sig}},
       kShopifyBody,
       0,
       false},
  };
  run_cases(*v, cases);
  Fields good = {{"X-Shopify-Hmac-Sha256", sig}};
  EXPECT_FALSE(
      make_verifier(source("shopify", {"loud"}))->verify(headers(good), kShopifyBody, 0).accepted);
  EXPECT_TRUE(make_verifier(source("shopify", {"loud", kShopifySecret}))
                  ->verify(headers(good), kShopifyBody, 0)
                  .accepted);
}

TEST(Shopify, Normalizes) {
  auto v = make_verifier(source("shopify", {kShopifySecret}));
  auto n = v->normalize(headers({{"X-Shopify-Topic", "orders/create"},
                                 {"X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"}}),
                        kShopifyBody);
  EXPECT_EQ(n.type, "orders/create");
  EXPECT_EQ(n.delivery_id, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
}

// ---- GitLab ----------------------------------------------------------------------------------

TEST(Gitlab, TokenAndForgeries) {
  auto v = make_verifier(source("gitlab", {"s3cret-token"}));
  std::vector<Case> cases = {
      {"token", {{"X-Gitlab-Token", "s3cret-token"}}, "{}", 0, true},
      {"other token", {{"X-Gitlab-Token", "s3cret-tokem"}}, "{}", 0, false},
      {"prefix of token", {{"X-Gitlab-Token", "s3cret"}}, "{}", 0, false},
      {"token and more", {{"X-Gitlab-Token", "s3cret-token "}}, "{}", 0, false},
      {"case differs", {{"X-Gitlab-Token", "S3CRET-TOKEN"}}, "{}", 0, false},
      {"missing", {}, "{}", 0, false},
      {"empty", {{"X-Gitlab-Token", ""}}, "{}", 0, false},
      {"huge", {{"X-Gitlab-Token", std::string(10000, 's')}}, "{}", 0, false},
      {"twice",
       {{"X-Gitlab-Token", "s3cret-token"}, {"X-Gitlab-Token", "s3cret-token"}},
       "{}",
       0,
       false},
  };
  run_cases(*v, cases);
  EXPECT_TRUE(make_verifier(source("gitlab", {"old", "s3cret-token"}))
                  ->verify(headers({{"X-Gitlab-Token", "s3cret-token"}}), "{}", 0)
                  .accepted);
}

TEST(Gitlab, Normalizes) {
  auto v = make_verifier(source("gitlab", {"t"}));
  auto n = v->normalize(headers({{"X-Gitlab-Event", "Merge Request Hook"},
                                 {"X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e"}}),
                        R"({"object_kind": "merge_request",
                            "object_attributes": {"action": "open", "iid": 1}})");
  EXPECT_EQ(n.type, "Merge Request Hook");
  EXPECT_EQ(n.action, "open");
  EXPECT_EQ(n.delivery_id, "13792a34-cac6-4fda-95a8-c58e00a3954e");
  n = v->normalize(headers({{"X-Gitlab-Event", "Push Hook"}}), R"({"object_kind": "push"})");
  EXPECT_EQ(n.type, "Push Hook");
  EXPECT_EQ(n.action, "");
}

// ---- Google Calendar ---------------------------------------------------------------------------

// The notification in Google's guide (Receiving notifications: "Example: Change notification").
const Fields kCalendarNotification = {
    {"Content-Type", "application/json; utf-8"},
    {"X-Goog-Channel-ID", "4ba78bf0-6a47-11e2-bcfd-0800200c9a66"},
    {"X-Goog-Channel-Token", "398348u3tu83ut8uu38"},
    {"X-Goog-Channel-Expiration", "Tue, 19 Nov 2013 01:13:52 GMT"},
    {"X-Goog-Resource-ID", "ret08u3rv24htgh289g"},
    {"X-Goog-Resource-URI",
     "https://www.googleapis.com/calendar/v3/calendars/my_calendar@gmail.com/events"},
    {"X-Goog-Resource-State", "exists"},
    {"X-Goog-Message-Number", "10"}};

Fields calendar_with(const std::string& name, std::optional<std::string> value) {
  Fields out;
  for (const auto& f : kCalendarNotification) {
    if (f.first != name) out.push_back(f);
  }
  if (value) out.emplace_back(name, *value);
  return out;
}

TEST(GoogleCalendar, ChannelTokenAndForgeries) {
  auto v = make_verifier(source("google-calendar", {"398348u3tu83ut8uu38"}));
  std::vector<Case> cases = {
      {"the guide's notification", kCalendarNotification, "", 0, true},
      {"other token", calendar_with("X-Goog-Channel-Token", "398348u3tu83ut8uu39"), "", 0, false},
      {"prefix of token", calendar_with("X-Goog-Channel-Token", "398348"), "", 0, false},
      {"no token (a channel made without one)", calendar_with("X-Goog-Channel-Token", {}), "", 0,
       false},
      {"empty token", calendar_with("X-Goog-Channel-Token", ""), "", 0, false},
      {"no channel", calendar_with("X-Goog-Channel-ID", {}), "", 0, false},
      {"no state", calendar_with("X-Goog-Resource-State", {}), "", 0, false},
      {"huge token", calendar_with("X-Goog-Channel-Token", std::string(10000, '3')), "", 0, false},
  };
  run_cases(*v, cases);
  // Any secret of a rotation.
  EXPECT_TRUE(make_verifier(source("google-calendar", {"next", "398348u3tu83ut8uu38"}))
                  ->verify(headers(kCalendarNotification), "", 0)
                  .accepted);
}

TEST(GoogleCalendar, NormalizesStateAndChannelMessage) {
  auto v = make_verifier(source("google-calendar", {"t"}));
  auto n = v->normalize(headers(kCalendarNotification), "");
  EXPECT_EQ(n.type, "exists");
  EXPECT_EQ(n.delivery_id, "4ba78bf0-6a47-11e2-bcfd-0800200c9a66:10");
  EXPECT_FALSE(n.handshake_response);  // sync is stored, as a notification of its own type
  EXPECT_FALSE(n.acknowledge_with_200);
  n = v->normalize(headers(calendar_with("X-Goog-Resource-State", "sync")), "");
  EXPECT_EQ(n.type, "sync");
  EXPECT_TRUE(n.acknowledge_with_200);  // stored, and answered 200 as Google's guide says
}

// ---- Postmark --------------------------------------------------------------------------------

// The start of the inbound webhook's example in Postmark's documentation.
constexpr const char* kPostmarkInbound =
    R"({"FromName": "Postmarkapp Support", "MessageStream": "inbound",)"
    R"( "From": "support@postmarkapp.com", "To": "\"Firstname Lastname\" <yourhash+SampleHash@inbound.postmarkapp.com>",)"
    R"( "Subject": "Test subject", "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",)"
    R"( "Date": "Sat, 18 Dec 2021 05:18:34 +0000", "TextBody": "This is a test text body."})";

TEST(Postmark, BasicCredentialsAndForgeries) {
  auto v = make_verifier(source("postmark", {"hooks:s3cret pass"}));
  auto basic = [](const std::string& credentials) {
    return Fields{{"Authorization", "Basic " + base64_encode(credentials)}};
  };
  std::vector<Case> cases = {
      {"credentials", basic("hooks:s3cret pass"), kPostmarkInbound, 0, true},
      {"scheme in lowercase",
       {{"Authorization", "basic " + base64_encode("hooks:s3cret pass")}},
       kPostmarkInbound,
       0,
       true},
      {"other password", basic("hooks:s3cret pasS"), kPostmarkInbound, 0, false},
      {"other user", basic("hook:s3cret pass"), kPostmarkInbound, 0, false},
      {"user only", basic("hooks"), kPostmarkInbound, 0, false},
      {"bearer",
       {{"Authorization", "Bearer aG9va3M6czNjcmV0IHBhc3M="}},
       kPostmarkInbound,
       0,
       false},
      {"not base64", {{"Authorization", "Basic hooks:s3cret pass"}}, kPostmarkInbound, 0, false},
      {"missing", {}, kPostmarkInbound, 0, false},
      {"twice",
       {{"Authorization", "Basic " + base64_encode("hooks:s3cret pass")},
        {"Authorization", "Basic " + base64_encode("hooks:s3cret pass")}},
       kPostmarkInbound,
       0,
       false},
  };
  run_cases(*v, cases);
}

TEST(Postmark, NormalizesInboundAndOtherRecords) {
  auto v = make_verifier(source("postmark", {"a:b"}));
  auto n = v->normalize(headers({}), kPostmarkInbound);
  EXPECT_EQ(n.type, "email.received");
  EXPECT_EQ(n.delivery_id, "73e6d360-66eb-11e1-8e72-a8904824019b");
  n = v->normalize(headers({}), R"({"RecordType": "Bounce", "MessageID": "883953f4", "ID": 42})");
  EXPECT_EQ(n.type, "email.bounce");
  EXPECT_EQ(n.delivery_id, "");  // each bounce, open or click told apart by its bytes
}

// ---- Repeated headers ------------------------------------------------------------------------

// A delivery that verifies, then the same delivery with one of its signature, timestamp or id
// headers sent a second time, the valid copy first: refused, and the sender is told which header
// (a second copy after the checked one is what a proxy or an attacker would add).
TEST(AllProviders, RefuseEachSignatureHeaderSentTwiceNamingIt) {
  struct Delivery {
    const char* provider;
    config::Source source;
    Fields fields;
    std::string body;
    int64_t now_s;
    std::vector<std::string> repeatable;  // the headers that must appear once
  };
  config::Source hmac_source = source("hmac", {"k"});
  hmac_source.header = "X-Signature";
  hmac_source.prefix = "sha256=";
  hmac_source.timestamp_header = "X-Timestamp";
  const std::string hmac_body = R"({"type":"build.done"})";
  const std::string hmac_sig =
      "sha256=" + hex_encode(hmac(Digest::kSha256, "k", "1000." + hmac_body));
  const std::vector<Delivery> deliveries = {
      {"github",
       source("github", {"It's a Secret to Everybody"}),
       {{"X-Hub-Signature-256",
         "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}},
       "Hello, World!",
       0,
       {"X-Hub-Signature-256"}},
      {"github sha1",
       source("github", {"It's a Secret to Everybody"}),
       {{"X-Hub-Signature",
         "sha1=" + hex_encode(hmac(Digest::kSha1, "It's a Secret to Everybody", "Hello, World!"))}},
       "Hello, World!",
       0,
       {"X-Hub-Signature"}},
      {"stripe",
       source("stripe", {kStripeSecret}),
       {{"Stripe-Signature", "t=" + std::to_string(kStripeTime) + ",v1=" + kStripeV1}},
       kStripeBody,
       kStripeTime,
       {"Stripe-Signature"}},
      {"slack",
       source("slack", {kSlackSecret}),
       {{"X-Slack-Signature", kSlackSignature}, {"X-Slack-Request-Timestamp", "1531420618"}},
       kSlackBody,
       kSlackTime,
       {"X-Slack-Signature", "X-Slack-Request-Timestamp"}},
      {"standard",
       source("standard", {kStandardSecret}),
       standard_fields(kStandardSignature),
       kStandardBody,
       kStandardTime,
       {"webhook-id", "webhook-timestamp", "webhook-signature"}},
      {"svix",
       source("standard", {kStandardSecret}),
       standard_fields(kStandardSignature, kStandardId, "1614265330", "svix-"),
       kStandardBody,
       kStandardTime,
       {"svix-id", "svix-timestamp", "svix-signature"}},
      {"shopify",
       source("shopify", {kShopifySecret}),
       {{"X-Shopify-Hmac-Sha256", kShopifyHmac}},
       kShopifyBody,
       0,
       {"X-Shopify-Hmac-Sha256"}},
      {"gitlab",
       source("gitlab", {"s3cret-token"}),
       {{"X-Gitlab-Token", "s3cret-token"}},
       "{}",
       0,
       {"X-Gitlab-Token"}},
      {"google-calendar",
       source("google-calendar", {"398348u3tu83ut8uu38"}),
       kCalendarNotification,
       "",
       0,
       {"X-Goog-Channel-Token", "X-Goog-Channel-ID", "X-Goog-Resource-State",
        "X-Goog-Message-Number"}},
      {"postmark",
       source("postmark", {"hooks:pass"}),
       {{"Authorization", "Basic aG9va3M6cGFzcw=="}},
       kPostmarkInbound,
       0,
       {"Authorization"}},
      {"hmac",
       hmac_source,
       {{"X-Signature", hmac_sig}, {"X-Timestamp", "1000"}},
       hmac_body,
       1000,
       {"X-Signature", "X-Timestamp"}},
  };
  for (const auto& d : deliveries) {
    auto v = make_verifier(d.source);
    auto once = v->verify(headers(d.fields), d.body, d.now_s);
    EXPECT_TRUE(once.accepted) << d.provider << ": " << once.reason;
    for (const auto& name : d.repeatable) {
      const auto original = headers(d.fields);
      auto value = original.get(name);
      ASSERT_TRUE(value) << d.provider << " " << name;
      // The second copy the same, forged, or named in another case (names are case-insensitive).
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::pair<std::string, std::string> seconds[] = {
          {name, std::string(*value)}, {name, "forged"}, {lower, "forged"}};
      for (const auto& second : seconds) {
        Fields twice = d.fields;
        twice.push_back(second);
        auto verdict = v->verify(headers(twice), d.body, d.now_s);
        EXPECT_FALSE(verdict.accepted) << d.provider << ": " << second.first << " twice";
        EXPECT_TRUE(verdict.reason_public) << d.provider << ": " << verdict.reason;
        EXPECT_NE(verdict.reason.find(name), std::string::npos)
            << d.provider << ": " << verdict.reason;
      }
    }
  }
}

// A refusal that names no header tells the sender nothing: only the log has the reason.
TEST(AllProviders, SignatureReasonsStayPrivate) {
  auto v = make_verifier(source("github", {"It's a Secret to Everybody"}));
  auto verdict = v->verify(headers({{"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}}),
                           "Hello, World!", 0);
  EXPECT_FALSE(verdict.accepted);
  EXPECT_FALSE(verdict.reason_public);
}

// Whatever arrives in the signature headers and the body, every verifier answers with a
// verdict (a rejection) and every normalizer with a value: no crash, no exception.
TEST(AllProviders, SurviveGarbage) {
  std::mt19937 rng(20261129);
  const std::string alphabet = "tv01=,. \t:+/%&_-whsecABCxyz\xff\x00";
  auto garbage = [&](size_t max) {
    std::string out(std::uniform_int_distribution<size_t>(0, max)(rng), '\0');
    for (auto& c : out)
      c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
    return out;
  };
  const char* names[] = {"Stripe-Signature",
                         "X-Slack-Signature",
                         "X-Slack-Request-Timestamp",
                         "webhook-id",
                         "webhook-timestamp",
                         "webhook-signature",
                         "svix-id",
                         "svix-timestamp",
                         "svix-signature",
                         "X-Shopify-Hmac-Sha256",
                         "X-Gitlab-Token",
                         "X-Hub-Signature-256",
                         "X-Goog-Channel-Token",
                         "X-Goog-Channel-ID",
                         "X-Goog-Resource-State",
                         "X-Goog-Message-Number",
                         "Authorization"};
  for (const char* provider : {"stripe", "slack", "standard", "shopify", "gitlab", "github",
                               "google-calendar", "postmark"}) {
    auto v = make_verifier(source(provider, {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}));
    for (int i = 0; i < 2000; ++i) {
      Fields fields;
      for (const char* name : names) {
        if (rng() % 2) fields.emplace_back(name, garbage(i % 100 == 0 ? 9000 : 80));
      }
      std::string body = garbage(200);
      if (i % 3 == 0) body = "payload=" + body;
      if (i % 3 == 1) body = "command=" + body;
      auto verdict = v->verify(headers(fields), body, 1700000000);
      EXPECT_FALSE(verdict.accepted) << provider;
      auto n = v->normalize(headers(fields), body);
      EXPECT_FALSE(n.handshake_response) << provider;
    }
  }
}

TEST(MakeVerifier, EveryProviderHasOne) {
  for (const char* provider : config::kProviders) {
    auto s = source(provider, {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"});
    s.header = "X-Signature";
    EXPECT_NE(make_verifier(s), nullptr) << provider;
  }
}

}  // namespace
}  // namespace hookmcp::verify
