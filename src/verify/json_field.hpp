// One field out of a JSON text, without building a document. Normalizing a delivery needs a type,
// an action or an id from a body of up to megabytes, on every delivery: parsing all of it into a
// DOM cost more than verifying its signature.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hookmcp::verify::detail {

// The string (or integer, as its digits) at a JSON Pointer (RFC 6901) in `json`; empty when the
// member is absent, holds another type, or the text is not JSON on the way to it. Where a key
// repeats, the last one counts, as in JSON.parse. Values passed over on the way are matched
// bracket for bracket, not validated.
std::string json_string_at(std::string_view json, std::string_view pointer);

// `json` with the value of its top-level member `key` replaced by `value_json` (a JSON value's
// text), or, when the object has no such member, with it added first. Everything else stays
// byte for byte, so a payload that is signed afterwards is otherwise the one given. nullopt when
// `json` is not one JSON object. Where the key repeats, the last one (the one that counts) is
// replaced.
std::optional<std::string> with_member(std::string_view json, std::string_view key,
                                       std::string_view value_json);

// Whether the body's first character past whitespace opens a JSON object or array: how a body
// that is JSON is told from a form.
bool looks_like_json(std::string_view body);

}  // namespace hookmcp::verify::detail
