// mcp.oauth: hookmcp as an OAuth resource server. Checked here for what a mistake would make of
// it: an issuer or resource that is not an absolute URL, an issuer reached over plain http
// across a network (its keys could be swapped on the way), a token lifetime check turned off.
#include <algorithm>

#include "parse.hpp"

namespace hookmcp::config::detail {

namespace {

// The host of an absolute http(s) URL without userinfo, query or fragment; nullopt otherwise.
std::optional<std::string> url_host(const std::string& url, std::string* scheme) {
  for (std::string_view s : {"https://", "http://"}) {
    if (url.compare(0, s.size(), s) != 0) continue;
    *scheme = std::string(s.substr(0, s.size() - 3));
    std::string rest = url.substr(s.size());
    std::string authority = rest.substr(0, rest.find('/'));
    if (authority.empty() || authority.find('@') != std::string::npos ||
        url.find_first_of("?# ") != std::string::npos) {
      return std::nullopt;
    }
    if (authority.front() == '[') return authority.substr(0, authority.find(']') + 1);
    return authority.substr(0, authority.find(':'));
  }
  return std::nullopt;
}

void check_url(const std::string& url, const std::string& where, bool https_only, Findings& f) {
  std::string scheme;
  auto host = url_host(url, &scheme);
  if (!host) {
    f.error(where, "expected an absolute https:// URL without credentials, query or fragment");
    return;
  }
  if (https_only && scheme == "http" && !is_loopback_host(*host)) {
    f.error(where, "must be https:// (http:// only on this machine, for development)");
  }
}

}  // namespace

std::optional<OAuthSettings> parse_oauth(const json& v, Findings& f) {
  const std::string where = "mcp.oauth";
  if (!v.is_object()) {
    f.error(where, "expected an object");
    return std::nullopt;
  }
  check_keys(v, where, {"issuer", "audience", "resource", "scopes", "jwks_cache_s", "leeway_s"}, f);
  OAuthSettings o;
  size_t errors = f.errors.size();
  for (auto [key, out] : {std::pair{"issuer", &o.issuer}, std::pair{"audience", &o.audience},
                          std::pair{"resource", &o.resource}}) {
    if (!v.contains(key)) continue;
    if (auto s = get_string(v[key], member(where, key), f)) *out = *s;
  }
  if (o.issuer.empty()) {
    f.error(member(where, "issuer"), "is required: the authorization server's issuer URL");
  } else {
    check_url(o.issuer, member(where, "issuer"), /*https_only=*/true, f);
  }
  if (o.audience.empty()) {
    f.error(member(where, "audience"),
            "is required: the audience (aud) tokens for hookmcp carry, usually its public /mcp "
            "URL");
  }
  if (o.resource.empty()) o.resource = o.audience;
  if (!o.resource.empty()) {
    check_url(o.resource, member(where, v.contains("resource") ? "resource" : "audience"),
              /*https_only=*/false, f);
  }
  if (v.contains("scopes")) {
    if (auto s = get_strings(v["scopes"], member(where, "scopes"), f)) {
      o.scopes = std::move(*s);
      for (const char* needed : {"events:read", "events:write"}) {
        if (std::find(o.scopes.begin(), o.scopes.end(), needed) == o.scopes.end()) {
          f.warn(member(where, "scopes"),
                 std::string("does not offer ") + needed + ", which hookmcp asks tokens for");
        }
      }
    }
  }
  if (v.contains("jwks_cache_s")) {
    if (auto n = get_int(v["jwks_cache_s"], member(where, "jwks_cache_s"), 60, 86400, f)) {
      o.jwks_cache_s = static_cast<int>(*n);
    }
  }
  if (v.contains("leeway_s")) {
    if (auto n = get_int(v["leeway_s"], member(where, "leeway_s"), 0, 300, f)) {
      o.leeway_s = static_cast<int>(*n);
    }
  }
  if (f.errors.size() != errors) return std::nullopt;
  return o;
}

}  // namespace hookmcp::config::detail
