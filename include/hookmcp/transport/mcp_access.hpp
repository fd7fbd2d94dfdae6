// Who may use the MCP routes (/mcp, /sse, /messages): Host and Origin allow-lists against DNS
// rebinding, and bearer tokens: static ones (mcp.tokens) and OAuth access tokens (mcp.oauth,
// checked by auth::ResourceServer). Safe from any thread. Signed intake routes never come
// here: they have their own signatures; unsigned ones take the Host and Origin checks.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "hookmcp/auth/resource_server.hpp"

namespace hookmcp::transport {

struct McpAccess {
  std::vector<std::string> tokens;           // resolved values; empty: no token needed
  std::vector<std::string> principals;       // who each token is (tokens[i]'s)
  std::vector<std::string> allowed_hosts;    // Host names besides the loopback ones
  std::vector<std::string> allowed_origins;  // Origins besides loopback ones, e.g. https://a.b
  // OAuth access tokens beside the static ones; null when mcp.oauth is not configured.
  std::shared_ptr<auth::ResourceServer> oauth;

  // Whether requests need a bearer token at all (loopback without configuration: no).
  bool needs_token() const { return !tokens.empty() || oauth; }
};

struct Denial {
  int status = 403;  // 403 (Host/Origin, or a scope missing), 401 (token) or 503 (no keys)
  std::string message;
  std::string www_authenticate;  // the challenge of a 401, or of a 403 for a missing scope
};

// Who an MCP request comes from, once its credentials checked out: a static token's principal
// (every right), an OAuth token's subject (the rights its scopes give), or `local` when no
// token is needed.
struct Caller {
  std::string principal;
  bool may_read = true;   // events:read: everything but changing events
  bool may_write = true;  // events:write: ack_events
  bool oauth = false;
};

// A Host value or an origin's authority, `host [":" port]` (RFC 3986 3.2.2 without userinfo):
// the host a bracketed IPv6 literal or a name of letters, digits, '-', '.', '_' and '~'; the
// port 1 to 5 digits. nullopt for anything else, so that nothing can follow an allowed name
// ("127.0.0.1:80.evil.example", "[::1].evil.example", "127.0.0.1@evil.example").
struct Authority {
  std::string_view host;  // as written; "[::1]" keeps its brackets
  std::string_view port;  // empty when absent
};
std::optional<Authority> parse_authority(std::string_view text);

// The Host and Origin checks (403): nullopt when the request may proceed. `host` and `origin`
// are the request's header values, absent when the header is.
std::optional<Denial> check_host_and_origin(const McpAccess& access,
                                            std::optional<std::string_view> host,
                                            std::optional<std::string_view> origin);

// Who sent a request with this Authorization header (absent when it has none), or why it is
// refused: 401 with its challenge, or 503 when an OAuth token cannot be checked for want of the
// issuer's keys. A static token is compared with every configured one, in constant time; any
// other token goes to OAuth when configured. `local` is the caller when no token is needed.
// May block on fetching the issuer's keys: see may_block.
std::variant<Caller, Denial> authenticate(const McpAccess& access,
                                          std::optional<std::string_view> authorization,
                                          const std::string& local);
// Whether authenticate() could wait on the network for this header.
bool may_block(const McpAccess& access, std::optional<std::string_view> authorization);

// 403 for a caller whose token lacks `scope`, with its challenge (RFC 6750 3.1).
Denial insufficient_scope(const McpAccess& access, const std::string& scope);

// The challenge of a 401 without OAuth.
inline constexpr const char* kBearerChallenge = R"(Bearer realm="hookmcp")";

}  // namespace hookmcp::transport
