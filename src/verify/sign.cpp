#include "hookmcp/verify/sign.hpp"

#include "hookmcp/core/event.hpp"
#include "hookmcp/core/random.hpp"
#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/crypto.hpp"
#include "providers.hpp"

namespace hookmcp::verify {

namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

Result<std::string> id_or_random(const SignRequest& r, std::string_view prefix = {}) {
  if (!r.delivery_id.empty()) return r.delivery_id;
  auto id = prefix.empty() ? random_uuid() : random_hex(16);
  if (!id) return id.error();
  return std::string(prefix) + *id;
}

// What Slack declares: JSON for the Events API, a form for commands and interactivity.
std::string slack_content_type(std::string_view body) {
  return detail::looks_like_json(body) ? "application/json" : "application/x-www-form-urlencoded";
}

// The source an hmac or none delivery is signed as: the configured one, or the example in the docs.
config::Source generic_source(const SignRequest& r) {
  if (r.generic) return *r.generic;
  config::Source s;
  s.provider = r.provider;
  s.header = "X-Signature";
  s.prefix = "sha256=";
  return s;
}

// hmac and none: the headers the source reads its type and delivery id from, and for hmac the
// signature (and timestamp) its settings ask for.
Result<Headers> sign_generic(const SignRequest& r) {
  const config::Source s = generic_source(r);
  Headers h;
  h.add("Content-Type", "application/json");
  if (!r.type.empty() && !s.type_header.empty()) h.add(s.type_header, r.type);
  if (!s.delivery_header.empty()) {
    auto id = id_or_random(r);
    if (!id) return id.error();
    h.add(s.delivery_header, *id);
  }
  if (r.provider == "hmac") {
    const std::string ts = std::to_string(r.now_s);
    if (!s.timestamp_header.empty()) h.add(s.timestamp_header, ts);
    std::string mac =
        hmac(detail::digest_of(s.algorithm), r.secret, detail::signed_string(s, ts, r.body));
    h.add(s.header, s.prefix + (s.encoding == "base64" ? base64_encode(mac) : hex_encode(mac)));
  }
  return h;
}

}  // namespace

