// Who may use the MCP routes (/mcp, /sse, /messages): Host and Origin allow-lists against DNS
// rebinding, and bearer tokens. Pure; safe from any thread. Intake routes never come here:
// they have their own signatures.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookmcp::transport {

struct McpAccess {
  std::vector<std::string> tokens;           // resolved values; empty: no token needed
  std::vector<std::string> allowed_hosts;    // Host names besides the loopback ones
  std::vector<std::string> allowed_origins;  // Origins besides loopback ones, e.g. https://a.b
};

struct Denial {
  int status = 403;  // 403 (Host/Origin) or 401 (token)
  std::string message;
};

// nullopt when the request may proceed. `host`, `origin` and `authorization` are the request's
// header values, absent when the header is.
std::optional<Denial> check_mcp_access(const McpAccess& access,
                                       std::optional<std::string_view> host,
                                       std::optional<std::string_view> origin,
                                       std::optional<std::string_view> authorization);

// The value for WWW-Authenticate on a 401.
inline constexpr const char* kBearerChallenge = R"(Bearer realm="hookmcp")";

}  // namespace hookmcp::transport
