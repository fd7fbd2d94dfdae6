// Signed JSON Web Tokens (RFC 7515 compact JWS, RFC 7519 claims) and the public keys that verify
// them (RFC 7517 JWK): what an OAuth access token is when an authorization server issues JWTs.
// Only the asymmetric algorithms an authorization server signs with are known: RS256, PS256 and
// ES256. "none" and every HMAC algorithm are refused before any key is looked at, so that a
// public key can never be used as an HMAC secret. Pure; safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookmcp/core/json.hpp"
#include "hookmcp/core/result.hpp"

namespace hookmcp::auth {

// A compact JWS taken apart; nothing about it is verified yet.
struct Jws {
  nlohmann::json header;      // a JSON object
  nlohmann::json claims;      // a JSON object
  std::string alg;            // header.alg: RS256, PS256 or ES256 (anything else is refused)
  std::string kid;            // header.kid, empty when absent
  std::string signing_input;  // BASE64URL(header) "." BASE64URL(payload), as received
  std::string signature;      // the decoded signature bytes
};

// kInvalidArgument saying what is wrong: not three base64url parts, a header or payload that is
// not a JSON object, an algorithm that is not supported ("none" and HS* included), or a `crit`
// header (an extension this verifier does not understand must be refused, RFC 7515 4.1.11).
Result<Jws> parse_jws(std::string_view token);

// The token of an "Authorization: Bearer TOKEN" header value (RFC 6750 2.1; the scheme in any
// case), or nullopt.
std::optional<std::string_view> bearer_token(std::optional<std::string_view> authorization);

// A NumericDate claim (RFC 7519 2: exp, nbf, iat) in milliseconds, or nullopt when absent or not
// a number.
std::optional<int64_t> date_ms(const nlohmann::json& claims, const char* name);

// One verification key from a JWKS: RSA (2048 bits or more) or EC on P-256.
class PublicKey {
 public:
  // kInvalidArgument for a key that cannot verify the supported algorithms: another `kty` or
  // curve, `use` other than "sig", a missing or malformed member, or an RSA key under 2048 bits.
  static Result<PublicKey> from_jwk(const nlohmann::json& jwk);

  const std::string& kid() const { return kid_; }
  // Whether this key may verify `alg`: its type fits and its own `alg`, if any, is the same.
  bool suits(std::string_view alg) const;
  // The signature over `input` checks out under `alg` with this key.
  bool verify(std::string_view alg, std::string_view input, std::string_view signature) const;

 private:
  struct Key;
  std::shared_ptr<const Key> key_;
  std::string kid_;
  std::string kty_;  // "RSA" or "EC"
  std::string alg_;  // the JWK's alg, empty when absent
};

// The keys of a JWKS document (RFC 7517 5). Keys that cannot be used are left out and named in
// `skipped`; kInvalidArgument when the document has no `keys` array.
struct KeySet {
  std::vector<PublicKey> keys;
  std::vector<std::string> skipped;  // "kid: reason" for each key left out

  static Result<KeySet> from_jwks(const nlohmann::json& jwks);
  // The keys that may verify a token with this kid and alg: the one with that kid, or, for a
  // token without a kid, every key that suits the algorithm.
  std::vector<const PublicKey*> candidates(std::string_view kid, std::string_view alg) const;
};

}  // namespace hookmcp::auth
