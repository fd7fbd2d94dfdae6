#include "hookmcp/transport/mcp_access.hpp"

#include <algorithm>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/headers.hpp"
#include "hookmcp/verify/crypto.hpp"

namespace hookmcp::transport {

namespace {

// "name:port" or "[v6]:port" or a bare name -> the name, lowercase letters compared by caller.
std::string_view strip_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

bool host_allowed(const McpAccess& access, std::string_view host) {
  std::string_view name = strip_port(host);
  if (config::is_loopback_host(name)) return true;
  return std::any_of(
      access.allowed_hosts.begin(), access.allowed_hosts.end(),
      [&](const std::string& allowed) { return iequals(allowed, host) || iequals(allowed, name); });
}

bool origin_allowed(const McpAccess& access, std::string_view origin) {
  if (std::any_of(access.allowed_origins.begin(), access.allowed_origins.end(),
                  [&](const std::string& allowed) { return iequals(allowed, origin); })) {
    return true;
  }
  // A page served from this machine: http(s)://localhost[:port], http://127.0.0.1[:port].
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.substr(0, scheme.size()) == scheme) {
      std::string_view authority = origin.substr(scheme.size());
      if (authority.find('/') != std::string_view::npos) return false;
      return config::is_loopback_host(strip_port(authority));
    }
  }
  return false;
}

}  // namespace

std::optional<Denial> check_mcp_access(const McpAccess& access,
                                       std::optional<std::string_view> host,
                                       std::optional<std::string_view> origin,
                                       std::optional<std::string_view> authorization) {
  if (!host || !host_allowed(access, *host)) {
    return Denial{403, "Host not allowed; add it to mcp.allowed_hosts"};
  }
  if (origin && !origin_allowed(access, *origin)) {
    return Denial{403, "Origin not allowed; add it to mcp.allowed_origins"};
  }
  if (access.tokens.empty()) return std::nullopt;
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization || authorization->size() <= kBearer.size() ||
      !iequals(authorization->substr(0, kBearer.size()), kBearer)) {
    return Denial{401, "missing bearer token"};
  }
  std::string_view token = authorization->substr(kBearer.size());
  // Every token is compared, so the time taken does not tell which one came close.
  bool match = false;
  for (const auto& t : access.tokens) match = verify::constant_time_equal(t, token) || match;
  if (!match) return Denial{401, "invalid bearer token"};
  return std::nullopt;
}

}  // namespace hookmcp::transport
