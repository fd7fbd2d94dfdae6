// A webhook delivery as hookmcp stores it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hookmcp/core/time.hpp"

namespace hookmcp {

// What intake hands to the store. Every field is final: the store adds only the id.
struct NewEvent {
  std::string source;
  std::string provider;
  std::string type;
  std::string action;
  std::string delivery_id;     // unique per source; dedup key
  int64_t received_at_ms = 0;  // Unix epoch, milliseconds
  bool verified = false;
  std::string headers_json;  // JSON object of the request headers, credentials redacted
  std::string content_type;
  std::string body;  // byte for byte as received
};

struct Event {
  int64_t id = 0;
  std::string source;
  std::string provider;
  std::string type;
  std::string action;
  std::string delivery_id;
  int64_t received_at_ms = 0;
  bool verified = false;
  std::string headers_json;
  std::string content_type;
  std::string body;
  int64_t size = 0;
  std::optional<int64_t> acked_at_ms;
  std::string ack_note;
};

// A source name, in config and in /hooks/{source}: 1 to 64 of [A-Za-z0-9._-], and not "." or
// "..", which a URI path (hookmcp://sources/{source}, /hooks/{source}) would resolve away.
bool valid_source_name(std::string_view name);
// The source of the notices triggers write for assistants (a trigger's `notify`): no webhook
// is taken under this name, so that nobody outside can write one.
inline constexpr const char* kNoticeSource = "hookmcp";
inline constexpr const char* kSourceNameRule =
    "a source name is 1 to 64 letters, digits, '-', '_' or '.', and not \".\" or \"..\"";

}  // namespace hookmcp