Result<std::string> random_uuid() {
  auto hex16 = random_hex(16);
  if (!hex16) return hex16.error();
  std::string b = hex_decode(*hex16).value_or(std::string(16, '\0'));
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = hex_encode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

bool has_type_header(std::string_view provider) {
  return provider == "github" || provider == "shopify" || provider == "gitlab" ||
         provider == "google-calendar" || provider == "hmac" || provider == "none";
}

bool needs_secret(std::string_view provider) {
  return provider != "none" && provider != "msgraph" && !config::signs_with_public_key(provider);
}

bool has_delivery_header(std::string_view provider) {
  return provider != "stripe" && provider != "slack" && provider != "postmark" &&
         provider != "gmail" && provider != "msgraph" && provider != "mailgun" &&
         provider != "sendgrid" && provider != "sns";
}

Result<Headers> sign(const SignRequest& r) {
  const std::string& p = r.provider;
  if (needs_secret(p) && r.secret.empty()) {
    return invalid("provider \"" + p + "\" needs a secret");
  }
  const std::string ts = std::to_string(r.now_s);
  Headers h;
  if (p == "github") {
    h.add("Content-Type", "application/json");
    if (!r.type.empty()) h.add("X-GitHub-Event", r.type);
    auto id = id_or_random(r);
    if (!id) return id.error();
    h.add("X-GitHub-Delivery", *id);
    h.add("X-Hub-Signature", "sha1=" + hex_encode(hmac(Digest::kSha1, r.secret, r.body)));
    h.add("X-Hub-Signature-256", "sha256=" + hex_encode(hmac(Digest::kSha256, r.secret, r.body)));
  } else if (p == "stripe") {
    h.add("Content-Type", "application/json; charset=utf-8");
    h.add("Stripe-Signature",
          "t=" + ts + ",v1=" + hex_encode(hmac(Digest::kSha256, r.secret, ts + "." + r.body)));
  } else if (p == "slack") {
    h.add("Content-Type", slack_content_type(r.body));
    h.add("X-Slack-Request-Timestamp", ts);
    h.add("X-Slack-Signature",
          "v0=" + hex_encode(hmac(Digest::kSha256, r.secret, "v0:" + ts + ":" + r.body)));
  } else if (p == "standard") {
    std::string_view text = r.secret;
    if (text.substr(0, 6) == "whsec_") text.remove_prefix(6);
    auto key = base64_decode(text);
    if (!key || key->empty()) return invalid("a standard secret is \"whsec_\" and base64");
    auto id = id_or_random(r, "msg_");
    if (!id) return id.error();
    h.add("Content-Type", "application/json");
    h.add("webhook-id", *id);
    h.add("webhook-timestamp", ts);
    h.add("webhook-signature",
          "v1," + base64_encode(hmac(Digest::kSha256, *key, *id + "." + ts + "." + r.body)));
  } else if (p == "shopify") {
    h.add("Content-Type", "application/json");
    if (!r.type.empty()) h.add("X-Shopify-Topic", r.type);
    auto id = id_or_random(r);
    if (!id) return id.error();
    h.add("X-Shopify-Webhook-Id", *id);
    h.add("X-Shopify-Triggered-At", format_rfc3339_ms(r.now_s * 1000));
    h.add("X-Shopify-Hmac-Sha256", base64_encode(hmac(Digest::kSha256, r.secret, r.body)));
  } else if (p == "gitlab") {
    h.add("Content-Type", "application/json");
    if (!r.type.empty()) h.add("X-Gitlab-Event", r.type);
    auto id = id_or_random(r);
    if (!id) return id.error();
    h.add("X-Gitlab-Event-UUID", *id);
    h.add("X-Gitlab-Token", r.secret);
  } else if (p == "google-calendar") {
    // No body; the state in a header ("exists" unless given), the channel and the message
    // number in others: SignRequest::delivery_id as "CHANNEL:NUMBER" (a channel alone: its
    // message 1), else a random channel and number.
    std::string channel;
    std::string number = "1";
    if (auto colon = r.delivery_id.rfind(':'); colon != std::string::npos) {
      channel = r.delivery_id.substr(0, colon);
      number = r.delivery_id.substr(colon + 1);
    } else if (!r.delivery_id.empty()) {
      channel = r.delivery_id;
    } else {
      auto id = random_uuid();
      if (!id) return id.error();
      channel = *id;
      auto n = random_hex(3);
      if (!n) return n.error();
      number = std::to_string(std::stoul(*n, nullptr, 16) + 2);
    }
    h.add("Content-Type", "application/json; utf-8");  // as Google sends it, with no body
    h.add("X-Goog-Channel-ID", channel);
    h.add("X-Goog-Channel-Token", r.secret);
    h.add("X-Goog-Channel-Expiration", format_http_date(r.now_s + int64_t{7} * 24 * 3600));
    h.add("X-Goog-Resource-ID", "hookmcp-send");
    h.add("X-Goog-Resource-URI",
          "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json");
    h.add("X-Goog-Resource-State", r.type.empty() ? "exists" : r.type);
    h.add("X-Goog-Message-Number", number);
  } else if (p == "postmark") {
    if (r.secret.find(':') == std::string::npos) {
      return invalid("a postmark secret is \"user:password\"");
    }
    h.add("Content-Type", "application/json");
    h.add("Authorization", "Basic " + base64_encode(r.secret));
  } else if (p == "gmail" || p == "msgraph" || p == "mailgun" || p == "sendgrid" || p == "sns") {
    auto signed_headers = detail::sign_mail(r);
    if (!signed_headers) return signed_headers.error();
    h = std::move(*signed_headers);
  } else if (p == "hmac" || p == "none") {
    auto signed_headers = sign_generic(r);
    if (!signed_headers) return signed_headers.error();
    h = std::move(*signed_headers);
  } else {
    std::string list;
    for (const char* name : config::kProviders)
      list += std::string(list.empty() ? "" : ", ") + name;
    return invalid("unknown provider \"" + p + "\" (expected one of: " + list + ")");
  }
  return h;
}

}  // namespace hookmcp::verify
