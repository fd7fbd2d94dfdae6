// SendGrid (Twilio): ECDSA P-256 with SHA-256 over the timestamp followed by the body, the
// signature base64 DER in X-Twilio-Email-Event-Webhook-Signature and the timestamp in
// X-Twilio-Email-Event-Webhook-Timestamp, checked against the verification key the source holds
// (the base64 DER key SendGrid shows, or PEM). The Event Webhook posts a JSON array of events,
// stored one per event by its sg_event_id; Inbound Parse posts the mail as multipart/form-data,
// stored as one email.received named by the mail's Message-ID.
// https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
// https://www.twilio.com/docs/sendgrid/for-developers/parsing-email/setting-up-the-inbound-parse-webhook
#include "hookmcp/core/form.hpp"
#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/json.hpp"
#include "hookmcp/core/text.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

constexpr std::string_view kSignature = "X-Twilio-Email-Event-Webhook-Signature";
constexpr std::string_view kTimestamp = "X-Twilio-Email-Event-Webhook-Timestamp";

// The Message-ID line of a raw header block (Inbound Parse's `headers` field), unfolded.
std::string message_id(std::string_view headers) {
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t end = headers.find('\n', pos);
    if (end == std::string_view::npos) end = headers.size();
    std::string_view line = headers.substr(pos, end - pos);
    pos = end + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !iequals(line.substr(0, colon), "Message-ID")) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.remove_suffix(1);
    return std::string(value);
  }
  return std::string();
}

class SendGridVerifier final : public Verifier {
 public:
  explicit SendGridVerifier(std::optional<PublicKey> key) : key_(std::move(key)) {}

  Verdict verify(const Headers& headers, std::string_view body, int64_t) const override {
    if (auto refusal = refuse_repeated(headers, {kSignature, kTimestamp})) return *refusal;
    if (!key_) return Verdict::rejected("the source's public_key is not an EC P-256 key");
    std::string why;
    auto signature = single_header(headers, kSignature, why);
    if (!signature) return Verdict::rejected(why + " (turn on the Signed Event Webhook)");
    auto timestamp = single_header(headers, kTimestamp, why);
    if (!timestamp) return Verdict::rejected_in_public(why);
    auto der = base64_decode(*signature);
    if (!der) return Verdict::rejected("signature is not base64");
    std::string message;
    message.reserve(timestamp->size() + body.size());
    message.append(*timestamp).append(body);
    if (!key_->verify(Digest::kSha256, message, *der)) {
      return Verdict::rejected("signature does not verify with the public key");
    }
    return Verdict::verified_ok();
  }

  Normalized normalize(const Headers& headers, std::string_view body) const override {
    Normalized n;
    auto content_type = headers.get("Content-Type").value_or("");
    if (is_form(content_type)) {
      n.type = "email.received";
      if (auto fields = parse_form(content_type, body)) {
        n.delivery_id = message_id(form_field(*fields, "headers").value_or(""));
      }
      return n;
    }
    auto doc = parse_json(body);
    if (!doc.ok() || !doc.value.is_array()) return n;
    for (const auto& event : doc.value) {
      if (!event.is_object()) continue;
      Normalized::Item item;
      std::string name = string_member(event, "event");
      item.type = "email." + (name.empty() ? std::string("event") : name);
      item.delivery_id = string_member(event, "sg_event_id");
      item.body = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      n.items.push_back(std::move(item));
    }
    return n;
  }

 private:
  std::optional<PublicKey> key_;
};

}  // namespace

std::optional<PublicKey> sendgrid_key(std::string_view text) {
  if (text.find("-----BEGIN") != std::string_view::npos) {
    auto key = PublicKey::from_pem(text);
    if (key && key->is_ec_p256()) return *key;
    return std::nullopt;
  }
  std::string compact;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ') compact.push_back(c);
  }
  auto der = base64_decode(compact);
  if (!der) return std::nullopt;
  auto key = PublicKey::from_der(*der);
  if (key && key->is_ec_p256()) return *key;
  return std::nullopt;
}

std::unique_ptr<Verifier> make_sendgrid(const config::Source& source) {
  return std::make_unique<SendGridVerifier>(sendgrid_key(source.public_key));
}

}  // namespace hookmcp::verify::detail
