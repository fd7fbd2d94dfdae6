// hookmcp as an OAuth 2.1 resource server (MCP authorization; RFC 9068 JWT access tokens, RFC
// 9728 protected resource metadata, RFC 8707 resource indicators, RFC 6750 bearer challenges).
//
// An access token is a JWT signed by the configured issuer. Its keys come from the issuer's
// JWKS, found through the issuer's metadata (RFC 8414 `oauth-authorization-server`, else OpenID
// `openid-configuration`), kept for `jwks_cache`, and fetched again when a token names a key
// not in the set, at most once per `refresh_interval`, so that a flood of made-up `kid`s cannot
// turn into a flood of requests to the issuer. While the issuer cannot be reached the keys
// already held keep working.
//
// Thread-safe. authenticate() may block on a fetch (up to `fetch_timeout` per document): call
// it where blocking is allowed, or ask may_block() first.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "hookmcp/auth/jwt.hpp"
#include "hookmcp/auth/key_cache.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/json.hpp"
#include "hookmcp/core/result.hpp"

namespace hookmcp::auth {

// The scopes hookmcp knows: reading and subscribing, and changing events (ack_events).
inline constexpr const char* kReadScope = "events:read";
inline constexpr const char* kWriteScope = "events:write";

struct OAuthOptions {
  std::string issuer;    // the `iss` every token must carry, exactly
  std::string audience;  // a value the token's `aud` must hold (the RFC 8707 resource)
  // This server's resource identifier for clients: the public URL of /mcp. Defaults to
  // `audience`; must be an absolute http(s) URL.
  std::string resource;
  // What the metadata offers and a 401 asks for.
  std::vector<std::string> scopes = {kReadScope, kWriteScope};
  std::chrono::seconds jwks_cache{3600};
  // Between fetches prompted by a kid not held (whatever fetched before).
  std::chrono::seconds refresh_interval{60};
  std::chrono::seconds retry_interval{10};  // between attempts while no key is held
  std::chrono::seconds leeway{60};          // clock skew allowed on exp, nbf and iat
  std::chrono::milliseconds fetch_timeout{10000};
};

// Who a verified token speaks for, and what it may do.
struct Grant {
  std::string principal;  // the token's `sub`
  std::vector<std::string> scopes;
  bool has(std::string_view scope) const;
};

// Why a token is refused (RFC 6750 3.1): 401 `invalid_token` for a token that does not verify,
// 503 when the issuer's keys cannot be had to check it.
struct Refusal {
  int status = 401;
  std::string description;  // for error_description and the log; never holds the token
};

class ResourceServer {
 public:
  ResourceServer(OAuthOptions options, Fetch fetch, const Clock& clock);

  const OAuthOptions& options() const { return options_; }

  // The grant of a bearer token, or why it is refused.
  std::variant<Grant, Refusal> authenticate(std::string_view token);
  // Whether authenticate(token) could have to fetch keys first (so wait on the network).
  bool may_block(std::string_view token) const;
  // Fetches the keys now (at start, so that the first client does not wait); the error says
  // why they could not be had.
  Status refresh_keys();

  // RFC 9728: the metadata document and where it is published (the well-known path with the
  // resource's path after it, e.g. https://h/.well-known/oauth-protected-resource/mcp).
  nlohmann::json metadata() const;
  std::string metadata_url() const;
  std::string metadata_path() const;  // metadata_url()'s path
  // WWW-Authenticate for a request without a usable token (`error` empty: none was sent), or
  // one whose token lacks `scope` (error "insufficient_scope").
  std::string challenge(std::string_view error, std::string_view description,
                        const std::vector<std::string>& scopes) const;

 private:
  Result<std::string> discover_jwks_uri();
  std::optional<std::string> check_claims(const nlohmann::json& claims) const;

  const OAuthOptions options_;
  const Fetch fetch_;
  const Clock& clock_;
  KeyCache keys_;
};

}  // namespace hookmcp::auth
