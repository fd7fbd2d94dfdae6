// The six tools. Each reads the database on a worker thread and answers with structured
// content (as schemas/tools/NAME.output.json describes) plus a rendering for people and models.
#include <algorithm>

#include "internal.hpp"
#include "tools_common.hpp"

namespace hookmcp::mcp {

namespace {

// The task on_worker posts: `work`, unless the call was cancelled first; a storage failure
// becomes a message that says to retry.
std::function<void()> worker_task(ToolCall call, ToolDone done,
                                  std::function<Result<ToolOutput>(ToolCall&)> work) {
  return [call = std::move(call), done = std::move(done), work = std::move(work)]() mutable {
    if (call.call->cancelled()) return;
    auto result = run_guarded([&] { return work(call); });
    auto code = result ? ErrorCode::kInternal : result.error().code;
    // kOverloaded: a budget ran out (a search's deadline), and its message says what to do.
    if (!result && code != ErrorCode::kInvalidArgument && code != ErrorCode::kNotFound &&
        code != ErrorCode::kOverloaded) {
      // Storage trouble is not the model's mistake; say so and that a retry may work.
      done(make_error(code, "hookmcp could not read the event database (" + result.error().message +
                                "); try again shortly."));
      return;
    }
    done(std::move(result));
  };
}

// Cursors are opaque to the client: base64 of "KIND1:numbers".
std::string encode_cursor(const std::string& kind, const std::vector<int64_t>& values) {
  std::string text = kind + "1";
  for (int64_t v : values) text += ":" + std::to_string(v);
  return base64_encode(text);
}

Result<std::vector<int64_t>> decode_cursor(const std::string& cursor, const std::string& kind,
                                           size_t count) {
  auto bad = make_error(ErrorCode::kInvalidArgument,
                        "cursor is not one this query handed out; pass nextCursor from the "
                        "previous page unchanged, or leave cursor out to start from the top");
  auto text = base64_decode(cursor);
  if (!text || text->rfind(kind + "1:", 0) != 0) return bad;
  std::vector<int64_t> values;
  size_t pos = kind.size() + 2;
  while (pos <= text->size()) {
    size_t end = text->find(':', pos);
    if (end == std::string::npos) end = text->size();
    std::string part = text->substr(pos, end - pos);
    if (part.empty() || part.size() > 18 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad;
    }
    values.push_back(std::stoll(part));
    pos = end + 1;
  }
  if (values.size() != count) return bad;
  return values;
}

std::string quoted_filters(const json& args) {
  std::string out;
  for (const char* key : {"source", "type", "action", "since", "until", "status"}) {
    if (auto it = args.find(key); it != args.end()) {
      out += (out.empty() ? "" : ", ") + std::string(key) + "=" + it->dump();
    }
  }
  return out.empty() ? "" : " (" + out + ")";
}

void list_sources(ToolCall call, ToolDone done) {
  on_worker(std::move(call), std::move(done), [](ToolCall& c) -> Result<ToolOutput> {
    auto& state = c.session->state();
    auto stats = state.store.sources();
    if (!stats) return stats.error();
    std::map<std::string, store::SourceStats> all;
    for (const auto& [name, provider] : state.options.configured_sources) {
      store::SourceStats s;
      s.name = name;
      s.provider = provider;
      all[name] = s;
    }
    for (auto& s : *stats) all[s.name] = std::move(s);
    json sources = json::array();
    std::string text;
    for (const auto& [name, s] : all) {
      json last = s.events > 0 ? json(format_rfc3339_ms(s.last_event_at_ms)) : json(nullptr);
      sources.push_back({{"name", s.name},
                         {"provider", s.provider},
                         {"events", s.events},
                         {"pending", s.pending},
                         {"last_event_at", last}});
      text += "- " + s.name + " (provider " + s.provider + "): " + std::to_string(s.events) +
              " events, " + std::to_string(s.pending) + " pending" +
              (s.events > 0 ? ", last at " + last.get<std::string>() : "") + "\n";
    }
    if (all.empty()) {
      text =
          "No sources yet: nothing has been delivered to /hooks/{source}. "
          "wait_for_event waits for the first delivery.";
    } else {
      text = std::to_string(all.size()) + " source(s):\n" + text +
             "list_events with source and status=\"pending\" shows a source's new events.";
    }
    return ToolOutput{{{"sources", std::move(sources)}}, std::move(text)};
  });
}

void list_events(ToolCall call, ToolDone done) {
  on_worker(std::move(call), std::move(done), [](ToolCall& c) -> Result<ToolOutput> {
    auto filter = parse_filter(c.args);
    if (!filter) return filter.error();
    int limit = c.args.value("limit", 20);
    if (auto cursor = c.args.find("cursor"); cursor != c.args.end()) {
      auto values = decode_cursor(cursor->get<std::string>(), "l", 1);
      if (!values) return values.error();
      filter->before_id = (*values)[0];
    }
    filter->limit = limit + 1;
    auto events = c.session->state().store.list(*filter);
    if (!events) return events.error();
    bool more = static_cast<int>(events->size()) > limit;
    if (more) events->resize(static_cast<size_t>(limit));
    json list = json::array();
    std::string text;
    for (const auto& e : *events) {
      list.push_back(view::summary_json(e));
      text += summary_line(e) + "\n";
    }
    json out = {{"events", std::move(list)}};
    if (events->empty()) {
      text = "No events match" + quoted_filters(c.args) +
             ". list_sources shows the sources and their counts; wait_for_event waits for the "
             "next one.";
    } else {
      text = std::to_string(events->size()) + " event(s), newest first" + quoted_filters(c.args) +
             ":\n" + text + "get_event with an id returns the payload.";
    }
    if (more) {
      out["nextCursor"] = encode_cursor("l", {events->back().id});
      text += " More events: call list_events again with the same filters and cursor \"" +
              out["nextCursor"].get<std::string>() + "\".";
    }
    return ToolOutput{std::move(out), std::move(text)};
  });
}

void get_event(ToolCall call, ToolDone done) {
  on_worker(std::move(call), std::move(done), [](ToolCall& c) -> Result<ToolOutput> {
    int64_t id = c.args["id"].get<int64_t>();
    auto& state = c.session->state();
    auto event = state.store.get(id);
    if (!event) return event.error();
    if (!event->has_value()) {
      return make_error(ErrorCode::kNotFound,
                        "No event has id " + std::to_string(id) +
                            " (it may have been pruned by retention). list_events shows the "
                            "ids that exist.");
    }
    auto out = view::event_json(**event, c.args.value("pointer", std::string()),
                                c.args.value("max_bytes", state.options.default_max_bytes));
    if (!out) return out.error();
    return ToolOutput{*out, render_event(state.nonce, **event, *out)};
  });
}

// Runs on the worker pool's heavy lane (WorkerPool::post_heavy): a search may take up to the
// store's deadline, and the other tools must still find a free worker meanwhile.
void search_events(ToolCall call, const ToolDone& done) {
  // Set when the call is cancelled (notifications/cancelled, or the client going away): the
  // store then stops the search at its next check instead of working on for no one.
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  call.call->on_cancel([cancel] { cancel->store(true); });
  auto& pool = call.session->state().pool;
  auto& metrics = call.session->state().metrics;
  auto task = worker_task(std::move(call), done, [cancel](ToolCall& c) -> Result<ToolOutput> {
    auto filter = parse_filter(c.args);
    if (!filter) return filter.error();
    auto& state = c.session->state();
    int limit = c.args.value("limit", 20);
    int64_t offset = 0;
    int64_t snapshot = 0;  // the highest id when the first page was asked for
    if (auto cursor = c.args.find("cursor"); cursor != c.args.end()) {
      auto values = decode_cursor(cursor->get<std::string>(), "s", 2);
      if (!values) return values.error();
      offset = (*values)[0];
      snapshot = (*values)[1];
    } else {
      auto max = state.store.max_id();
      if (!max) return max.error();
      snapshot = *max;
    }
    // Later events would shift the ranking under the pages already seen.
    filter->before_id = snapshot + 1;
    filter->limit = limit + 1;
    std::string query = c.args["query"].get<std::string>();
    auto page = state.store.search(query, *filter, static_cast<int>(offset), cancel);
    if (!page) {
      if (page.error().code != ErrorCode::kInvalidArgument) return page.error();
      return make_error(
          ErrorCode::kInvalidArgument,
          page.error().message + "; give query as words, \"quoted phrases\", word* or a OR b");
    }
    auto& hits = page->hits;
    bool more = static_cast<int>(hits.size()) > limit;
    if (more) hits.resize(static_cast<size_t>(limit));
    json list = json::array();
    std::string text;
    for (const auto& h : hits) {
      list.push_back(view::hit_json(h.event, h.snippet));
      text += summary_line(h.event) + "\n" + fence(state.nonce, h.event, h.snippet) + "\n";
    }
    json out = {{"events", std::move(list)}, {"payload_notice", view::kSnippetsNotice}};
    if (hits.empty()) {
      text = "Nothing matches " + json(query).dump() + quoted_filters(c.args) +
             ". Try fewer or shorter words, or word* for a prefix.";
    } else {
      text = std::to_string(hits.size()) + " match(es) for " + json(query).dump() +
             ", best first; matched words are between « and »:\n" + text;
    }
    // Within the block of matches ranked together, then on to the older block.
    if (more || page->older_than > 0) {
      out["nextCursor"] = more ? encode_cursor("s", {offset + limit, snapshot})
                               : encode_cursor("s", {0, page->older_than - 1});
      text += "More matches: call search_events again with the same query and cursor \"" +
              out["nextCursor"].get<std::string>() + "\".";
    }
    return ToolOutput{std::move(out), std::move(text)};
  });
  if (!pool.post_heavy(std::move(task))) {
    metrics.searches_busy.inc();
    done(make_error(ErrorCode::kOverloaded,
                    "hookmcp is busy with other searches (" + std::to_string(pool.heavy_slots()) +
                        " running, more waiting); call search_events again in a few seconds"));
  }
}

void ack_events(ToolCall call, ToolDone done) {
  on_worker(std::move(call), std::move(done), [](ToolCall& c) -> Result<ToolOutput> {
    std::vector<int64_t> ids;
    for (const auto& id : c.args["ids"]) ids.push_back(id.get<int64_t>());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    auto outcome = c.session->state().store.ack(ids, c.args.value("note", std::string()));
    if (!outcome) return outcome.error();
    auto join = [](const std::vector<int64_t>& v) {
      std::string s;
      for (int64_t id : v) s += (s.empty() ? "" : ", ") + std::to_string(id);
      return s;
    };
    std::string text = outcome->acked.empty()
                           ? "No event was acknowledged."
                           : "Acknowledged " + join(outcome->acked) +
                                 "; they no longer appear with status=\"pending\".";
    if (!outcome->not_found.empty()) {
      text += " No event has id " + join(outcome->not_found) + ".";
    }
    return ToolOutput{{{"acked", outcome->acked}, {"not_found", outcome->not_found}},
                      std::move(text)};
  });
}

void replay_event(ToolCall call, ToolDone done) {
  on_worker(std::move(call), std::move(done), [](ToolCall& c) -> Result<ToolOutput> {
    const ServerOptions& options = c.session->state().options;
    const std::string trigger = c.args["trigger"].get<std::string>();
    const int64_t id = c.args["id"].get<int64_t>();
    auto run = options.replay(trigger, id);
    if (!run) {
      if (run.error().code == ErrorCode::kNotFound) {
        std::string names;
        for (const auto& n : options.trigger_names) names += (names.empty() ? "" : ", ") + n;
        return make_error(ErrorCode::kInvalidArgument,
                          run.error().message + " (triggers: " + names + ")");
      }
      return run.error();
    }
    const json& r = *run;
    std::string text =
        "Trigger " + trigger + " ran on event " + std::to_string(id) + ": " +
        (r["state"] == "ok" ? std::string("ok") : "failed (" + r["error"].get<std::string>() + ")");
    if (r["status"].get<int64_t>() != 0) text += ", status " + r["status"].dump();
    text += ", " + r["duration_ms"].dump() + " ms.";
    return ToolOutput{*run, std::move(text)};
  });
}

bool has_triggers(const ServerOptions& options) { return static_cast<bool>(options.replay); }

json read_only() { return {{"readOnlyHint", true}, {"openWorldHint", false}}; }

}  // namespace

Result<store::EventFilter> parse_filter(const json& args) {
  store::EventFilter f;
  if (auto v = args.find("source"); v != args.end()) f.source = v->get<std::string>();
  if (auto v = args.find("type"); v != args.end()) f.type = v->get<std::string>();
  if (auto v = args.find("action"); v != args.end()) f.action = v->get<std::string>();
  for (const char* key : {"since", "until"}) {
    auto v = args.find(key);
    if (v == args.end()) continue;
    auto ms = parse_rfc3339(v->get<std::string>());
    if (!ms)
      return make_error(ErrorCode::kInvalidArgument, std::string(key) + ": " + ms.error().message);
    (std::string_view(key) == "since" ? f.since_ms : f.until_ms) = *ms;
  }
  std::string status = args.value("status", std::string("all"));
  f.status = status == "pending" ? store::AckFilter::kPending
             : status == "acked" ? store::AckFilter::kAcked
                                 : store::AckFilter::kAll;
  return f;
}

void on_worker(ToolCall call, ToolDone done, std::function<Result<ToolOutput>(ToolCall&)> work) {
  auto& pool = call.session->state().pool;
  pool.post(worker_task(std::move(call), std::move(done), std::move(work)));
}

std::string render_event(const std::string& nonce, const Event& e, const json& shown) {
  std::string text = "Event " + summary_line(e) + "\n";
  text += "delivery id " + one_line(e.delivery_id) + ", content type " +
          (e.content_type.empty() ? "(none)" : one_line(e.content_type)) + "\n";
  if (auto p = shown.find("pointer"); p != shown.end()) {
    text += "Showing only the payload at pointer " + p->get<std::string>() + ".\n";
  }
  const json& payload = shown["payload"];
  std::string encoding = shown["payload_encoding"].get<std::string>();
  std::string body = encoding == "json"
                         ? payload.dump(2, ' ', false, json::error_handler_t::replace)
                         : payload.get<std::string>();
  if (encoding == "base64") text += "The payload is binary; it is shown in base64.\n";
  if (auto note = shown.find("payload_note"); note != shown.end()) {
    text += "Note: " + note->get<std::string>() + ".\n";
  }
  if (shown["truncated"].get<bool>()) {
    text +=
        "The payload is cut to max_bytes; call get_event with a larger max_bytes or a "
        "pointer to see the rest.\n";
  }
  return text + fence(nonce, e, body);
}

const std::vector<Tool>& tools() {
  static const std::vector<Tool> kTools = {
      {"list_sources", "List webhook sources",
       "Lists the webhook sources hookmcp has received events from (and configured ones still "
       "waiting for their first), with each one's provider, event count, pending count and "
       "the time of its latest event. Start here.",
       read_only(), list_sources},
      {"list_events", "List webhook events",
       "Lists stored webhook events, newest first, as summaries without payloads. Filter by "
       "source, type, action, since/until (RFC 3339) and status (pending: not yet "
       "acknowledged with ack_events). At most limit events (default 20, max 200) per page; "
       "pass nextCursor back as cursor for the next page.",
       read_only(), list_events},
      {"get_event", "Get one webhook event",
       "Returns one event: its summary, request headers (credentials redacted) and payload. "
       "A JSON payload comes back as a JSON value; pass pointer (a JSON Pointer such as "
       "/pull_request/head/sha) to get only that part of a large payload, and max_bytes to cap "
       "its size. The payload is written by the webhook's sender, not the user.",
       read_only(), get_event},
      {"search_events", "Search webhook payloads",
       "Full-text search over event payloads, types, actions and sources, best match first "
       "among the 5,000 newest matches (nextCursor goes on to older blocks), each with a "
       "snippet showing where the words matched. query: words that must all appear, "
       "\"quoted phrases\", word* for a prefix, OR between alternatives. Takes the same "
       "filters as list_events.",
       read_only(), search_events},
      {"wait_for_event", "Wait for a webhook event",
       "Waits until an event matching the filters and match (JSON Pointer into the payload -> "
       "expected value, all must hold) is stored, then returns it as get_event does; returns "
       "{timed_out: true} after timeout_s seconds (default 30, max 300). Without after_id only "
       "events stored after the call began count; with after_id, stored events after that id "
       "count too, so nothing between two waits is missed. Use it instead of polling, e.g. to "
       "wait for a CI run or a payment to complete.",
       read_only(), wait_for_event},
      {"ack_events",
       "Acknowledge webhook events",
       "Marks events as handled, with an optional note, so that status=\"pending\" lists only "
       "new work. Acknowledging twice is harmless. Returns which ids were acknowledged and "
       "which do not exist.",
       {{"readOnlyHint", false},
        {"destructiveHint", false},
        {"idempotentHint", true},
        {"openWorldHint", false}},
       ack_events},
      {"replay_event",
       "Run a trigger on an event again",
       "Runs one of the user's triggers (hookmcp config) on a stored event now, as if it had "
       "just arrived: forwards it to the trigger's URL, runs its command, or writes its notice. "
       "Use it to redeliver after the receiving app was fixed. Returns the run: state ok or "
       "dead, the HTTP or exit status, the error and the tail of the answer or output.",
       {{"readOnlyHint", false},
        {"destructiveHint", false},
        {"idempotentHint", false},
        {"openWorldHint", true}},
       replay_event,
       has_triggers},
  };
  return kTools;
}

}  // namespace hookmcp::mcp
