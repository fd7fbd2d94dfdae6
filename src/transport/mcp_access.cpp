#include "hookmcp/transport/mcp_access.hpp"

#include <algorithm>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/headers.hpp"
#include "hookmcp/verify/crypto.hpp"

namespace hookmcp::transport {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool is_name_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

bool host_allowed(const McpAccess& access, std::string_view host) {
  auto authority = parse_authority(host);
  if (!authority) return false;
  if (config::is_loopback_host(authority->host)) return true;
  return std::any_of(access.allowed_hosts.begin(), access.allowed_hosts.end(),
                     [&](const std::string& allowed) {
                       return iequals(allowed, host) || iequals(allowed, authority->host);
                     });
}

bool origin_allowed(const McpAccess& access, std::string_view origin) {
  if (std::any_of(access.allowed_origins.begin(), access.allowed_origins.end(),
                  [&](const std::string& allowed) { return iequals(allowed, origin); })) {
    return true;
  }
  // A page served from this machine: http(s)://localhost[:port], http://127.0.0.1[:port]. An
  // origin is scheme "://" authority and nothing else (RFC 6454 6.1).
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.size() > scheme.size() && iequals(origin.substr(0, scheme.size()), scheme)) {
      auto authority = parse_authority(origin.substr(scheme.size()));
      return authority && config::is_loopback_host(authority->host);
    }
  }
  return false;
}

}  // namespace

std::optional<Authority> parse_authority(std::string_view text) {
  Authority out;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    std::string_view literal = text.substr(1, close - 1);
    if (!std::all_of(literal.begin(), literal.end(),
                     [](char c) { return is_hex(c) || c == ':' || c == '.'; })) {
      return std::nullopt;
    }
    out.host = text.substr(0, close + 1);
    rest = text.substr(close + 1);
  } else {
    auto colon = text.find(':');
    out.host = text.substr(0, colon);
    if (out.host.empty() || !std::all_of(out.host.begin(), out.host.end(), is_name_char)) {
      return std::nullopt;
    }
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
  }
  if (rest.empty()) return out;
  if (rest.front() != ':') return std::nullopt;
  out.port = rest.substr(1);
  if (out.port.empty() || out.port.size() > 5 ||
      !std::all_of(out.port.begin(), out.port.end(), is_digit)) {
    return std::nullopt;
  }
  return out;
}

std::optional<Denial> check_host_and_origin(const McpAccess& access,
                                            std::optional<std::string_view> host,
                                            std::optional<std::string_view> origin) {
  if (!host || !host_allowed(access, *host)) {
    return Denial{403, "Host not allowed; add it to mcp.allowed_hosts"};
  }
  if (origin && !origin_allowed(access, *origin)) {
    return Denial{403, "Origin not allowed; add it to mcp.allowed_origins"};
  }
  return std::nullopt;
}

namespace {

// The principal of the static token `token`, or nullopt. Every token is compared, so the time
// taken does not tell which one came close.
std::optional<std::string> static_principal(const McpAccess& access, std::string_view token) {
  std::optional<std::string> found;
  for (size_t i = 0; i < access.tokens.size(); ++i) {
    bool match = verify::constant_time_equal(access.tokens[i], token);
    if (match && !found) {
      found =
          i < access.principals.size() ? access.principals[i] : "token-" + std::to_string(i + 1);
    }
  }
  return found;
}

Denial unauthorized(const McpAccess& access, std::string message, std::string_view error) {
  Denial d{401, std::move(message), kBearerChallenge};
  if (access.oauth) {
    d.www_authenticate = access.oauth->challenge(error, error.empty() ? "" : d.message,
                                                 access.oauth->options().scopes);
  }
  return d;
}

}  // namespace

std::variant<Caller, Denial> authenticate(const McpAccess& access,
                                          std::optional<std::string_view> authorization,
                                          const std::string& local) {
  if (!access.needs_token()) return Caller{local};
  auto token = auth::bearer_token(authorization);
  if (!token) return unauthorized(access, "missing bearer token", "");
  if (auto principal = static_principal(access, *token)) return Caller{std::move(*principal)};
  if (!access.oauth) return unauthorized(access, "invalid bearer token", "");
  auto verdict = access.oauth->authenticate(*token);
  if (auto* refusal = std::get_if<auth::Refusal>(&verdict)) {
    if (refusal->status == 503) return Denial{503, refusal->description, ""};
    return unauthorized(access, refusal->description, "invalid_token");
  }
  auto& grant = std::get<auth::Grant>(verdict);
  return Caller{grant.principal, grant.has(auth::kReadScope), grant.has(auth::kWriteScope), true};
}

bool may_block(const McpAccess& access, std::optional<std::string_view> authorization) {
  if (!access.oauth) return false;
  auto token = auth::bearer_token(authorization);
  return token && access.oauth->may_block(*token);
}

Denial insufficient_scope(const McpAccess& access, const std::string& scope) {
  std::string message = "the access token lacks the scope " + scope;
  Denial d{403, message, ""};
  if (access.oauth) {
    std::vector<std::string> scopes = {auth::kReadScope};
    if (scope != auth::kReadScope) scopes.push_back(scope);
    d.www_authenticate = access.oauth->challenge("insufficient_scope", message, scopes);
  }
  return d;
}

}  // namespace hookmcp::transport
