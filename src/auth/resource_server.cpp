#include "hookmcp/auth/resource_server.hpp"

#include <algorithm>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/text.hpp"

namespace hookmcp::auth {

using nlohmann::json;

namespace {

// "https://host:port" and "/path" of an absolute URL (the path without a trailing '/').
struct Split {
  std::string origin;
  std::string path;
};
std::optional<Split> split_url(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  size_t path_start = url.find('/', scheme_end + 3);
  Split out;
  out.origin = std::string(url.substr(0, path_start));
  if (path_start != std::string_view::npos) {
    std::string_view path = url.substr(path_start);
    path = path.substr(0, path.find_first_of("?#"));
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    out.path = std::string(path);
  }
  return out;
}

// A value for a quoted-string of an auth-param (RFC 9110 5.6.4), without '"' and '\'.
std::string auth_param(std::string_view text) {
  std::string out = printable(text, 200);
  std::replace(out.begin(), out.end(), '"', '\'');
  std::replace(out.begin(), out.end(), '\\', '/');
  return out;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// The scopes of a token: RFC 9068's space-separated `scope`, or `scp` (a list or a string, as
// Microsoft Entra and Okta write it).
std::vector<std::string> scopes_of(const json& claims) {
  std::vector<std::string> out;
  auto add_words = [&out](const std::string& text) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find(' ', pos);
      if (end == std::string::npos) end = text.size();
      if (end > pos) out.push_back(text.substr(pos, end - pos));
      pos = end + 1;
    }
  };
  for (const char* name : {"scope", "scp"}) {
    auto it = claims.find(name);
    if (it == claims.end()) continue;
    if (it->is_string()) add_words(it->get<std::string>());
    if (it->is_array()) {
      for (const auto& s : *it) {
        if (s.is_string()) add_words(s.get<std::string>());
      }
    }
  }
  return out;
}

}  // namespace

bool Grant::has(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

ResourceServer::ResourceServer(OAuthOptions options, Fetch fetch, const Clock& clock)
    : options_(std::move(options)),
      fetch_(std::move(fetch)),
      clock_(clock),
      keys_(
          {options_.jwks_cache, options_.refresh_interval, options_.retry_interval},
          [this] { return discover_jwks_uri(); }, fetch_) {}

Result<std::string> ResourceServer::discover_jwks_uri() {
  // RFC 8414 3.1 puts the well-known segment between the host and the issuer's path; OpenID
  // Connect Discovery 4 appends it to the issuer; some servers only answer the latter inserted.
  auto split = split_url(options_.issuer);
  if (!split) return make_error(ErrorCode::kInvalidArgument, "issuer is not a URL");
  std::string trimmed = split->origin + split->path;
  std::vector<std::string> candidates = {
      split->origin + "/.well-known/oauth-authorization-server" + split->path,
      trimmed + "/.well-known/openid-configuration"};
  if (!split->path.empty()) {
    candidates.push_back(split->origin + "/.well-known/openid-configuration" + split->path);
  }
  std::string failures;
  for (const auto& url : candidates) {
    auto body = fetch_(url);
    if (!body) {
      failures += (failures.empty() ? "" : "; ") + body.error().message;
      continue;
    }
    auto doc = parse_json(*body);
    if (!doc.ok() || !doc.value.is_object()) {
      failures += (failures.empty() ? "" : "; ") + url + ": not a JSON object";
      continue;
    }
    // RFC 8414 3.3: the issuer in the document must be the one asked about, or a server could
    // speak for another's tokens.
    auto issuer = doc.value.find("issuer");
    if (issuer == doc.value.end() || !issuer->is_string() || *issuer != options_.issuer) {
      return make_error(ErrorCode::kInvalidArgument,
                        url + " names another issuer than " + options_.issuer);
    }
    auto jwks = doc.value.find("jwks_uri");
    if (jwks == doc.value.end() || !jwks->is_string()) {
      return make_error(ErrorCode::kInvalidArgument, url + " has no jwks_uri");
    }
    return jwks->get<std::string>();
  }
  return make_error(ErrorCode::kIo, "no authorization server metadata: " + failures);
}

Status ResourceServer::refresh_keys() { return keys_.refresh(clock_.now_ms()); }

bool ResourceServer::may_block(std::string_view token) const {
  auto jws = parse_jws(token);
  return keys_.may_block(jws ? std::string_view(jws->kid) : std::string_view(),
                         jws ? std::string_view(jws->alg) : std::string_view(), clock_.now_ms());
}

std::optional<std::string> ResourceServer::check_claims(const json& claims) const {
  int64_t now = clock_.now_ms();
  int64_t leeway = std::chrono::duration_cast<std::chrono::milliseconds>(options_.leeway).count();
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() || *iss != options_.issuer) {
    return "token was issued by another issuer";
  }
  auto aud = claims.find("aud");
  bool for_us = false;
  if (aud != claims.end() && aud->is_string()) for_us = *aud == options_.audience;
  if (aud != claims.end() && aud->is_array()) {
    for_us = std::any_of(aud->begin(), aud->end(),
                         [&](const json& a) { return a.is_string() && a == options_.audience; });
  }
  if (!for_us) return "token is for another audience (aud must hold " + options_.audience + ")";
  auto exp = date_ms(claims, "exp");
  if (!exp) return "token has no expiry (exp)";
  if (now >= *exp + leeway) return "token expired";
  if (claims.contains("nbf")) {
    auto nbf = date_ms(claims, "nbf");
    if (!nbf) return "token's nbf is not a date";
    if (now + leeway < *nbf) return "token is not valid yet (nbf)";
  }
  if (auto iat = date_ms(claims, "iat"); iat && now + leeway < *iat) {
    return "token was issued in the future (iat)";
  }
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty() ||
      sub->get_ref<const std::string&>().size() > 255) {
    return "token has no subject (sub)";
  }
  return std::nullopt;
}

