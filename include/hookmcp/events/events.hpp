// MCP Events (extension io.modelcontextprotocol/events, SEP-3415): hookmcp's stored webhooks as
// the events an assistant subscribes to. What an event is (its definition, its arguments, the
// occurrence a client receives) and how a reader walks the store by cursor, the same for every
// delivery mode: poll, push (a stream on the request) and webhook (the outbound module).
// Knows no transport and no session. Pure functions, safe from any thread; the readers block.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/core/event.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::events {

using nlohmann::json;

inline constexpr const char* kExtension = "io.modelcontextprotocol/events";
inline constexpr const char* kWebhookReceived = "webhook.received";

// The extension's JSON-RPC error codes (SEP-3415, "Error Handling").
inline constexpr int kNotFound = -32023;
inline constexpr int kForbidden = -32024;
inline constexpr int kResourceExhausted = -32025;
inline constexpr int kUnsupported = -32026;
inline constexpr int kCallbackEndpointError = -32027;

// An occurrence's data carries at most this much payload; a larger one is cut, with
// `truncated: true` and the event id to fetch it whole (get_event).
inline constexpr int64_t kMaxPayloadBytes = int64_t{256} * 1024;

// events/list's result: every event this server offers, with its arguments' and data's JSON
// Schemas and its delivery modes (poll and push; webhook too when `webhook`).
json definitions(bool webhook);

// What a subscription to webhook.received asks for: its arguments, checked.
struct Query {
  std::optional<std::string> source;
  std::optional<std::string> type;
  std::optional<std::string> action;
  std::vector<std::pair<std::string, json>> match;  // JSON Pointer -> expected value
  bool include_payload = true;
  // The arguments as the client gave them, keys sorted: with the name, part of a webhook
  // subscription's identity.
  json arguments = json::object();

  // What the summary alone can rule out (no headers, no body needed).
  bool could_match(const Event& summary) const;
  // The whole test, on an event with its body.
  bool matches(const Event& event) const;
  // The store filter for the events after `position`, oldest first.
  store::EventFilter filter_after(int64_t position, int limit) const;
};

// `name` and `arguments` of an events/* request: an rpc protocol error NotFound (data.kind
// "event") for a name this server does not offer, -32602 naming the argument that is wrong.
Result<Query> parse_query(const json& name, const json& arguments);

// A cursor is a position in the store: every event with an id at or below it is behind the
// reader. Written as the id in decimal.
std::string cursor_text(int64_t position);
// The position a request's `cursor` names; nullopt for null or absent ("from now"); -32602 for
// anything this server never gave.
Result<std::optional<int64_t>> parse_cursor(const json& cursor);

// Where a reader starts: from `cursor`, or the newest event when it has none; `max_age_ms`
// skips what is older. `truncated` when events after the cursor were pruned by retention or
// skipped for their age before anyone read them.
struct Start {
  int64_t position = 0;
  bool truncated = false;
};
Result<Start> start_position(store::Store& store, std::optional<int64_t> cursor,
                             std::optional<int64_t> max_age_ms, int64_t now_ms);

// An EventOccurrence: eventId (evt_ID, stable: a receiver dedups on it), name, timestamp, data
// (the summary, who wrote the payload, and the payload cut to kMaxPayloadBytes unless
// include_payload is false) and, when `with_cursor`, the cursor just past it.
json occurrence(const Event& event, const Query& query, bool with_cursor);
std::string event_id(int64_t id);

// The occurrences after `position`, oldest first: at most `max_events`, and no more than
// `max_bytes` of them unless one alone is larger. `position` comes back past every event looked
// at (matching or not); `more` when the store has events beyond it.
struct Page {
  std::vector<json> occurrences;
  std::vector<int64_t> ids;             // each occurrence's event id
  std::vector<int64_t> received_at_ms;  // and when it arrived
  int64_t position = 0;
  bool more = false;
};
Result<Page> read_after(store::Store& store, const Query& query, int64_t position, int max_events,
                        size_t max_bytes, bool with_cursor);

}  // namespace hookmcp::events
