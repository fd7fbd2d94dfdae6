// GitHub: HMAC of the raw body in X-Hub-Signature-256 ("sha256=" + hex), or the legacy
// X-Hub-Signature ("sha1=" + hex) when no sha256 header is sent.
// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/crypto.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

class GithubVerifier final : public Verifier {
 public:
  explicit GithubVerifier(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {}

  Verdict verify(const Headers& headers, std::string_view body, int64_t) const override {
    if (auto refusal = refuse_repeated(headers, {"X-Hub-Signature-256", "X-Hub-Signature"})) {
      return *refusal;
    }
    Digest digest = Digest::kSha256;
    std::string_view prefix = "sha256=";
    auto header = headers.get("X-Hub-Signature-256");
    if (!header) {
      header = headers.get("X-Hub-Signature");
      digest = Digest::kSha1;
      prefix = "sha1=";
    }
    if (!header) return Verdict::rejected("missing X-Hub-Signature-256");
    if (header->substr(0, prefix.size()) != prefix) {
      return Verdict::rejected("signature header does not start with " + std::string(prefix));
    }
    auto given = hex_decode(header->substr(prefix.size()));
    if (!given) return Verdict::rejected("signature is not hex");
    if (signed_by_any(secrets_, digest, body, {&*given, 1})) return Verdict::verified_ok();
    return Verdict::rejected("signature does not match any secret");
  }

  Normalized normalize(const Headers& headers, std::string_view body) const override {
    Normalized n;
    n.type = std::string(headers.get("X-GitHub-Event").value_or(""));
    n.delivery_id = std::string(headers.get("X-GitHub-Delivery").value_or(""));
    n.action = json_string_at(body, "/action");
    return n;
  }

 private:
  std::vector<std::string> secrets_;
};

}  // namespace

std::unique_ptr<Verifier> make_github(const config::Source& source) {
  return std::make_unique<GithubVerifier>(secret_values(source));
}

}  // namespace hookmcp::verify::detail
