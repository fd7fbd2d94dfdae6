// A payload under a new identity, for `hookmcp send --fresh-id`: hookmcp stores a delivery once
// per (source, delivery id), and for stripe and slack that id is in the payload, so sending the
// same file twice is a repeat unless the payload changes.
#include <algorithm>
#include <cctype>
#include <vector>

#include "hookmcp/core/random.hpp"
#include "hookmcp/verify/sign.hpp"
#include "providers.hpp"

namespace hookmcp::verify {

namespace {

Result<std::string> fresh(std::string_view prefix, size_t bytes, bool upper = false) {
  auto hex = random_hex(bytes);
  if (!hex) return hex.error();
  if (upper) {
    std::transform(hex->begin(), hex->end(), hex->begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  }
  return std::string(prefix) + *hex;
}

// The JSON text of a string made of letters, digits and '_' (nothing to escape).
std::string json_text(const std::string& plain) { return "\"" + plain + "\""; }

// A form with its first `key` field set to `value` (letters and digits: nothing to escape), or
// with the field appended when it has none.
std::string with_form_field(std::string_view body, std::string_view key, const std::string& value) {
  const std::string set = std::string(key) + "=" + value;
  std::string out;
  bool replaced = false;
  const std::vector<std::string_view> fields = detail::split(body, '&');
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string_view field = fields[i];
    if (i > 0) out += '&';
    bool match = !replaced && field.substr(0, field.find('=')) == key;
    out.append(match ? std::string_view(set) : field);
    replaced = replaced || match;
  }
  if (!replaced) out.append(body.empty() ? "" : "&").append(set);
  return out;
}

}  // namespace

Result<std::string> with_fresh_id(std::string_view provider, std::string_view body) {
  if (provider == "stripe") {
    auto id = fresh("evt_", 12);
    if (!id) return id.error();
    auto out = detail::with_member(body, "id", json_text(*id));
    if (!out) {
      return make_error(ErrorCode::kInvalidArgument,
                        "a stripe payload is a JSON object, where --fresh-id sets \"id\"");
    }
    return *out;
  }
  if (provider == "postmark") {
    auto id = random_uuid();
    if (!id) return id.error();
    auto out = detail::with_member(body, "MessageID", json_text(*id));
    if (!out) {
      return make_error(ErrorCode::kInvalidArgument,
                        "a postmark payload is a JSON object, where --fresh-id sets \"MessageID\"");
    }
    return *out;
  }
  if (provider == "slack") {
    if (detail::looks_like_json(body)) {
      auto id = fresh("Ev", 8, /*upper=*/true);
      if (!id) return id.error();
      auto out = detail::with_member(body, "event_id", json_text(*id));
      if (!out) {
        return make_error(ErrorCode::kInvalidArgument,
                          "this slack payload is neither one JSON object nor a form");
      }
      return *out;
    }
    auto trigger = random_hex(16);
    if (!trigger) return trigger.error();
    return with_form_field(body, "trigger_id", *trigger);
  }
  return std::string(body);
}

}  // namespace hookmcp::verify
