// Shopify: X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body keyed with the app's
// client secret. Shopify signs no timestamp, so replays are caught by the delivery id instead.
// https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook-to-ensure-its-coming-from-shopify
#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/crypto.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

class ShopifyVerifier final : public Verifier {
 public:
  explicit ShopifyVerifier(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {}

  Verdict verify(const Headers& headers, std::string_view body, int64_t) const override {
    if (auto refusal = refuse_repeated(headers, {"X-Shopify-Hmac-Sha256"})) return *refusal;
    std::string why;
    auto header = single_header(headers, "X-Shopify-Hmac-Sha256", why);
    if (!header) return Verdict::rejected(why);
    auto given = base64_decode(*header);
    if (!given) return Verdict::rejected("X-Shopify-Hmac-Sha256 is not base64");
    if (signed_by_any(secrets_, Digest::kSha256, body, {&*given, 1})) {
      return Verdict::verified_ok();
    }
    return Verdict::rejected("signature does not match any secret");
  }

  Normalized normalize(const Headers& headers, std::string_view) const override {
    Normalized n;
    n.type = std::string(headers.get("X-Shopify-Topic").value_or(""));
    n.delivery_id = std::string(headers.get("X-Shopify-Webhook-Id").value_or(""));
    return n;
  }

 private:
  std::vector<std::string> secrets_;
};

}  // namespace

std::unique_ptr<Verifier> make_shopify(const config::Source& source) {
  return std::make_unique<ShopifyVerifier>(secret_values(source));
}

}  // namespace hookmcp::verify::detail
