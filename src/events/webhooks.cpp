// events/subscribe and events/unsubscribe, and the feed that turns a subscription's position into
// the POSTs its receiver gets.
#include "hookmcp/events/webhooks.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "hookmcp/core/json.hpp"
#include "hookmcp/core/random.hpp"
#include "hookmcp/core/text.hpp"
#include "hookmcp/core/time.hpp"
#include "hookmcp/rpc/rpc.hpp"
#include "hookmcp/verify/crypto.hpp"

namespace hookmcp::events {

namespace {

// A delivery carries at most this much: one occurrence (its payload cut to kMaxPayloadBytes).
constexpr size_t kPageBytes = size_t{1} << 20;

Error callback_error(const outbound::Attempt& attempt, const std::string& what) {
  std::string reason =
      attempt.status != 0 && attempt.ok() ? "challenge_failed" : attempt.category();
  std::string message = "the callback URL did not pass verification: " + what;
  return rpc::protocol_error(ErrorCode::kInvalidArgument, kCallbackEndpointError, message,
                             {{"reason", reason}});
}

// MCP Events' secrets: "whsec_" and base64 of 24 to 64 random bytes.
Status check_secret(const std::string& secret) {
  if (secret.rfind("whsec_", 0) != 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "params.delivery.secret must be \"whsec_\" followed by base64");
  }
  auto key = base64_decode(std::string_view(secret).substr(6));
  if (!key || key->size() < 24 || key->size() > 64) {
    return make_error(ErrorCode::kInvalidArgument,
                      "params.delivery.secret must be \"whsec_\" and the base64 of 24 to 64 bytes");
  }
  return {};
}

// The feed of one webhook subscription: its query over the store, each matching event an
// occurrence; a gap envelope first when retention pruned what it had not delivered.
class EventFeed final : public outbound::Feed {
 public:
  EventFeed(store::Store& store, std::string id, Query query)
      : store_(store), id_(std::move(id)), query_(std::move(query)) {}

  bool could_want(const Event& summary) const override { return query_.could_match(summary); }

  Result<std::vector<outbound::Message>> after(int64_t& position, int max) override {
    auto pruned = store_.pruned_through();
    if (!pruned) return pruned.error();
    std::vector<outbound::Message> out;
    if (position < *pruned) {
      json gap = {{"type", "gap"}, {"cursor", cursor_text(*pruned)}};
      out.push_back({*pruned, "msg_gap_" + id_ + "_" + std::to_string(*pruned), gap.dump(), 0});
      position = *pruned;
      return out;
    }
    auto page = read_after(store_, query_, position, max, kPageBytes, /*with_cursor=*/true);
    if (!page) return page.error();
    for (size_t i = 0; i < page->occurrences.size(); ++i) {
      out.push_back({page->ids[i], event_id(page->ids[i]),
                     page->occurrences[i].dump(-1, ' ', false, json::error_handler_t::replace),
                     page->received_at_ms[i]});
    }
    position = page->position;
    return out;
  }

 private:
  store::Store& store_;
  const std::string id_;
  const Query query_;
};

json delivery_status(const store::Subscription& s) {
  json out = {
      {"active", !s.ended && s.failures == 0},
      {"lastDeliveryAt",
       s.last_delivery_at_ms ? json(format_rfc3339_ms(s.last_delivery_at_ms)) : json(nullptr)},
      {"lastError", s.last_error.empty() ? json(nullptr) : json(s.last_error)}};
  if (s.failing_since_ms) out["failedSince"] = format_rfc3339_ms(s.failing_since_ms);
  return out;
}

}  // namespace

Webhooks::Webhooks(store::Store& store, outbound::Deliverer& deliverer, WebhookOptions options)
    : store_(store), deliverer_(deliverer), options_(options) {}

outbound::FeedMaker Webhooks::feed_maker(store::Store& store) {
  return [&store](const store::Subscription& s) -> Result<std::shared_ptr<outbound::Feed>> {
    auto arguments = parse_json(s.arguments);
    if (!arguments.ok()) {
      return make_error(ErrorCode::kInvalidArgument, "its stored arguments are not JSON");
    }
    auto query = parse_query(s.name, arguments.value);
    if (!query) return query.error();
    return std::shared_ptr<outbound::Feed>(std::make_shared<EventFeed>(store, s.id, *query));
  };
}

std::string Webhooks::subscription_id(const std::string& principal, const std::string& url,
                                      const Query& query) {
  std::string key = principal;
  key.append(1, '\0').append(url).append(1, '\0').append(kWebhookReceived);
  key.append(1, '\0').append(query.arguments.dump());
  return "sub_" + hex_encode(verify::sha256(key)).substr(0, 24);
}

