// Stripe: Stripe-Signature is "t=TIMESTAMP,v1=HEX[,v1=HEX...]"; each v1 is the HMAC-SHA256 of
// "TIMESTAMP.BODY" keyed with the whole endpoint secret ("whsec_..." as text, not decoded).
// Several v1 entries appear while Stripe rolls a secret; any one may match.
// https://docs.stripe.com/webhooks#verify-manually
#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/crypto.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

// More v1 entries than Stripe ever sends (one per active secret) means a forged header.
constexpr size_t kMaxSignatures = 16;

class StripeVerifier final : public Verifier {
 public:
  StripeVerifier(std::vector<std::string> secrets, int tolerance_s)
      : secrets_(std::move(secrets)), tolerance_s_(tolerance_s) {}

  Verdict verify(const Headers& headers, std::string_view body, int64_t now_s) const override {
    if (auto refusal = refuse_repeated(headers, {"Stripe-Signature"})) return *refusal;
    std::string why;
    auto header = single_header(headers, "Stripe-Signature", why);
    if (!header) return Verdict::rejected(why);

    std::optional<std::string_view> timestamp;
    std::vector<std::string> signatures;
    for (std::string_view item : split(*header, ',')) {
      size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        return Verdict::rejected("Stripe-Signature has an item without '='");
      }
      std::string_view key = item.substr(0, eq);
      std::string_view value = item.substr(eq + 1);
      if (key == "t") {
        if (timestamp) return Verdict::rejected("Stripe-Signature has more than one t");
        timestamp = value;
      } else if (key == "v1") {
        auto sig = hex_decode(value);
        if (!sig) return Verdict::rejected("Stripe-Signature v1 is not hex");
        if (signatures.size() == kMaxSignatures) {
          return Verdict::rejected("Stripe-Signature has too many v1 signatures");
        }
        signatures.push_back(std::move(*sig));
      }
      // Other schemes (v0 test-mode signatures) are not accepted as proof.
    }
    if (!timestamp) return Verdict::rejected("Stripe-Signature has no t");
    if (signatures.empty()) return Verdict::rejected("Stripe-Signature has no v1 signature");
    if (!timestamp_fresh(*timestamp, now_s, tolerance_s_, why)) return Verdict::rejected(why);

    std::string message;
    message.reserve(timestamp->size() + 1 + body.size());
    message.append(*timestamp).append(".").append(body);
    if (signed_by_any(secrets_, Digest::kSha256, message, signatures)) {
      return Verdict::verified_ok();
    }
    return Verdict::rejected("no v1 signature matches any secret");
  }

  Normalized normalize(const Headers&, std::string_view body) const override {
    Normalized n;
    n.type = json_string_at(body, "/type");
    n.delivery_id = json_string_at(body, "/id");
    return n;
  }

 private:
  std::vector<std::string> secrets_;
  int tolerance_s_;
};

}  // namespace

std::unique_ptr<Verifier> make_stripe(const config::Source& source) {
  return std::make_unique<StripeVerifier>(secret_values(source), source.tolerance_s);
}

}  // namespace hookmcp::verify::detail
