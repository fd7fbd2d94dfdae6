// RFC 3339 times, as hookmcp prints them and as people and models write them, and HTTP dates.
// the TZ environment. Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hookmcp {

// RFC 3339 UTC with milliseconds: 2026-11-29T07:04:38.123Z
std::string format_rfc3339_ms(int64_t epoch_ms);

// An HTTP date (RFC 9110 IMF-fixdate) of Unix seconds: "Tue, 19 Nov 2013 01:13:52 GMT".
std::string format_http_date(int64_t epoch_s);

// Whether a time written without an offset (2026-11-29T07:04:38) is read as UTC, as a person at
// the terminal means it, or refused, as a tool argument must say its zone.
enum class MissingOffset { kUtc, kRefuse };

// 2026-11-29T07:04:38Z, with an optional fraction and an offset (Z or +HH:MM); a space or 't'
// may stand for the T; a date alone is its midnight UTC. Epoch milliseconds, or nullopt when
// `text` is not such a time.
std::optional<int64_t> parse_rfc3339_ms(std::string_view text, MissingOffset missing_offset);

}  // namespace hookmcp