Result<json> Webhooks::subscribe(const SubscribeRequest& r) {
  if (r.principal.empty()) {
    return rpc::protocol_error(
        ErrorCode::kUnauthenticated, kForbidden,
        "webhook subscriptions belong to an authenticated client: configure mcp.tokens and send "
        "one as a bearer token (poll and push need none)",
        {{"reason", "unauthenticated"}});
  }
  if (!deliverer_.running()) {
    return rpc::protocol_error(
        ErrorCode::kUnavailable, kUnsupported,
        "this hookmcp follows a database another hookmcp writes, and that one delivers webhook "
        "subscriptions: subscribe through its /mcp (poll and push work here)",
        {{"feature", "deliveryMode"}, {"value", "webhook"}});
  }
  if (auto url = outbound::check_callback_url(r.url, deliverer_.policy()); !url) {
    return make_error(ErrorCode::kInvalidArgument, "params.delivery.url: " + url.error().message);
  }
  if (auto s = check_secret(r.secret); !s) return s.error();
  const std::string id = subscription_id(r.principal, r.url, r.query);
  const int64_t now = deliverer_.now_ms();
  auto found = deliverer_.find(id);
  if (!found) return found.error();
  const std::optional<store::Subscription>& existing = *found;
  const bool refresh = existing && !existing->ended;

  if (!refresh) {
    auto all = deliverer_.list();
    if (!all) return all.error();
    size_t mine = std::count_if(all->begin(), all->end(), [&](const store::Subscription& s) {
      return s.kind == kSubscriptionKind && s.principal == r.principal && !s.ended;
    });
    if (mine >= options_.max_per_principal) {
      return rpc::protocol_error(
          ErrorCode::kOverloaded, kResourceExhausted,
          "this client has " + std::to_string(mine) +
              " webhook subscriptions, the most it may have; unsubscribe from one first",
          {{"limit", "subscriptions"}, {"max", options_.max_per_principal}});
    }
    // The receiver proves it wants these deliveries: it echoes a challenge signed with the
    // secret, which it can check only if it holds the secret.
    if (verifying_.fetch_add(1) >= options_.max_verifying) {
      verifying_.fetch_sub(1);
      return rpc::protocol_error(ErrorCode::kOverloaded, kResourceExhausted,
                                 "too many subscriptions are being verified at once; try again",
                                 {{"limit", "verifications"}, {"max", options_.max_verifying}});
    }
    auto challenge = random_hex(16);
    if (!challenge) {
      verifying_.fetch_sub(1);
      return challenge.error();
    }
    json body = {{"type", "verification"}, {"challenge", *challenge}};
    auto attempt =
        deliverer_.post(r.url, r.secret, id, "msg_verification_" + *challenge, body.dump());
    verifying_.fetch_sub(1);
    if (!attempt.ok()) {
      return callback_error(attempt, attempt.status
                                         ? "it answered " + std::to_string(attempt.status)
                                         : attempt.error);
    }
    auto echoed = parse_json(attempt.body);
    const json* answer =
        echoed.ok() && echoed.value.is_object() && echoed.value.contains("challenge")
            ? &echoed.value["challenge"]
            : nullptr;
    if (answer == nullptr || !answer->is_string() ||
        !verify::constant_time_equal(answer->get<std::string>(), *challenge)) {
      return callback_error(attempt,
                            "its answer did not hold {\"challenge\": ...} with the value sent");
    }
  }

  int64_t ttl = std::clamp(r.ttl_ms.value_or(options_.default_ttl_ms), options_.min_ttl_ms,
                           options_.max_ttl_ms);
  store::Subscription sub;
  bool truncated = false;
  if (refresh) {
    // In place: delivery goes on where it is (the cursor of a live subscription changes
    // nothing), with the new secret and expiry; a failing one tries again at once.
    auto updated = deliverer_.update(id, [&](store::Subscription& s) {
      s.secret = r.secret;
      s.expires_at_ms = now + ttl;
      s.failures = 0;
      s.failing_since_ms = 0;
      s.next_attempt_at_ms = 0;
      s.last_error.clear();
      sub = s;
    });
    if (!updated) return updated.error();
  } else {
    auto start = start_position(store_, r.cursor, r.max_age_ms, now);
    if (!start) return start.error();
    sub.id = id;
    sub.kind = kSubscriptionKind;
    sub.principal = r.principal;
    sub.name = kWebhookReceived;
    sub.arguments = r.query.arguments.dump();
    sub.url = r.url;
    sub.secret = r.secret;
    sub.created_at_ms = now;
    sub.expires_at_ms = now + ttl;
    sub.position = start->position;
    truncated = start->truncated;
    if (auto s = deliverer_.put(sub); !s) return s.error();
  }
  json out = {{"id", id},
              {"refreshBefore", format_rfc3339_ms(sub.expires_at_ms)},
              {"cursor", cursor_text(sub.position)},
              {"truncated", truncated}};
  if (refresh) out["deliveryStatus"] = delivery_status(*existing);
  spdlog::info("events: {} {} {} for {} -> {}", refresh ? "refreshed" : "new subscription", id,
               r.query.arguments.dump(), r.principal, r.url);
  return out;
}

Status Webhooks::unsubscribe(const std::string& principal, const Query& query,
                             const std::string& url) {
  std::string id = subscription_id(principal, url, query);
  auto existing = deliverer_.find(id);
  if (!existing) return existing.error();
  if (principal.empty() || !*existing) {
    return rpc::protocol_error(ErrorCode::kNotFound, kNotFound,
                               "no webhook subscription of this client has that name, arguments "
                               "and delivery.url",
                               {{"kind", "subscription"}});
  }
  return deliverer_.remove(id);
}

void Webhooks::end_unknown_principals(const std::set<std::string>& known) {
  auto all = deliverer_.list();
  if (!all) {
    spdlog::warn("events: cannot look for subscriptions of principals no longer configured: {}",
                 all.error().message);
    return;
  }
  for (const auto& s : *all) {
    if (s.kind != kSubscriptionKind || s.ended || known.count(s.principal)) continue;
    json body = {{"type", "terminated"},
                 {"error",
                  {{"code", kForbidden},
                   {"message", "Forbidden"},
                   {"data", {{"reason", "the client's credentials are no longer configured"}}}}}};
    auto attempt = deliverer_.post(s.url, s.secret, s.id, "msg_terminated_" + s.id, body.dump());
    spdlog::info("events: subscription {} of {} ended: its principal is no longer configured ({})",
                 s.id, s.principal, attempt.ok() ? "receiver told" : "receiver not reached");
    (void)deliverer_.remove(s.id);
  }
}

}  // namespace hookmcp::events
