// JSON from untrusted text (webhook payloads, JSON-RPC messages) with its nesting bounded.
//
// nlohmann_json parses iteratively, but copying, comparing and dumping a value recurse once per
// level of nesting: a 200 KB payload of `[[[...]]]` 100,000 levels deep overflows the stack of
// whatever thread touches it. Every parse of text from outside goes through parse_json, which
// refuses such text before building anything.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hookmcp {

// Real payloads nest well under 20 levels (a GitHub pull_request event: 7).
inline constexpr size_t kMaxJsonDepth = 64;

// Whether arrays and objects in `text` nest more than `max_depth` levels deep, counting
// brackets outside strings in one pass. Not a validator: invalid JSON may answer either way.
bool json_deeper_than(std::string_view text, size_t max_depth);

template <typename Json>
struct BasicParsedJson {
  Json value;             // discarded unless ok()
  bool too_deep = false;  // valid or not, it nests deeper than allowed and was not parsed
  bool ok() const { return !value.is_discarded(); }
};
using ParsedJson = BasicParsedJson<nlohmann::json>;

// `text` parsed, or a discarded value when it is not JSON or nests deeper than `max_depth`.
template <typename Json = nlohmann::json>
BasicParsedJson<Json> parse_json(std::string_view text, size_t max_depth = kMaxJsonDepth) {
  if (json_deeper_than(text, max_depth)) return {Json(Json::value_t::discarded), true};
  return {Json::parse(text, nullptr, /*allow_exceptions=*/false), false};
}

// A reference token with ~1 and ~0 undone, of a pointer valid_json_pointer accepted.
std::string unescape_json_pointer_token(std::string_view token);
// An array index token: decimal, no leading zero, at most 9 digits.
std::optional<size_t> json_pointer_index(std::string_view token);

// Whether `pointer` is a JSON Pointer (RFC 6901): empty, or "/" before each token, "~" only as
// "~0" or "~1".
bool valid_json_pointer(std::string_view pointer);
// The value at `pointer` in `doc`, or nullptr when there is none or the pointer is malformed.
// Array indexes are decimal without leading zeros. Never throws.
template <typename Json>
const Json* resolve_json_pointer(const Json& doc, std::string_view pointer) {
  if (!valid_json_pointer(pointer)) return nullptr;
  const Json* at = &doc;
  size_t pos = 0;
  while (pos < pointer.size()) {
    size_t next = pointer.find('/', pos + 1);
    std::string token = unescape_json_pointer_token(
        pointer.substr(pos + 1, next == std::string_view::npos ? pointer.npos : next - pos - 1));
    if (at->is_object()) {
      auto it = at->find(token);
      if (it == at->end()) return nullptr;
      at = &*it;
    } else if (at->is_array()) {
      auto index = json_pointer_index(token);
      if (!index || *index >= at->size()) return nullptr;
      at = &(*at)[*index];
    } else {
      return nullptr;
    }
    if (next == std::string_view::npos) break;
    pos = next;
  }
  return at;
}

}  // namespace hookmcp
