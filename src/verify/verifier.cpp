#include "hookmcp/verify/verifier.hpp"

#include <charconv>
#include <chrono>
#include <fstream>
#include <sstream>

#include "hookmcp/auth/key_cache.hpp"
#include "hookmcp/core/form.hpp"
#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/crypto.hpp"
#include "providers.hpp"

namespace hookmcp::verify {

namespace {

// A document from a file (a path, or file:PATH: a JWKS or certificate the operator keeps on
// disk), else from the network.
Fetch file_or(Fetch fetch) {
  return [fetch = std::move(fetch)](const std::string& url) -> Result<std::string> {
    std::string path;
    if (url.rfind("file:", 0) == 0) path = url.substr(5);
    if (!url.empty() && url[0] == '/') path = url;
    if (path.empty()) return fetch(url);
    if (path.find("..") != std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument, path + ": \"..\" is not allowed");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorCode::kIo, "cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
}

}  // namespace

std::unique_ptr<Verifier> make_verifier(const config::Source& source, Fetch fetch) {
  if (!fetch) fetch = auth::https_fetch(std::chrono::seconds(5));
  fetch = file_or(std::move(fetch));
  const std::string& p = source.provider;
  if (p == "github") return detail::make_github(source);
  if (p == "hmac") return detail::make_hmac(source);
  if (p == "none") return detail::make_none(source);
  if (p == "stripe") return detail::make_stripe(source);
  if (p == "slack") return detail::make_slack(source);
  if (p == "standard") return detail::make_standard(source);
  if (p == "shopify") return detail::make_shopify(source);
  if (p == "gitlab") return detail::make_gitlab(source);
  if (p == "google-calendar") return detail::make_google_calendar(source);
  if (p == "postmark") return detail::make_postmark(source);
  if (p == "msgraph") return detail::make_msgraph(source);
  if (p == "mailgun") return detail::make_mailgun(source);
  if (p == "sendgrid") return detail::make_sendgrid(source);
  if (p == "gmail") return detail::make_gmail(source, std::move(fetch));
  if (p == "sns") return detail::make_sns(source, std::move(fetch));
  return nullptr;
}

std::string body_delivery_id(std::string_view body) { return "sha256:" + hex_encode(sha256(body)); }

namespace detail {

bool signed_by_any(const std::vector<std::string>& secrets, Digest digest, std::string_view message,
                   std::span<const std::string> signatures) {
  for (const auto& secret : secrets) {
    std::string expected = hmac(digest, secret, message);
    if (expected.empty()) continue;  // OpenSSL failed: an empty signature must not match it
    for (const auto& signature : signatures) {
      if (constant_time_equal(expected, signature)) return true;
    }
  }
  return false;
}

SecretTokens::SecretTokens(const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) digests_.push_back(sha256(s));
}

bool SecretTokens::match(std::string_view given) const {
  const std::string digest = sha256(given);
  bool match = false;
  for (const auto& d : digests_) match |= constant_time_equal(d, digest);
  return match;
}

std::vector<std::string> secret_values(const config::Source& source) {
  std::vector<std::string> out;
  for (const auto& s : source.secrets) out.push_back(s.value);
  return out;
}

bool timestamp_fresh(std::string_view timestamp, int64_t now_s, int tolerance_s, std::string& why) {
  int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size() || timestamp.empty()) {
    why = "timestamp is not a number";
    return false;
  }
  if (ts < now_s - tolerance_s) {
    why = "timestamp is " + std::to_string(now_s - ts) + " s old (tolerance " +
          std::to_string(tolerance_s) + " s)";
    return false;
  }
  if (ts > now_s + tolerance_s) {
    why = "timestamp is " + std::to_string(ts - now_s) + " s in the future (tolerance " +
          std::to_string(tolerance_s) + " s)";
    return false;
  }
  return true;
}

std::optional<Verdict> refuse_repeated(const Headers& headers,
                                       std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    if (name.empty()) continue;
    size_t copies = 0;
    for (const auto& field : headers.fields()) copies += iequals(field.first, name) ? 1 : 0;
    if (copies > 1)
      return Verdict::rejected_in_public(std::string(name) + " is sent more than once");
  }
  return std::nullopt;
}

std::optional<std::string_view> single_header(const Headers& headers, std::string_view name,
                                              std::string& why) {
  std::optional<std::string_view> found;
  for (const auto& [key, value] : headers.fields()) {
    if (!iequals(key, name)) continue;
    if (found) {
      why = std::string(name) + " is sent more than once";
      return std::nullopt;
    }
    found = value;
  }
  if (!found) {
    why = "missing " + std::string(name);
    return std::nullopt;
  }
  if (found->size() > kMaxSignatureHeader) {
    why = std::string(name) + " is " + std::to_string(found->size()) + " bytes long";
    return std::nullopt;
  }
  return found;
}

std::string string_member(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return std::string();
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::optional<std::string> form_value(std::string_view body, std::string_view key) {
  for (std::string_view field : split(body, '&')) {
    size_t eq = field.find('=');
    std::string_view name = field.substr(0, eq);
    if (name != key) continue;
    return url_decode(eq == std::string_view::npos ? std::string_view() : field.substr(eq + 1));
  }
  return std::nullopt;
}

}  // namespace detail
}  // namespace hookmcp::verify
