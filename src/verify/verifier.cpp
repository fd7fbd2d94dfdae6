#include "hookmcp/verify/verifier.hpp"

#include <charconv>

#include "hookmcp/verify/crypto.hpp"
#include "providers.hpp"

namespace hookmcp::verify {

std::unique_ptr<Verifier> make_verifier(const config::Source& source) {
  const std::string& p = source.provider;
  if (p == "github") return detail::make_github(source);
  if (p == "hmac") return detail::make_hmac(source);
  if (p == "none") return detail::make_none(source);
  return nullptr;
}

std::string body_delivery_id(std::string_view body) { return "sha256:" + hex_encode(sha256(body)); }

namespace detail {

std::optional<nlohmann::json> parse_json(std::string_view body) {
  size_t i = body.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos || (body[i] != '{' && body[i] != '[')) return std::nullopt;
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::nullopt;
  return doc;
}

std::string string_at(const std::optional<nlohmann::json>& doc, const std::string& pointer) {
  if (!doc || pointer.empty()) return {};
  // json_pointer's constructor throws on malformed pointers; config validation keeps them
  // well formed, and a payload cannot change the pointer, so a throw here means a bug.
  nlohmann::json::json_pointer ptr(pointer);
  if (!doc->contains(ptr)) return {};
  const auto& v = (*doc)[ptr];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return {};
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

}  // namespace detail
}  // namespace hookmcp::verify
