// Who may use the MCP routes (/mcp, /sse, /messages): Host and Origin allow-lists against DNS
// rebinding, and bearer tokens. Pure; safe from any thread. Signed intake routes never come
// here: they have their own signatures; unsigned ones take the Host and Origin checks.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookmcp::transport {

struct McpAccess {
  std::vector<std::string> tokens;           // resolved values; empty: no token needed
  std::vector<std::string> principals;       // who each token is (tokens[i]'s)
  std::vector<std::string> allowed_hosts;    // Host names besides the loopback ones
  std::vector<std::string> allowed_origins;  // Origins besides loopback ones, e.g. https://a.b
};

struct Denial {
  int status = 403;  // 403 (Host/Origin) or 401 (token)
  std::string message;
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

// nullopt when the request may proceed. `host`, `origin` and `authorization` are the request's
// header values, absent when the header is.
std::optional<Denial> check_mcp_access(const McpAccess& access,
                                       std::optional<std::string_view> host,
                                       std::optional<std::string_view> origin,
                                       std::optional<std::string_view> authorization);

// The Host and Origin checks of check_mcp_access alone (403), for routes that take no token.
std::optional<Denial> check_host_and_origin(const McpAccess& access,
                                            std::optional<std::string_view> host,
                                            std::optional<std::string_view> origin);

// Who a request that check_mcp_access let through is: the principal of the token it carries, or
// `local` when no token is needed. Compares every token, in constant time.
std::string principal_of(const McpAccess& access, std::optional<std::string_view> authorization,
                         const std::string& local);

// The value for WWW-Authenticate on a 401.
inline constexpr const char* kBearerChallenge = R"(Bearer realm="hookmcp")";

}  // namespace hookmcp::transport
