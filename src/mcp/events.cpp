// MCP Events (io.modelcontextprotocol/events) as requests of a session: events/list and
// events/poll here, events/stream in event_stream.cpp, webhook mode in the outbound module.
#include "hookmcp/events/events.hpp"

#include <limits>

#include "hookmcp/events/webhooks.hpp"
#include "internal.hpp"

namespace hookmcp::mcp {

namespace {

// How long a poller that is caught up waits before asking again.
constexpr int64_t kNextPollMs = 1000;
constexpr int kDefaultPollEvents = 100;
constexpr int kMaxPollEvents = 1000;
// A poll result holds at most this much (one occurrence alone may be larger, up to
// events::kMaxPayloadBytes of payload): the rest waits for the next poll, hasMore set.
constexpr size_t kMaxPollBytes = size_t{4} << 20;

}  // namespace

Result<EventsRequest> parse_events_request(const json& params) {
  auto query = events::parse_query(params.value("name", json()), params.value("arguments", json()));
  if (!query) return query.error();
  auto cursor = events::parse_cursor(params.value("cursor", json()));
  if (!cursor) return cursor.error();
  EventsRequest out{std::move(*query), *cursor, std::nullopt};
  if (auto age = params.find("maxAgeMs"); age != params.end() && !age->is_null()) {
    if (!age->is_number_integer() || age->get<int64_t>() < 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "params.maxAgeMs must be an integer of milliseconds, 0 or more");
    }
    out.max_age_ms = age->get<int64_t>();
  }
  return out;
}

Result<events::Start> start_of(Server::State& state, const EventsRequest& request) {
  static const SystemClock kSystemClock;
  const Clock& clock = state.options.clock ? *state.options.clock : kSystemClock;
  return events::start_position(state.store, request.cursor, request.max_age_ms, clock.now_ms());
}

void SessionImpl::on_events_list(const std::shared_ptr<rpc::CallContext>&, const json& params,
                                 const rpc::Reply& reply) {
  if (auto c = params.find("cursor"); c != params.end() && !c->is_null()) {
    // One page holds every event this server offers: no cursor of events/list exists.
    reply(make_error(ErrorCode::kInvalidArgument,
                     "params.cursor " + c->dump() + " is not a cursor events/list gave"));
    return;
  }
  reply(events::definitions(/*webhook=*/state_->options.webhooks != nullptr));
}

void SessionImpl::on_events_poll(const std::shared_ptr<rpc::CallContext>&, const json& params,
                                 const rpc::Reply& reply) {
  auto request = parse_events_request(params);
  if (!request) {
    reply(request.error());
    return;
  }
  int max_events = kDefaultPollEvents;
  if (auto m = params.find("maxEvents"); m != params.end() && !m->is_null()) {
    if (!m->is_number_integer() || m->get<int64_t>() < 1 || m->get<int64_t>() > kMaxPollEvents) {
      reply(make_error(
          ErrorCode::kInvalidArgument,
          "params.maxEvents must be an integer from 1 to " + std::to_string(kMaxPollEvents)));
      return;
    }
    max_events = m->get<int>();
  }
  on_worker(reply, [state = state_, request = std::move(*request), max_events]() -> Result<json> {
    auto start = start_of(*state, request);
    if (!start) return start.error();
    json out = {{"events", json::array()},
                {"cursor", events::cursor_text(start->position)},
                {"hasMore", false},
                {"truncated", start->truncated},
                {"nextPollMs", kNextPollMs}};
    // No cursor: "from now", nothing to replay.
    if (!request.cursor) return out;
    auto page = events::read_after(state->store, request.query, start->position, max_events,
                                   kMaxPollBytes, /*with_cursor=*/false);
    if (!page) return page.error();
    out["events"] = std::move(page->occurrences);
    out["cursor"] = events::cursor_text(page->position);
    out["hasMore"] = page->more;
    if (page->more) out["nextPollMs"] = 0;
    return out;
  });
}

namespace {

Error unsupported_mode(const std::string& mode) {
  return rpc::protocol_error(
      ErrorCode::kInvalidArgument, events::kUnsupported,
      "delivery mode " + mode + " is not offered here; events/list names the modes",
      {{"feature", "deliveryMode"}, {"value", mode}});
}

// params.delivery: {"mode": "webhook", "url": ..., "secret": ...}; the secret only for
// subscribe.
Status parse_delivery(const json& params, bool with_secret, events::SubscribeRequest& out) {
  auto d = params.find("delivery");
  if (d == params.end() || !d->is_object()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "params.delivery must be an object: {\"mode\": \"webhook\", \"url\": ..." +
                          std::string(with_secret ? ", \"secret\": \"whsec_...\"}" : "}"));
  }
  if (auto mode = d->find("mode"); mode != d->end() && *mode != "webhook") {
    return unsupported_mode(mode->is_string() ? mode->get<std::string>() : mode->dump());
  }
  auto url = d->find("url");
  if (url == d->end() || !url->is_string()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "params.delivery.url must be a string: where the events are POSTed");
  }
  out.url = url->get<std::string>();
  if (with_secret) {
    auto secret = d->find("secret");
    if (secret == d->end() || !secret->is_string()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "params.delivery.secret must be a string: \"whsec_\" and base64");
    }
    out.secret = secret->get<std::string>();
  }
  return {};
}

}  // namespace

void SessionImpl::on_events_subscribe(const std::shared_ptr<rpc::CallContext>&, const json& params,
                                      const rpc::Reply& reply) {
  auto webhooks = state_->options.webhooks;
  if (!webhooks) {
    reply(unsupported_mode("webhook"));
    return;
  }
  auto request = parse_events_request(params);
  if (!request) {
    reply(request.error());
    return;
  }
  events::SubscribeRequest r;
  r.principal = principal_;
  r.query = std::move(request->query);
  r.cursor = request->cursor;
  r.max_age_ms = request->max_age_ms;
  if (auto s = parse_delivery(params, /*with_secret=*/true, r); !s) {
    reply(s.error());
    return;
  }
  if (auto ttl = params.find("ttlMs"); ttl != params.end()) {
    if (ttl->is_null()) {
      r.ttl_ms = std::numeric_limits<int64_t>::max();  // no expiry asked: the longest granted
    } else if (ttl->is_number_integer() && ttl->get<int64_t>() > 0) {
      r.ttl_ms = ttl->get<int64_t>();
    } else {
      reply(make_error(ErrorCode::kInvalidArgument,
                       "params.ttlMs must be a positive integer of milliseconds, or null"));
      return;
    }
  }
  // A new subscription's receiver is verified by a POST: off the transport's thread.
  on_worker(reply, [webhooks, r = std::move(r)] { return webhooks->subscribe(r); });
}

void SessionImpl::on_events_unsubscribe(const std::shared_ptr<rpc::CallContext>&,
                                        const json& params, const rpc::Reply& reply) {
  auto webhooks = state_->options.webhooks;
  if (!webhooks) {
    reply(unsupported_mode("webhook"));
    return;
  }
  auto query = events::parse_query(params.value("name", json()), params.value("arguments", json()));
  if (!query) {
    reply(query.error());
    return;
  }
  events::SubscribeRequest r;
  if (auto s = parse_delivery(params, /*with_secret=*/false, r); !s) {
    reply(s.error());
    return;
  }
  on_worker(reply,
            [webhooks, principal = principal_, query = std::move(*query),
             url = std::move(r.url)]() -> Result<json> {
              if (auto s = webhooks->unsubscribe(principal, query, url); !s) return s.error();
              return json::object();
            });
}

}  // namespace hookmcp::mcp
