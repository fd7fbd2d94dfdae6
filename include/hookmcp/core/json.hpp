// JSON from untrusted text (webhook payloads, JSON-RPC messages) with its nesting bounded.
//
// nlohmann_json parses iteratively, but copying, comparing and dumping a value recurse once per
// level of nesting: a 200 KB payload of `[[[...]]]` 100,000 levels deep overflows the stack of
// whatever thread touches it. Every parse of text from outside goes through parse_json, which
// refuses such text before building anything.
#pragma once

#include <cstddef>
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

}  // namespace hookmcp
