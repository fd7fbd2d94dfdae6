// Private to the verify module: one factory per provider and the helpers they share.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/verify/crypto.hpp"
#include "hookmcp/verify/sign.hpp"
#include "hookmcp/verify/verifier.hpp"
#include "json_field.hpp"

namespace hookmcp::verify::detail {

std::unique_ptr<Verifier> make_github(const config::Source& source);
std::unique_ptr<Verifier> make_hmac(const config::Source& source);
std::unique_ptr<Verifier> make_none(const config::Source& source);
std::unique_ptr<Verifier> make_stripe(const config::Source& source);
std::unique_ptr<Verifier> make_slack(const config::Source& source);
std::unique_ptr<Verifier> make_standard(const config::Source& source);
std::unique_ptr<Verifier> make_shopify(const config::Source& source);
std::unique_ptr<Verifier> make_gitlab(const config::Source& source);
std::unique_ptr<Verifier> make_google_calendar(const config::Source& source);
std::unique_ptr<Verifier> make_postmark(const config::Source& source);
std::unique_ptr<Verifier> make_msgraph(const config::Source& source);
std::unique_ptr<Verifier> make_mailgun(const config::Source& source);
std::unique_ptr<Verifier> make_sendgrid(const config::Source& source);
std::unique_ptr<Verifier> make_gmail(const config::Source& source, Fetch fetch);
std::unique_ptr<Verifier> make_sns(const config::Source& source, Fetch fetch);

// The text an SNS message's signature covers (its fields as "Name\nvalue\n" in SNS's order),
// nullopt when its Type is not one SNS signs or a field it signs is missing.
std::optional<std::string> sns_string_to_sign(const nlohmann::json& message);

// The headers gmail, sendgrid, msgraph, mailgun and sns send (sign() for those providers).
Result<Headers> sign_mail(const SignRequest& request);

// SendGrid's verification key as the source gives it (base64 DER, or PEM), when it is an EC
// P-256 public key.
std::optional<PublicKey> sendgrid_key(std::string_view text);

// Secrets a provider sends back as they are (a token, credentials) rather than sign with. Held
// as SHA-256 digests and compared digest to digest in constant time, so that the time taken
// says nothing of a secret's length either.
class SecretTokens {
 public:
  explicit SecretTokens(const std::vector<std::string>& secrets);
  // Whether `given` is one of them.
  bool match(std::string_view given) const;

 private:
  std::vector<std::string> digests_;
};

// Longest signature header value a verifier looks at. Real ones are under 300 bytes (a few
// rotated signatures); anything far beyond is refused before any decoding or hashing.
inline constexpr size_t kMaxSignatureHeader = 4096;

// The resolved secret values of a source.
std::vector<std::string> secret_values(const config::Source& source);

// Whether one of `signatures` is the HMAC of `message` under one of `secrets`, each compared in
// constant time: any secret of a rotation verifies, and any signature a sender lists.
bool signed_by_any(const std::vector<std::string>& secrets, Digest digest, std::string_view message,
                   std::span<const std::string> signatures);

// Whether `now_s` is within `tolerance_s` of the timestamp text (decimal Unix seconds); sets
// `why` when not.
bool timestamp_fresh(std::string_view timestamp, int64_t now_s, int tolerance_s, std::string& why);

// The refusal of a delivery that carries one of `names` (a provider's signature, timestamp and
// id headers) more than once, naming it; nullopt when each appears at most once. Two copies
// would leave it ambiguous which one was checked and which one a later reader sees.
std::optional<Verdict> refuse_repeated(const Headers& headers,
                                       std::initializer_list<std::string_view> names);

// The value of a header that must appear exactly once and fit kMaxSignatureHeader; nullopt
// with `why` set when it is missing, repeated (two values would leave it ambiguous which one
// was checked), or too long.
std::optional<std::string_view> single_header(const Headers& headers, std::string_view name,
                                              std::string& why);

// application/x-www-form-urlencoded: the decoded value of the first `key` field, nullopt when
// absent or badly escaped.
std::optional<std::string> form_value(std::string_view body, std::string_view key);

// The digest of an hmac source's "algorithm" (sha1, sha256 or sha512).
Digest digest_of(const std::string& algorithm);

// What an hmac source signs: its signed template ("{body}" unless it has a timestamp header, then
// "{timestamp}.{body}" unless it says otherwise) with {timestamp} and {body} filled in.
std::string signed_string(const config::Source& source, std::string_view timestamp,
                          std::string_view body);

// The string member `key` of a JSON object, empty when absent or of another type.
std::string string_member(const nlohmann::json& object, const char* key);

// Splits on `sep`, keeping empty pieces.
std::vector<std::string_view> split(std::string_view text, char sep);

}  // namespace hookmcp::verify::detail
