// Bytes as text: UTF-8 well-formedness, hex and base64, clipping. The one home of each, for the
// CLI, the MCP tools and the verifiers alike. Pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hookmcp {

// Well-formed UTF-8 as RFC 3629 defines it: no overlong forms, no encoded surrogates
// (U+D800..U+DFFF), nothing past U+10FFFF, no sequence cut short. Whether a payload is given as
// text or as base64 depends on it, so every caller must agree.
bool valid_utf8(std::string_view text);

// Code points in `text` (continuation bytes not counted): the columns a terminal gives to the
// names and types a webhook carries.
size_t utf8_length(std::string_view text);

// `text` cut to at most `max_chars` code points, the last of them "…" when something was cut,
// never in the middle of a UTF-8 sequence. `max_chars` of at least 1.
std::string clip(std::string_view text, size_t max_chars);

// `text` made safe for one line of a log or terminal, clipped as clip() does: control
// characters become '?', and so does every byte of a text that is not UTF-8. What a sender
// chose (a type, a delivery id) cannot start a line of its own or move the cursor.
std::string printable(std::string_view text, size_t max_chars);

std::string hex_encode(std::string_view bytes);               // lowercase
std::optional<std::string> hex_decode(std::string_view hex);  // either case
std::string base64_encode(std::string_view bytes);            // standard alphabet, padded
// Standard alphabet, padded or not; nullopt for any other character or an impossible length.
std::optional<std::string> base64_decode(std::string_view text);
// The URL-safe alphabet without padding (RFC 4648 5, as JWS uses it, RFC 7515 2); the decoder
// refuses '+', '/', '=' and an impossible length.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace hookmcp
