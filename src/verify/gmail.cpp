// Gmail push notifications arrive through Cloud Pub/Sub push. A push subscription with
// authentication sends `Authorization: Bearer` and an OIDC ID token Google signs (RS256), for
// the subscription's audience, naming the service account it pushes as. Anyone can create a
// push subscription to any URL, so the token's email must be the configured service account, not
// only any Google-signed token. The body is Pub/Sub's envelope; its base64 `message.data` holds
// Gmail's {"emailAddress", "historyId"}.
// https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions
// https://developers.google.com/workspace/gmail/api/guides/push
#include <chrono>

#include "hookmcp/auth/jwt.hpp"
#include "hookmcp/auth/key_cache.hpp"
#include "hookmcp/core/text.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

constexpr int64_t kLeewayMs = 60'000;  // clock skew allowed on exp, nbf and iat

class GmailVerifier final : public Verifier {
 public:
  GmailVerifier(const config::Source& source, Fetch fetch)
      : audience_(source.audience),
        service_account_(source.service_account),
        keys_(
            {}, [url = source.jwks_url]() -> Result<std::string> { return url; },
            std::move(fetch)) {}

  bool may_block(const Headers& headers, std::string_view) const override {
    auto jws = token_of(headers);
    return jws && keys_.may_block(jws->kid, jws->alg, now_ms());
  }

  Verdict verify(const Headers& headers, std::string_view, int64_t now_s) const override {
    if (auto refusal = refuse_repeated(headers, {"Authorization"})) return *refusal;
    std::string why;
    auto header = single_header(headers, "Authorization", why);
    if (!header) {
      return Verdict::rejected(why + " (turn on authentication in the Pub/Sub push subscription)");
    }
    auto token = auth::bearer_token(*header);
    if (!token) return Verdict::rejected("Authorization is not a Bearer token");
    auto jws = auth::parse_jws(*token);
    if (!jws) return Verdict::rejected("token: " + jws.error().message);
    if (jws->alg != "RS256")
      return Verdict::rejected("token is signed with " + jws->alg + ", not RS256");
    auto found = keys_.find(jws->kid, jws->alg, now_ms());
    if (!found.set)
      return Verdict::cannot_check_now("Google's keys cannot be fetched: " + found.why);
    bool verified = false;
    for (const auto* key : found.candidates) {
      verified = verified || key->verify(jws->alg, jws->signing_input, jws->signature);
    }
    if (!verified) {
      return Verdict::rejected(found.candidates.empty()
                                   ? "token is signed with a key Google does not publish (kid \"" +
                                         printable(jws->kid, 64) + "\")"
                                   : std::string("token signature does not verify"));
    }
    if (auto wrong = check_claims(jws->claims, now_s * 1000)) return Verdict::rejected(*wrong);
    return Verdict::verified_ok();
  }

  Normalized normalize(const Headers&, std::string_view body) const override {
    Normalized n;
    n.type = "gmail.history";
    n.delivery_id = json_string_at(body, "/message/messageId");
    if (n.delivery_id.empty()) n.delivery_id = json_string_at(body, "/message/message_id");
    return n;
  }

 private:
  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  static std::optional<auth::Jws> token_of(const Headers& headers) {
    auto value = headers.get("Authorization");
    if (!value) return std::nullopt;
    auto token = auth::bearer_token(*value);
    if (!token) return std::nullopt;
    auto jws = auth::parse_jws(*token);
    if (!jws) return std::nullopt;
    return std::move(*jws);
  }

  std::optional<std::string> check_claims(const nlohmann::json& claims, int64_t now) const {
    auto text = [&claims](const char* name) { return string_member(claims, name); };
    const std::string iss = text("iss");
    if (iss != "https://accounts.google.com" && iss != "accounts.google.com") {
      return "token was not issued by Google (iss \"" + printable(iss, 64) + "\")";
    }
    bool for_us = text("aud") == audience_;
    if (auto aud = claims.find("aud"); aud != claims.end() && aud->is_array()) {
      for (const auto& a : *aud) for_us = for_us || (a.is_string() && a == audience_);
    }
    if (!for_us) return "token is for another audience (aud must be " + audience_ + ")";
    auto exp = auth::date_ms(claims, "exp");
    if (!exp) return "token has no expiry (exp)";
    if (now >= *exp + kLeewayMs) return "token expired";
    if (auto iat = auth::date_ms(claims, "iat"); iat && now + kLeewayMs < *iat) {
      return "token was issued in the future (iat)";
    }
    if (text("email") != service_account_) {
      return "token is for another service account (\"" + printable(text("email"), 100) +
             "\", expected " + service_account_ + ")";
    }
    auto verified = claims.find("email_verified");
    if (verified == claims.end() || !verified->is_boolean() || !verified->get<bool>()) {
      return "token's email is not verified (email_verified)";
    }
    return std::nullopt;
  }

  const std::string audience_;
  const std::string service_account_;
  mutable auth::KeyCache keys_;
};

}  // namespace

std::unique_ptr<Verifier> make_gmail(const config::Source& source, Fetch fetch) {
  return std::make_unique<GmailVerifier>(source, std::move(fetch));
}

}  // namespace hookmcp::verify::detail
