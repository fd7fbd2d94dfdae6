// JWTs and JWKS from outside: any bearer token a client sends, and any JWKS an issuer serves,
// is taken apart or refused with a message, never a crash; a parsed token's signature is checked
// against every key of a set parsed from the same input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hookmcp/auth/jwt.hpp"
#include "hookmcp/core/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // "TOKEN\nJWKS": either part may be missing.
  size_t newline = text.find('\n');
  std::string_view token = text.substr(0, newline);
  std::string_view jwks = newline == std::string_view::npos ? "" : text.substr(newline + 1);
  auto jws = hookmcp::auth::parse_jws(token);
  auto doc = hookmcp::parse_json(jwks);
  if (!doc.ok()) return 0;
  auto set = hookmcp::auth::KeySet::from_jwks(doc.value);
  if (!set || !jws) return 0;
  for (const auto* key : set->candidates(jws->kid, jws->alg)) {
    (void)key->verify(jws->alg, jws->signing_input, jws->signature);
  }
  return 0;
}
