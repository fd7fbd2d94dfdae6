// Google Calendar and Gmail. A Calendar notification says only that the calendar changed: the
// changes are read with events.list and the stored sync token, one event stored per changed
// calendar event. A Gmail notification (through Pub/Sub) gives only a history id: the new
// messages are read with history.list from the stored one, then each message's metadata.
// https://developers.google.com/workspace/calendar/api/guides/push
// https://developers.google.com/workspace/calendar/api/guides/sync
// https://developers.google.com/workspace/gmail/api/guides/push
#include <set>

#include "api.hpp"
#include "hookmcp/core/form.hpp"
#include "hookmcp/core/time.hpp"

namespace hookmcp::connections::detail {

namespace {

// ---- Calendar ----

std::string events_url(const config::Connection& c) {
  return c.api_url + "/calendars/" + url_encode(c.calendar) + "/events";
}

int64_t number_of(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    try {
      return std::stoll(v.get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

// created, updated or cancelled, from the event resource alone: Google sends a deleted event as
// status "cancelled", and one whose `created` and `updated` are the same instant is new.
std::string change_of(const json& item) {
  if (item.value("status", "") == "cancelled") return "event.cancelled";
  auto created = parse_rfc3339_ms(item.value("created", ""), MissingOffset::kUtc);
  auto updated = parse_rfc3339_ms(item.value("updated", ""), MissingOffset::kUtc);
  if (created && updated && *updated - *created < 1000) return "event.created";
  return "event.updated";
}

// Reads the changes since the stored sync token (all events when there is none) and returns the
// next sync token. With `store_changes`, each is stored as an event.
Result<std::string> sync_events(Context& x, bool store_changes) {
  std::string page;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> q = {{"maxResults", "250"},
                                                          {"showDeleted", "true"}};
    if (!x.state.cursor.empty()) q.emplace_back("syncToken", x.state.cursor);
    if (!page.empty()) q.emplace_back("pageToken", page);
    auto r = x.call("GET", events_url(x.c) + "?" + form_encode(q));
    if (!r) return r.error();
    if (r->status == 410 && !x.state.cursor.empty()) {
      // The sync token expired: read everything again; what was stored already is a repeat.
      x.state.cursor.clear();
      page.clear();
      continue;
    }
    if (r->status != 200 || !r->body.is_object()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot list the events of calendar " + x.c.calendar + ": " + describe(*r));
    }
    if (store_changes) {
      std::vector<NewEvent> changes;
      for (const json& item : r->body.value("items", json::array())) {
        if (!item.is_object() || !item.contains("id")) continue;
        // A full resync lists the whole calendar: what last changed before reading began is
        // the past, never told before, and not told now.
        auto updated = parse_rfc3339_ms(item.value("updated", ""), MissingOffset::kUtc);
        if (x.state.since_ms != 0 && updated && *updated < x.state.since_ms) continue;
        std::string type = change_of(item);
        changes.push_back(derived_event(
            x.c, type, item.value("id", "") + ":" + item.value("updated", "") + ":" + type, item,
            x.now_ms));
      }
      if (!changes.empty()) {
        if (auto s = x.store(std::move(changes)); !s) return s.error();
      }
    }
    page = r->body.value("nextPageToken", "");
    if (page.empty()) {
      std::string token = r->body.value("nextSyncToken", "");
      if (token.empty()) {
        return make_error(ErrorCode::kInvalidArgument, "events.list gave no nextSyncToken");
      }
      return token;
    }
  }
}

Status stop_channel(Context& x, const std::string& id, const std::string& resource_id) {
  auto r =
      x.call("POST", x.c.api_url + "/channels/stop", json{{"id", id}, {"resourceId", resource_id}});
  if (!r) return r.error();
  if (r->status != 204 && r->status != 200 && r->status != 404) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot stop channel " + id + ": " + describe(*r));
  }
  return {};
}

// A new channel; the old one, if any, is stopped after the new one is saved (no gap).
Status watch_calendar(Context& x) {
  if (x.state.cursor.empty()) {
    // The sync token first, without storing the calendar's past: changes count from now.
    auto token = sync_events(x, /*store_changes=*/false);
    if (!token) return token.error();
    x.state.cursor = *token;
    x.state.since_ms = x.now_ms;
  }
  const std::string id = random_token(16);
  auto r = x.call("POST", events_url(x.c) + "/watch",
                  json{{"id", id},
                       {"type", "web_hook"},
                       {"address", x.hook_url},
                       {"token", x.state.secret},
                       {"params", {{"ttl", "604800"}}}});
  if (!r) return r.error();
  if (r->status != 200 || !r->body.is_object()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot watch calendar " + x.c.calendar + ": " + describe(*r));
  }
  std::string old_id = x.state.remote_id;
  std::string old_resource = x.state.resource_id;
  x.state.remote_id = r->body.value("id", id);
  x.state.resource_id = r->body.value("resourceId", "");
  x.state.registered_at_ms = x.now_ms;
  x.state.expires_at_ms = number_of(r->body.value("expiration", json()));
  if (x.state.expires_at_ms == 0) x.state.expires_at_ms = x.now_ms + int64_t{604800} * 1000;
  if (!old_id.empty() && old_id != x.state.remote_id) {
    // Best effort: an old channel left running only sends notifications its token still opens,
    // and it ends at its own expiry.
    (void)stop_channel(x, old_id, old_resource);
  }
  return {};
}

std::string calendar_fingerprint(const Context& x) {
  return json{{"url", x.hook_url}, {"calendar", x.c.calendar}, {"api", x.c.api_url}}.dump();
}

Status calendar_check(Context& x, bool at_start) {
  (void)at_start;
  if (!x.state.remote_id.empty() && x.state.fingerprint == calendar_fingerprint(x) &&
      x.state.expires_at_ms > x.now_ms) {
    return {};
  }
  if (x.state.fingerprint != calendar_fingerprint(x)) x.state.cursor.clear();
  if (auto s = watch_calendar(x); !s) return s;
  x.state.fingerprint = calendar_fingerprint(x);
  return {};
}

Status calendar_read(Context& x, const Event& notification) {
  (void)notification;  // it says only that something changed
  auto token = sync_events(x, /*store_changes=*/true);
  if (!token) return token.error();
  x.state.cursor = *token;
  return {};
}

Status calendar_remove(Context& x) {
  if (x.state.remote_id.empty()) return {};
  if (auto s = stop_channel(x, x.state.remote_id, x.state.resource_id); !s) return s;
  x.state.remote_id.clear();
  return {};
}

// ---- Gmail ----

std::string user_url(const config::Connection& c) { return c.api_url + "/users/me"; }

std::string gmail_fingerprint(const Context& x) {
  return json{{"topic", x.c.topic}, {"labels", x.c.label_ids}, {"api", x.c.api_url}}.dump();
}

Status gmail_watch(Context& x) {
  json body = {{"topicName", x.c.topic}};
  if (!x.c.label_ids.empty()) {
    body["labelIds"] = x.c.label_ids;
    body["labelFilterBehavior"] = "include";
  }
  auto r = x.call("POST", user_url(x.c) + "/watch", body);
  if (!r) return r.error();
  if (r->status != 200 || !r->body.is_object() || !r->body.contains("historyId")) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot watch the mailbox on " + x.c.topic + ": " + describe(*r));
  }
  // A first watch reads from its history id on; a renewal goes on from where reading stands.
  if (x.state.cursor.empty()) x.state.cursor = std::to_string(number_of(r->body["historyId"]));
  x.state.remote_id = x.c.topic;
  x.state.registered_at_ms = x.now_ms;
  x.state.expires_at_ms = number_of(r->body.value("expiration", json()));
  if (x.state.expires_at_ms == 0) x.state.expires_at_ms = x.now_ms + int64_t{7} * 86400 * 1000;
  return {};
}

Status gmail_check(Context& x, bool at_start) {
  (void)at_start;
  if (x.state.fingerprint == gmail_fingerprint(x) && x.state.expires_at_ms > x.now_ms) return {};
  if (x.state.fingerprint != gmail_fingerprint(x)) x.state.cursor.clear();
  if (auto s = gmail_watch(x); !s) return s;
  x.state.fingerprint = gmail_fingerprint(x);
  return {};
}

// A message as stored: who, to whom, what about, and the snippet; the whole payload only when
// the connection asks for bodies.
json message_of(const json& m, bool include_body) {
  json out = {{"id", m.value("id", "")},
              {"threadId", m.value("threadId", "")},
              {"labelIds", m.value("labelIds", json::array())},
              {"snippet", m.value("snippet", "")},
              {"historyId", m.value("historyId", json())},
              {"internalDate", m.value("internalDate", json())}};
  if (m.contains("payload") && m["payload"].is_object()) {
    for (const json& h : m["payload"].value("headers", json::array())) {
      std::string name = h.value("name", "");
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (name == "from" || name == "to" || name == "cc" || name == "subject" || name == "date" ||
          name == "message-id") {
        out[name] = h.value("value", "");
      }
    }
    if (include_body) out["payload"] = m["payload"];
  }
  return out;
}

Status gmail_read(Context& x, const Event& notification) {
  (void)notification;  // its history id is where Gmail is now; reading starts from ours
  if (x.state.cursor.empty()) return gmail_watch(x);
  std::string page;
  std::vector<std::string> added;
  std::set<std::string> seen;
  std::string newest = x.state.cursor;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> q = {{"startHistoryId", x.state.cursor},
                                                          {"historyTypes", "messageAdded"}};
    if (!page.empty()) q.emplace_back("pageToken", page);
    auto r = x.call("GET", user_url(x.c) + "/history?" + form_encode(q));
    if (!r) return r.error();
    if (r->status == 404) {
      // The history id is too old: go on from the mailbox's current one. Messages that came in
      // between are not read (Google keeps about a week of history).
      auto profile = x.call("GET", user_url(x.c) + "/profile");
      if (!profile) return profile.error();
      if (profile->status != 200 || !profile->body.is_object()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "cannot read the mailbox's profile: " + describe(*profile));
      }
      x.state.cursor = std::to_string(number_of(profile->body.value("historyId", json())));
      return {};
    }
    if (r->status != 200 || !r->body.is_object()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot list the mailbox's history: " + describe(*r));
    }
    for (const json& h : r->body.value("history", json::array())) {
      for (const json& a : h.value("messagesAdded", json::array())) {
        std::string id = a.contains("message") ? a["message"].value("id", "") : "";
        if (!id.empty() && seen.insert(id).second) added.push_back(id);
      }
    }
    if (r->body.contains("historyId")) newest = std::to_string(number_of(r->body["historyId"]));
    page = r->body.value("nextPageToken", "");
    if (page.empty()) break;
  }
  std::vector<NewEvent> messages;
  for (const auto& id : added) {
    std::string query = x.c.include_body
                            ? "format=full"
                            : "format=metadata&metadataHeaders=From&metadataHeaders=To&"
                              "metadataHeaders=Cc&metadataHeaders=Subject&metadataHeaders=Date&"
                              "metadataHeaders=Message-ID";
    auto r = x.call("GET", user_url(x.c) + "/messages/" + url_encode(id) + "?" + query);
    if (!r) return r.error();
    if (r->status == 404) continue;  // deleted since
    if (r->status != 200 || !r->body.is_object()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot read message " + id + ": " + describe(*r));
    }
    messages.push_back(derived_event(x.c, "message.received", id,
                                     message_of(r->body, x.c.include_body), x.now_ms));
  }
  if (!messages.empty()) {
    if (auto s = x.store(std::move(messages)); !s) return s;
  }
  x.state.cursor = newest;
  return {};
}

Status gmail_remove(Context& x) {
  auto r = x.call("POST", user_url(x.c) + "/stop");
  if (!r) return r.error();
  if (r->status != 204 && r->status != 200) {
    return make_error(ErrorCode::kInvalidArgument, "cannot stop the watch: " + describe(*r));
  }
  x.state.remote_id.clear();
  return {};
}

}  // namespace

Kind calendar_kind() {
  return {calendar_check,
          renew_halfway,
          watch_calendar,
          [](const std::string& type) { return type == "exists" || type == "not_exists"; },
          calendar_read,
          calendar_remove};
}

Kind gmail_kind() {
  return {gmail_check, renew_halfway,
          gmail_watch, [](const std::string& type) { return type == "gmail.history"; },
          gmail_read,  gmail_remove};
}

}  // namespace hookmcp::connections::detail