std::variant<Grant, Refusal> ResourceServer::authenticate(std::string_view token) {
  auto jws = parse_jws(token);
  if (!jws) return Refusal{401, jws.error().message};
  auto found = keys_.find(jws->kid, jws->alg, clock_.now_ms());
  if (!found.set) return Refusal{503, "the issuer's keys cannot be fetched: " + found.why};
  const auto& candidates = found.candidates;
  if (candidates.empty()) {
    return Refusal{401, "token is signed with a key the issuer does not publish (kid \"" +
                            printable(jws->kid, 64) + "\", " + jws->alg + ")"};
  }
  bool verified = std::any_of(candidates.begin(), candidates.end(), [&](const PublicKey* key) {
    return key->verify(jws->alg, jws->signing_input, jws->signature);
  });
  if (!verified) return Refusal{401, "token signature does not verify"};
  if (auto wrong = check_claims(jws->claims)) return Refusal{401, *wrong};
  return Grant{jws->claims["sub"].get<std::string>(), scopes_of(jws->claims)};
}

json ResourceServer::metadata() const {
  return {{"resource", options_.resource},
          {"authorization_servers", json::array({options_.issuer})},
          {"scopes_supported", options_.scopes},
          {"bearer_methods_supported", json::array({"header"})},
          {"resource_name", "hookmcp"}};
}

std::string ResourceServer::metadata_url() const {
  auto split = split_url(options_.resource);
  if (!split) return std::string();
  return split->origin + "/.well-known/oauth-protected-resource" + split->path;
}

std::string ResourceServer::metadata_path() const {
  auto split = split_url(options_.resource);
  return "/.well-known/oauth-protected-resource" + (split ? split->path : std::string());
}

std::string ResourceServer::challenge(std::string_view error, std::string_view description,
                                      const std::vector<std::string>& scopes) const {
  std::string out = "Bearer resource_metadata=\"" + auth_param(metadata_url()) + "\"";
  if (!scopes.empty()) out += ", scope=\"" + auth_param(join(scopes)) + "\"";
  if (!error.empty()) out += ", error=\"" + std::string(error) + "\"";
  if (!description.empty()) out += ", error_description=\"" + auth_param(description) + "\"";
  return out;
}

}  // namespace hookmcp::auth
