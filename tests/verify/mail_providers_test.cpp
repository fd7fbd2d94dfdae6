// The email and calendar providers that need more than a header compared: Microsoft Graph's
// batches and validation, Mailgun's HMAC with its replay cache, SendGrid's ECDSA, the OIDC token
// of Gmail's Pub/Sub push and Amazon SNS's certificate signatures. Keys are made per test and the
// network is a map of URLs, so every forgery class is tried without leaving the process.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/crypto.hpp"
#include "hookmcp/verify/sign.hpp"
#include "hookmcp/verify/verifier.hpp"

namespace hookmcp::verify {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1764720000;  // 2025-12-03

config::Source source(const std::string& provider, std::vector<std::string> secrets = {}) {
  config::Source s;
  s.name = provider;
  s.provider = provider;
  for (auto& v : secrets) s.secrets.push_back({v, v});
  return s;
}

Headers headers(std::initializer_list<std::pair<std::string, std::string>> fields) {
  Headers h;
  for (const auto& [k, v] : fields) h.add(k, v);
  return h;
}

// The network a verifier sees: URL to document, and the URLs asked for.
struct FakeNet {
  std::map<std::string, std::string> documents;
  std::vector<std::string> asked;
  Fetch fetch() {
    return [this](const std::string& url) -> Result<std::string> {
      asked.push_back(url);
      auto it = documents.find(url);
      if (it == documents.end()) return make_error(ErrorCode::kIo, url + " answered 404");
      return it->second;
    };
  }
};

// ---- Microsoft Graph -------------------------------------------------------------------------

// The shape of Graph's example notification (change-notifications-delivery-webhooks).
std::string graph_item(const std::string& state, const std::string& change,
                       const std::string& message) {
  return json{{"subscriptionId", "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"},
              {"subscriptionExpirationDateTime", "2026-12-05T11:00:00.0000000Z"},
              {"changeType", change},
              {"resource", "Users/{user_guid}/Messages/" + message},
              {"resourceData",
               {{"@odata.type", "#Microsoft.Graph.Message"},
                {"@odata.id", "Users/{user_guid}/Messages/" + message},
                {"@odata.etag", "W/\"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf\""},
                {"id", message}}},
              {"clientState", state},
              {"tenantId", "84bd8158-6d4d-4958-8b9f-9d6445542f95"}}
      .dump();
}

TEST(MsGraph, EveryItemCarriesTheClientState) {
  auto v = make_verifier(source("msgraph", {"secretClientValue"}));
  auto batch = [](std::vector<std::string> items) {
    std::string out = R"({"value":[)";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
    return out + "]}";
  };
  const std::string good = graph_item("secretClientValue", "created", "m1");
  EXPECT_TRUE(v->verify({}, batch({good}), kNow).accepted);
  EXPECT_TRUE(v->verify({}, batch({good, graph_item("secretClientValue", "updated", "m2")}), kNow)
                  .accepted);
  // One forged item refuses the request.
  EXPECT_FALSE(v->verify({}, batch({good, graph_item("secretClientValuf", "updated", "m2")}), kNow)
                   .accepted);
  json no_state = json::parse(good);
  no_state.erase("clientState");
  EXPECT_FALSE(v->verify({}, batch({good, no_state.dump()}), kNow).accepted);
  EXPECT_FALSE(v->verify({}, batch({}), kNow).accepted);
  EXPECT_FALSE(v->verify({}, R"({"value":"x"})", kNow).accepted);
  EXPECT_FALSE(v->verify({}, "not json", kNow).accepted);
  EXPECT_FALSE(v->verify({}, batch({"1"}), kNow).accepted);
}

TEST(MsGraph, ABatchIsOneEventPerNotificationWithoutTheSecret) {
  auto v = make_verifier(source("msgraph", {"s"}));
  json lifecycle = {{"subscriptionId", "sub-1"},
                    {"subscriptionExpirationDateTime", "2026-12-05T11:00:00Z"},
                    {"tenantId", "t"},
                    {"clientState", "s"},
                    {"lifecycleEvent", "reauthorizationRequired"}};
  const std::string body = R"({"value":[)" + graph_item("s", "created", "m1") + "," +
                           graph_item("s", "updated", "m1") + "," + lifecycle.dump() + "]}";
  auto n = v->normalize({}, body);
  ASSERT_EQ(n.items.size(), 3u);
  EXPECT_EQ(n.items[0].type, "created");
  EXPECT_EQ(n.items[1].type, "updated");
  EXPECT_EQ(n.items[2].type, "reauthorizationRequired");
  EXPECT_NE(n.items[0].delivery_id, n.items[1].delivery_id);  // same resource, other change
  EXPECT_EQ(n.items[2].delivery_id, "sub-1:reauthorizationRequired:2026-12-05T11:00:00Z");
  for (const auto& item : n.items) {
    EXPECT_EQ(item.body.find("\"s\""), std::string::npos) << item.body;
    EXPECT_EQ(json::parse(item.body)["clientState"], "[redacted]");
  }
  EXPECT_EQ(json::parse(n.items[0].body)["resourceData"]["id"], "m1");
}

TEST(MsGraph, ValidationTokenIsEchoedDecoded) {
  auto v = make_verifier(source("msgraph", {"s"}));
  EXPECT_EQ(v->validation("validationToken=Validation%3A+Testing+client+application"),
            "Validation: Testing client application");
  EXPECT_EQ(v->validation("a=1&validationToken=abc"), "abc");
  EXPECT_FALSE(v->validation(""));
  EXPECT_FALSE(v->validation("validationToken="));
  EXPECT_FALSE(v->validation("validationToken=%zz"));
  EXPECT_FALSE(v->validation("validationToken=" + std::string(5000, 'a')));
  // Only Graph sources answer it.
  EXPECT_FALSE(make_verifier(source("postmark", {"a:b"}))->validation("validationToken=abc"));
}

// ---- Mailgun ---------------------------------------------------------------------------------

std::string mailgun_signature(const std::string& key, const std::string& ts,
                              const std::string& token) {
  return hex_encode(hmac(Digest::kSha256, key, ts + token));
}

TEST(Mailgun, SignedJsonAndFormsRefusingReplaysAndStaleTimestamps) {
  const std::string key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
  auto v = make_verifier(source("mailgun", {key}));
  auto json_body = [&](const std::string& ts, const std::string& token, const std::string& sig) {
    return json{{"signature", {{"timestamp", ts}, {"token", token}, {"signature", sig}}},
                {"event-data", {{"event", "delivered"}, {"id", "CPgfbmQMTCKtHW6uIWtuVe"}}}}
        .dump();
  };
  const std::string ts = std::to_string(kNow);
  const std::string token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
  const std::string body = json_body(ts, token, mailgun_signature(key, ts, token));
  EXPECT_TRUE(v->verify({}, body, kNow).accepted);
  auto replay = v->verify({}, body, kNow + 1);
  EXPECT_FALSE(replay.accepted);
  EXPECT_NE(replay.reason.find("replay"), std::string::npos) << replay.reason;

  const std::string token2 = "b8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
  EXPECT_FALSE(
      v->verify({}, json_body(ts, token2, mailgun_signature("other", ts, token2)), kNow).accepted);
  EXPECT_FALSE(v->verify({}, json_body(ts, token2, mailgun_signature(key, ts, token)), kNow)
                   .accepted);  // another token's signature
  const std::string old = std::to_string(kNow - 301);
  EXPECT_FALSE(
      v->verify({}, json_body(old, token2, mailgun_signature(key, old, token2)), kNow).accepted);
  EXPECT_FALSE(v->verify({}, R"({"event-data":{}})", kNow).accepted);  // unsigned

  // An inbound route's form, urlencoded and multipart.
  const std::string token3 = "c8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
  const std::string form = "timestamp=" + ts + "&token=" + token3 +
                           "&signature=" + mailgun_signature(key, ts, token3) +
                           "&Message-Id=%3C20261203.1%40mail.example.com%3E&subject=Hi";
  auto urlencoded = headers({{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_TRUE(v->verify(urlencoded, form, kNow).accepted);
  auto n = v->normalize(urlencoded, form);
  EXPECT_EQ(n.type, "email.received");
  EXPECT_EQ(n.delivery_id, "<20261203.1@mail.example.com>");

  const std::string token4 = "d8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
  auto part = [](const std::string& name, const std::string& value) {
    return "--XyZ\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value +
           "\r\n";
  };
  const std::string multipart = part("timestamp", ts) + part("token", token4) +
                                part("signature", mailgun_signature(key, ts, token4)) +
                                part("Message-Id", "<m4@example.com>") + "--XyZ--\r\n";
  auto multi = headers({{"Content-Type", "multipart/form-data; boundary=XyZ"}});
  EXPECT_TRUE(v->verify(multi, multipart, kNow).accepted);
  EXPECT_EQ(v->normalize(multi, multipart).delivery_id, "<m4@example.com>");
  // The same form declared as another type carries no fields.
  EXPECT_FALSE(v->verify(headers({{"Content-Type", "text/plain"}}), multipart, kNow).accepted);

  auto event = v->normalize({}, body);
  EXPECT_EQ(event.type, "email.delivered");
  EXPECT_EQ(event.delivery_id, "CPgfbmQMTCKtHW6uIWtuVe");
}

// ---- SendGrid --------------------------------------------------------------------------------

TEST(SendGrid, EcdsaOverTimestampAndBody) {
  auto key = PrivateKey::generate("ec-p256");
  ASSERT_TRUE(key);
  config::Source s = source("sendgrid");
  s.public_key = base64_encode(key->public_der());
  auto v = make_verifier(s);
  const std::string body =
      R"([{"email":"a@example.com","event":"processed","sg_event_id":"ev1","timestamp":1},)"
      R"({"email":"a@example.com","event":"delivered","sg_event_id":"ev2","timestamp":2}])";
  const std::string ts = std::to_string(kNow);
  auto signed_by = [&](const PrivateKey& k, const std::string& t, const std::string& b) {
    return headers({{"Content-Type", "application/json"},
                    {"X-Twilio-Email-Event-Webhook-Signature",
                     base64_encode(k.sign(Digest::kSha256, t + b).value())},
                    {"X-Twilio-Email-Event-Webhook-Timestamp", t}});
  };
  EXPECT_TRUE(v->verify(signed_by(*key, ts, body), body, kNow).accepted);
  auto other = PrivateKey::generate("ec-p256");
  EXPECT_FALSE(v->verify(signed_by(*other, ts, body), body, kNow).accepted);  // wrong key
  Headers moved = signed_by(*key, ts, body);
  moved = headers({{"X-Twilio-Email-Event-Webhook-Signature",
                    std::string(moved.get("X-Twilio-Email-Event-Webhook-Signature").value())},
                   {"X-Twilio-Email-Event-Webhook-Timestamp", std::to_string(kNow + 1)}});
  EXPECT_FALSE(v->verify(moved, body, kNow).accepted);  // another timestamp
  EXPECT_FALSE(v->verify(signed_by(*key, ts, body), body + " ", kNow).accepted);  // tampered
  EXPECT_FALSE(v->verify({}, body, kNow).accepted);                               // unsigned

  // The key as PEM works as well; an RSA key does not.
  config::Source pem = source("sendgrid");
  pem.public_key = "-----BEGIN PUBLIC KEY-----\n" + base64_encode(key->public_der()) +
                   "\n-----END PUBLIC KEY-----\n";
  EXPECT_TRUE(make_verifier(pem)->verify(signed_by(*key, ts, body), body, kNow).accepted);
  auto rsa = PrivateKey::generate("rsa-2048");
  config::Source wrong = source("sendgrid");
  wrong.public_key = base64_encode(rsa->public_der());
  EXPECT_FALSE(make_verifier(wrong)->verify(signed_by(*key, ts, body), body, kNow).accepted);

  auto n = v->normalize(headers({{"Content-Type", "application/json"}}), body);
  ASSERT_EQ(n.items.size(), 2u);
  EXPECT_EQ(n.items[0].type, "email.processed");
  EXPECT_EQ(n.items[1].delivery_id, "ev2");
}

TEST(SendGrid, InboundParseIsOneMailNamedByItsMessageId) {
  auto v = make_verifier(source("sendgrid"));
  const std::string body =
      "--xYzZY\r\nContent-Disposition: form-data; name=\"headers\"\r\n\r\n"
      "Received: by mx.sendgrid.net\r\nMessage-ID: <CAF=abc@mail.gmail.com>\r\nSubject: Hi\r\n"
      "\r\n--xYzZY\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nHi\r\n--xYzZY--\r\n";
  auto n = v->normalize(headers({{"Content-Type", "multipart/form-data; boundary=xYzZY"}}), body);
  EXPECT_EQ(n.type, "email.received");
  EXPECT_EQ(n.delivery_id, "<CAF=abc@mail.gmail.com>");
  EXPECT_TRUE(n.items.empty());
}

// ---- Gmail (Pub/Sub push) --------------------------------------------------------------------

struct Google {
  PrivateKey key = PrivateKey::generate("rsa-2048").value();
  FakeNet net;
  std::string jwks_url = "https://www.googleapis.com/oauth2/v3/certs";
  Google() {
    auto numbers = key.rsa_numbers().value();
    json jwk = {{"kty", "RSA"},
                {"alg", "RS256"},
                {"use", "sig"},
                {"kid", key_id(key)},
                {"n", base64url_encode(numbers.first)},
                {"e", base64url_encode(numbers.second)}};
    net.documents[jwks_url] = json{{"keys", {jwk}}}.dump();
  }
  config::Source source() const {
    config::Source s = verify::source("gmail");
    s.audience = "https://hooks.example.com/hooks/gmail";
    s.service_account = "gmail-push@project.iam.gserviceaccount.com";
    return s;
  }
  std::string token(json claims, const PrivateKey* signer = nullptr,
                    std::string alg = "RS256") const {
    json header = {{"alg", alg}, {"kid", key_id(key)}, {"typ", "JWT"}};
    std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
    auto sig = (signer ? *signer : key).sign(Digest::kSha256, input).value();
    return input + "." + base64url_encode(sig);
  }
  json claims() const {
    return {{"aud", "https://hooks.example.com/hooks/gmail"},
            {"azp", "113774264463038321964"},
            {"email", "gmail-push@project.iam.gserviceaccount.com"},
            {"email_verified", true},
            {"exp", kNow + 3600},
            {"iat", kNow},
            {"iss", "https://accounts.google.com"},
            {"sub", "113774264463038321964"}};
  }
};

constexpr const char* kPushBody =
    R"({"message":{"data":"eyJlbWFpbEFkZHJlc3MiOiJ1c2VyQGV4YW1wbGUuY29tIiwiaGlzdG9yeUlkIjoiOTg3NjU0MzIxMCJ9",)"
    R"("messageId":"2070443601311540","publishTime":"2021-02-26T19:13:55.749Z"},)"
    R"("subscription":"projects/myproject/subscriptions/mysubscription"})";

TEST(Gmail, PubSubTokenFromTheConfiguredAccountAndAudience) {
  Google google;
  auto v = make_verifier(google.source(), google.net.fetch());
  auto bearer = [](const std::string& token) {
    return headers({{"Authorization", "Bearer " + token}});
  };
  auto with = [&](const char* name, json value) {
    json c = google.claims();
    if (value.is_null()) {
      c.erase(name);
    } else {
      c[name] = value;
    }
    return bearer(google.token(c));
  };
  Headers good = bearer(google.token(google.claims()));
  EXPECT_TRUE(v->may_block(good, kPushBody));  // no keys held yet
  EXPECT_TRUE(v->verify(good, kPushBody, kNow).accepted);
  EXPECT_FALSE(v->may_block(good, kPushBody));
  EXPECT_TRUE(v->verify(with("iss", "accounts.google.com"), kPushBody, kNow).accepted);

  EXPECT_FALSE(v->verify(with("aud", "https://other.example.com"), kPushBody, kNow).accepted);
  EXPECT_FALSE(
      v->verify(with("email", "attacker@evil.iam.gserviceaccount.com"), kPushBody, kNow).accepted);
  EXPECT_FALSE(v->verify(with("email_verified", false), kPushBody, kNow).accepted);
  EXPECT_FALSE(v->verify(with("iss", "https://evil.example.com"), kPushBody, kNow).accepted);
  EXPECT_FALSE(v->verify(with("exp", kNow - 120), kPushBody, kNow).accepted);
  EXPECT_FALSE(v->verify(with("exp", nullptr), kPushBody, kNow).accepted);
  EXPECT_FALSE(v->verify(with("iat", kNow + 600), kPushBody, kNow).accepted);
  auto stranger = PrivateKey::generate("rsa-2048").value();
  EXPECT_FALSE(
      v->verify(bearer(google.token(google.claims(), &stranger)), kPushBody, kNow).accepted);
  EXPECT_FALSE(v->verify({}, kPushBody, kNow).accepted);
  EXPECT_FALSE(v->verify(headers({{"Authorization", "Basic YTpi"}}), kPushBody, kNow).accepted);
  // alg none and HS256 (the public key as an HMAC secret) are refused before any key is used.
  json none_header = {{"alg", "none"}};
  EXPECT_FALSE(v->verify(bearer(base64url_encode(none_header.dump()) + "." +
                                base64url_encode(google.claims().dump()) + "."),
                         kPushBody, kNow)
                   .accepted);
  EXPECT_FALSE(
      v->verify(bearer(google.token(google.claims(), nullptr, "HS256")), kPushBody, kNow).accepted);
  // One fetch of the keys for all of it.
  EXPECT_EQ(google.net.asked.size(), 1u);
}

TEST(Gmail, KeysThatCannotBeFetchedAskTheSenderToRetry) {
  Google google;
  google.net.documents.clear();
  auto v = make_verifier(google.source(), google.net.fetch());
  auto verdict = v->verify(headers({{"Authorization", "Bearer " + google.token(google.claims())}}),
                           kPushBody, kNow);
  EXPECT_FALSE(verdict.accepted);
  EXPECT_TRUE(verdict.unavailable) << verdict.reason;
}

TEST(Gmail, NormalizesToTheHistoryMessage) {
  Google google;
  auto n = make_verifier(google.source(), google.net.fetch())->normalize({}, kPushBody);
  EXPECT_EQ(n.type, "gmail.history");
  EXPECT_EQ(n.delivery_id, "2070443601311540");
}

// ---- Amazon SNS ------------------------------------------------------------------------------

struct Amazon {
  PrivateKey key = PrivateKey::generate("rsa-2048").value();
  FakeNet net;
  std::string cert_url =
      "https://sns.us-west-2.amazonaws.com/"
      "SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem";
  std::string topic = "arn:aws:sns:us-west-2:123456789012:MyTopic";
  Amazon() {
    net.documents[cert_url] = key.self_signed_certificate("sns.amazonaws.com", 30).value();
  }
  config::Source source() const {
    config::Source s = verify::source("sns");
    s.topic_arns = {topic};
    return s;
  }
  // The message as SNS sends it, signed with version 1 or 2 by `signer` (this key if null).
  std::string message(json m, const std::string& version = "2", const PrivateKey* signer = nullptr,
                      const std::string& url = "") const {
    m["SignatureVersion"] = version;
    m["SigningCertURL"] = url.empty() ? cert_url : url;
    std::string text;
    std::vector<const char*> names =
        m["Type"] == "Notification"
            ? std::vector<const char*>{"Message",   "MessageId", "Subject",
                                       "Timestamp", "TopicArn",  "Type"}
            : std::vector<const char*>{"Message", "MessageId", "SubscribeURL", "Timestamp",
                                       "Token",   "TopicArn",  "Type"};
    for (const char* name : names) {
      if (m.contains(name)) text += std::string(name) + "\n" + m[name].get<std::string>() + "\n";
    }
    auto sig = (signer ? *signer : key)
                   .sign(version == "1" ? Digest::kSha1 : Digest::kSha256, text)
                   .value();
    m["Signature"] = base64_encode(sig);
    return m.dump();
  }
  json notification() const {
    return {{"Type", "Notification"},
            {"MessageId", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"},
            {"TopicArn", topic},
            {"Subject", "My First Message"},
            {"Message", "Hello world!"},
            {"Timestamp", "2012-05-02T00:54:06.655Z"},
            {"UnsubscribeURL", "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe"}};
  }
};

TEST(Sns, SignatureVersionsOneAndTwoFromAmazonsHostsOnly) {
  Amazon amazon;
  auto v = make_verifier(amazon.source(), amazon.net.fetch());
  const std::string v2 = amazon.message(amazon.notification(), "2");
  EXPECT_TRUE(v->may_block({}, v2));
  EXPECT_TRUE(v->verify({}, v2, kNow).accepted);
  EXPECT_FALSE(v->may_block({}, v2));  // the certificate is kept
  EXPECT_TRUE(v->verify({}, amazon.message(amazon.notification(), "1"), kNow).accepted);
  json no_subject = amazon.notification();
  no_subject.erase("Subject");
  EXPECT_TRUE(v->verify({}, amazon.message(no_subject), kNow).accepted);
  EXPECT_EQ(amazon.net.asked.size(), 1u);

  json tampered = json::parse(v2);
  tampered["Message"] = "Hello world?";
  EXPECT_FALSE(v->verify({}, tampered.dump(), kNow).accepted);
  auto stranger = PrivateKey::generate("rsa-2048").value();
  EXPECT_FALSE(v->verify({}, amazon.message(amazon.notification(), "2", &stranger), kNow).accepted);
  json other_topic = amazon.notification();
  other_topic["TopicArn"] = "arn:aws:sns:us-west-2:999999999999:Theirs";
  EXPECT_FALSE(v->verify({}, amazon.message(other_topic), kNow).accepted);
  EXPECT_FALSE(v->verify({}, amazon.message(amazon.notification(), "3"), kNow).accepted);
  // A certificate from anywhere but sns.REGION.amazonaws.com over https is never fetched.
  const size_t asked = amazon.net.asked.size();
  for (const std::string url :
       {"http://sns.us-west-2.amazonaws.com/cert.pem", "https://evil.com/cert.pem",
        "https://sns.us-west-2.amazonaws.com.evil.com/cert.pem",
        "https://sns.evil.com/x.amazonaws.com/cert.pem",
        "https://sqs.us-west-2.amazonaws.com/c.pem", "https://sns.us-west-2.amazonaws.com/cert.txt",
        "https://user@sns.us/.amazonaws.com/c.pem"}) {
    amazon.net.documents[url] = amazon.net.documents[amazon.cert_url];
    EXPECT_FALSE(
        v->verify({}, amazon.message(amazon.notification(), "2", nullptr, url), kNow).accepted)
        << url;
  }
  EXPECT_EQ(amazon.net.asked.size(), asked);
  EXPECT_FALSE(v->verify({}, R"({"Type":"Notification"})", kNow).accepted);  // unsigned
}

TEST(Sns, AnyTopicWithAStarAndACertificatePrefixForTests) {
  Amazon amazon;
  config::Source s = amazon.source();
  s.topic_arns = {"*"};
  s.cert_url_prefix = "http://127.0.0.1:9000/certs/";
  amazon.net.documents["http://127.0.0.1:9000/certs/c.pem"] = amazon.net.documents[amazon.cert_url];
  auto v = make_verifier(s, amazon.net.fetch());
  json other_topic = amazon.notification();
  other_topic["TopicArn"] = "arn:aws:sns:eu-west-1:1:Any";
  EXPECT_TRUE(
      v->verify({}, amazon.message(other_topic, "2", nullptr, "http://127.0.0.1:9000/certs/c.pem"),
                kNow)
          .accepted);
  // With a prefix, Amazon's own hosts are no longer accepted.
  EXPECT_FALSE(v->verify({}, amazon.message(other_topic), kNow).accepted);
}

TEST(Sns, SubscriptionConfirmationAndSesNotifications) {
  Amazon amazon;
  config::Source s = amazon.source();
  s.auto_confirm = true;
  auto v = make_verifier(s, amazon.net.fetch());
  json confirmation = {
      {"Type", "SubscriptionConfirmation"},
      {"MessageId", "165545c9-2a5c-472c-8df2-7ff2be2b3b1b"},
      {"Token",
       "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e28"
       "5d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e057"
       "98d2d2785c03b0879594eeac82c01f235d0e717736"},
      {"TopicArn", amazon.topic},
      {"Message", "You have chosen to subscribe to the topic."},
      {"SubscribeURL",
       "https://sns.us-west-2.amazonaws.com/"
       "?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token="
       "2336412f37"},
      {"Timestamp", "2012-04-26T20:45:04.751Z"}};
  const std::string body = amazon.message(confirmation);
  EXPECT_TRUE(v->verify({}, body, kNow).accepted);
  auto n = v->normalize({}, body);
  EXPECT_EQ(n.type, "subscription_confirmation");
  EXPECT_EQ(n.confirm_url, confirmation["SubscribeURL"]);
  EXPECT_EQ(n.delivery_id, "165545c9-2a5c-472c-8df2-7ff2be2b3b1b");
  // Without auto_confirm it is stored for a person to confirm.
  EXPECT_TRUE(
      make_verifier(amazon.source(), amazon.net.fetch())->normalize({}, body).confirm_url.empty());
  // A signed confirmation whose SubscribeURL leaves Amazon is refused: it would be fetched.
  confirmation["SubscribeURL"] = "https://evil.example.com/?Action=ConfirmSubscription";
  EXPECT_FALSE(v->verify({}, amazon.message(confirmation), kNow).accepted);

  json ses = amazon.notification();
  ses["Message"] = R"({"notificationType":"Received","mail":{"messageId":"o3vrnil0e2ic28tr"}})";
  EXPECT_EQ(v->normalize({}, amazon.message(ses)).type, "Received");
  EXPECT_EQ(v->normalize({}, amazon.message(amazon.notification())).type, "Notification");
}

TEST(Sns, ACertificateThatCannotBeFetchedAsksTheSenderToRetry) {
  Amazon amazon;
  const std::string body = amazon.message(amazon.notification());
  amazon.net.documents.clear();
  auto verdict = make_verifier(amazon.source(), amazon.net.fetch())->verify({}, body, kNow);
  EXPECT_FALSE(verdict.accepted);
  EXPECT_TRUE(verdict.unavailable) << verdict.reason;
}

// ---- hookmcp send's signing, checked by the verifiers ----------------------------------------

TEST(SignMail, EveryKeyedProviderRoundTrips) {
  // sendgrid
  auto files = new_key_files("sendgrid").value();
  ASSERT_EQ(files.size(), 2u);
  config::Source sg = source("sendgrid");
  sg.public_key = files[1].text;
  SignRequest r;
  r.provider = "sendgrid";
  r.private_key = files[0].text;
  r.body = R"([{"event":"open","sg_event_id":"x"}])";
  r.now_s = kNow;
  EXPECT_TRUE(make_verifier(sg)->verify(sign(r).value(), r.body, kNow).accepted);

  // gmail, with the JWKS new_key_files wrote
  files = new_key_files("gmail").value();
  FakeNet net;
  net.documents["https://keys.example/jwks.json"] = files[1].text;
  config::Source gm = source("gmail");
  gm.audience = "aud";
  gm.service_account = "sa@p.iam.gserviceaccount.com";
  gm.jwks_url = "https://keys.example/jwks.json";
  r = SignRequest{};
  r.provider = "gmail";
  r.private_key = files[0].text;
  r.audience = gm.audience;
  r.service_account = gm.service_account;
  r.body = kPushBody;
  r.now_s = kNow;
  EXPECT_TRUE(make_verifier(gm, net.fetch())->verify(sign(r).value(), r.body, kNow).accepted);

  // sns, with the certificate new_key_files wrote
  files = new_key_files("sns").value();
  net.documents["https://sns.eu-west-1.amazonaws.com/c.pem"] = files[1].text;
  config::Source sns = source("sns");
  sns.topic_arns = {"arn:aws:sns:eu-west-1:1:t"};
  r = SignRequest{};
  r.provider = "sns";
  r.private_key = files[0].text;
  r.cert_url = "https://sns.eu-west-1.amazonaws.com/c.pem";
  r.body = R"({"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:eu-west-1:1:t",)"
           R"("Message":"hi","Timestamp":"2026-12-03T00:00:00Z"})";
  r.body = sign_body(r).value();
  EXPECT_TRUE(make_verifier(sns, net.fetch())->verify(sign(r).value(), r.body, kNow).accepted);

  // mailgun, JSON, urlencoded and multipart
  for (const std::string& body : {std::string(R"({"event-data":{"event":"opened","id":"i"}})"),
                                  std::string("Message-Id=%3Ca%40b%3E"),
                                  std::string("--b0\r\nContent-Disposition: form-data; "
                                              "name=\"Message-Id\"\r\n\r\n<a@b>\r\n--b0--\r\n")}) {
    r = SignRequest{};
    r.provider = "mailgun";
    r.secret = "key-1";
    r.body = body;
    r.now_s = kNow;
    r.body = sign_body(r).value();
    auto h = sign(r).value();
    auto v = make_verifier(source("mailgun", {"key-1"}));
    EXPECT_TRUE(v->verify(h, r.body, kNow).accepted) << body;
    EXPECT_FALSE(v->verify(h, r.body, kNow).accepted) << "replay of " << body;
  }
  // The wrong kind of key is refused, saying which is needed.
  r = SignRequest{};
  r.provider = "sendgrid";
  r.private_key = new_key_files("gmail").value()[0].text;
  auto refused = sign(r);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("EC P-256"), std::string::npos);
}

}  // namespace
}  // namespace hookmcp::verify
