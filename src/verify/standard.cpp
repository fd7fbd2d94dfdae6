// Standard Webhooks (and Svix, which uses the same scheme under svix-* names): the signed
// content is "ID.TIMESTAMP.BODY", the key is the base64 text after "whsec_", and
// webhook-signature is a space-separated list of "v1,BASE64" entries, any one of which may match.
// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/crypto.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr size_t kMaxSignatures = 16;

struct HeaderNames {
  const char* id;
  const char* timestamp;
  const char* signature;
};
constexpr HeaderNames kStandardNames = {"webhook-id", "webhook-timestamp", "webhook-signature"};
constexpr HeaderNames kSvixNames = {"svix-id", "svix-timestamp", "svix-signature"};

// The names a delivery uses: the standard ones when it carries any of them, else Svix's.
const HeaderNames& names_in(const Headers& headers) {
  if (headers.contains(kStandardNames.id) || headers.contains(kStandardNames.signature)) {
    return kStandardNames;
  }
  return kSvixNames;
}

class StandardVerifier final : public Verifier {
 public:
  StandardVerifier(const std::vector<std::string>& secrets, int tolerance_s)
      : tolerance_s_(tolerance_s) {
    for (const auto& secret : secrets) {
      std::string_view text = secret;
      if (text.substr(0, kSecretPrefix.size()) == kSecretPrefix) {
        text.remove_prefix(kSecretPrefix.size());
      }
      // A secret that is not base64 can verify nothing; verify() says so when none is left.
      if (auto key = base64_decode(text); key && !key->empty()) keys_.push_back(std::move(*key));
    }
  }

  Verdict verify(const Headers& headers, std::string_view body, int64_t now_s) const override {
    if (keys_.empty()) return Verdict::rejected("no secret is base64 after \"whsec_\"");
    const HeaderNames& names = names_in(headers);
    if (auto refusal = refuse_repeated(headers, {names.id, names.timestamp, names.signature})) {
      return *refusal;
    }
    std::string why;
    auto id = single_header(headers, names.id, why);
    if (!id) return Verdict::rejected(why);
    auto timestamp = single_header(headers, names.timestamp, why);
    if (!timestamp) return Verdict::rejected(why);
    auto header = single_header(headers, names.signature, why);
    if (!header) return Verdict::rejected(why);

    std::vector<std::string> signatures;
    for (std::string_view entry : split(*header, ' ')) {
      if (entry.empty()) continue;  // tolerate doubled spaces
      size_t comma = entry.find(',');
      if (comma == std::string_view::npos) {
        return Verdict::rejected(std::string(names.signature) + " has an entry without ','");
      }
      // Other versions (v1a, asymmetric) need keys hookmcp does not hold.
      if (entry.substr(0, comma) != "v1") continue;
      auto sig = base64_decode(entry.substr(comma + 1));
      if (!sig) return Verdict::rejected(std::string(names.signature) + " v1 is not base64");
      if (signatures.size() == kMaxSignatures) {
        return Verdict::rejected(std::string(names.signature) + " has too many signatures");
      }
      signatures.push_back(std::move(*sig));
    }
    if (signatures.empty()) {
      return Verdict::rejected(std::string(names.signature) + " has no v1 signature");
    }
    if (!timestamp_fresh(*timestamp, now_s, tolerance_s_, why)) return Verdict::rejected(why);

    std::string message;
    message.reserve(id->size() + timestamp->size() + body.size() + 2);
    message.append(*id).append(".").append(*timestamp).append(".").append(body);
    if (signed_by_any(keys_, Digest::kSha256, message, signatures)) return Verdict::verified_ok();
    return Verdict::rejected("no v1 signature matches any secret");
  }

  Normalized normalize(const Headers& headers, std::string_view body) const override {
    Normalized n;
    n.type = json_string_at(body, "/type");
    n.delivery_id = std::string(headers.get(names_in(headers).id).value_or(""));
    return n;
  }

 private:
  std::vector<std::string> keys_;
  int tolerance_s_;
};

}  // namespace

std::unique_ptr<Verifier> make_standard(const config::Source& source) {
  return std::make_unique<StandardVerifier>(secret_values(source), source.tolerance_s);
}

}  // namespace hookmcp::verify::detail
