// Mailgun: the signing key (the source's secret) signs `timestamp` + `token` with HMAC-SHA256,
// hex. Event webhooks (delivered, opened, failed...) post JSON with the three in `signature`;
// inbound routes post a form (multipart when the mail has attachments) with them as fields. A
// token is used once: one seen before within the tolerance is a replay, refused.
// https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
// https://documentation.mailgun.com/docs/mailgun/user-manual/receive-forward-store/
#include <deque>
#include <mutex>
#include <unordered_set>

#include "hookmcp/core/form.hpp"
#include "hookmcp/core/text.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

// Tokens remembered at most: far more than the deliveries of a tolerance window; past it the
// oldest is forgotten, whose timestamp has usually left the window anyway.
constexpr size_t kMaxTokens = 100'000;

struct Signed {
  std::string timestamp;
  std::string token;
  std::string signature;
};

std::optional<Signed> signed_fields(const Headers& headers, std::string_view body) {
  Signed s;
  if (looks_like_json(body)) {
    s.timestamp = json_string_at(body, "/signature/timestamp");
    s.token = json_string_at(body, "/signature/token");
    s.signature = json_string_at(body, "/signature/signature");
  } else {
    auto fields = parse_form(headers.get("Content-Type").value_or(""), body);
    if (!fields) return std::nullopt;
    s.timestamp = form_field(*fields, "timestamp").value_or("");
    s.token = form_field(*fields, "token").value_or("");
    s.signature = form_field(*fields, "signature").value_or("");
  }
  if (s.timestamp.empty() || s.token.empty() || s.signature.empty()) return std::nullopt;
  return s;
}

class MailgunVerifier final : public Verifier {
 public:
  MailgunVerifier(std::vector<std::string> secrets, int tolerance_s)
      : secrets_(std::move(secrets)), tolerance_s_(tolerance_s) {}

  Verdict verify(const Headers& headers, std::string_view body, int64_t now_s) const override {
    auto fields = signed_fields(headers, body);
    if (!fields) {
      return Verdict::rejected_in_public(
          "missing Mailgun's timestamp, token and signature (in \"signature\" of a JSON body, "
          "or as form fields)");
    }
    if (fields->token.size() > kMaxSignatureHeader || fields->signature.size() > 256) {
      return Verdict::rejected_in_public("the token or signature is too long");
    }
    std::string why;
    if (!timestamp_fresh(fields->timestamp, now_s, tolerance_s_, why)) {
      return Verdict::rejected(why);
    }
    auto signature = hex_decode(fields->signature);
    if (!signature) return Verdict::rejected("signature is not hex");
    std::string signatures[] = {std::move(*signature)};
    if (!signed_by_any(secrets_, Digest::kSha256, fields->timestamp + fields->token, signatures)) {
      return Verdict::rejected("signature does not match");
    }
    if (!first_use(fields->token, now_s)) {
      return Verdict::rejected("token was used before: a replay");
    }
    return Verdict::verified_ok();
  }

  Normalized normalize(const Headers& headers, std::string_view body) const override {
    Normalized n;
    if (looks_like_json(body)) {
      // email.delivered, email.opened, email.failed...: each with its own event id.
      std::string event = json_string_at(body, "/event-data/event");
      n.type = "email." + (event.empty() ? std::string("event") : event);
      n.delivery_id = json_string_at(body, "/event-data/id");
      return n;
    }
    n.type = "email.received";
    if (auto fields = parse_form(headers.get("Content-Type").value_or(""), body)) {
      n.delivery_id = form_field(*fields, "Message-Id").value_or("");
    }
    return n;
  }

 private:
  // Remembers the token; false when it was seen before.
  bool first_use(const std::string& token, int64_t now_s) const {
    std::lock_guard lock(mu_);
    // Forget the tokens whose timestamps have left the window: they are refused as stale.
    while (!order_.empty() && (order_.front().first < now_s - int64_t{2} * tolerance_s_ ||
                               order_.size() >= kMaxTokens)) {
      seen_.erase(order_.front().second);
      order_.pop_front();
    }
    if (!seen_.insert(token).second) return false;
    order_.emplace_back(now_s, token);
    return true;
  }

  const std::vector<std::string> secrets_;
  const int tolerance_s_;
  mutable std::mutex mu_;
  mutable std::unordered_set<std::string> seen_;               // guarded by mu_
  mutable std::deque<std::pair<int64_t, std::string>> order_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<Verifier> make_mailgun(const config::Source& source) {
  return std::make_unique<MailgunVerifier>(secret_values(source), source.tolerance_s);
}

}  // namespace hookmcp::verify::detail
