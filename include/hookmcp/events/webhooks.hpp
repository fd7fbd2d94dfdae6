// MCP Events' webhook mode: events/subscribe and events/unsubscribe for an authenticated
// principal, delivered by the outbound module. A subscription is the key (principal, url, name,
// arguments): subscribing again with the same key refreshes it. A new one is verified first: its
// receiver must echo a signed challenge. Each occurrence then goes out as JSON signed like
// Standard Webhooks (webhook-id = eventId) with X-MCP-Subscription-Id, from a position kept in
// the store; a `gap` envelope when retention pruned events it had not delivered, `terminated`
// when the server ends it.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "hookmcp/core/result.hpp"
#include "hookmcp/events/events.hpp"
#include "hookmcp/outbound/outbound.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::events {

inline constexpr const char* kSubscriptionKind = "events";

struct WebhookOptions {
  int64_t default_ttl_ms = 3'600'000;     // when the client suggests none
  int64_t min_ttl_ms = 60'000;            // a shorter suggestion is raised to this
  int64_t max_ttl_ms = 7 * 86'400'000LL;  // a longer one (or none) is lowered to this
  size_t max_per_principal = 100;
  int max_verifying = 4;  // subscribe calls verifying a receiver at once
};

struct SubscribeRequest {
  std::string principal;  // empty: nobody authenticated
  Query query;
  std::string url;
  std::string secret;
  // The TTL the client suggests: absent (the default), or a number of milliseconds; null (no
  // expiry) is granted as max_ttl_ms.
  std::optional<int64_t> ttl_ms;
  std::optional<int64_t> cursor;
  std::optional<int64_t> max_age_ms;
};

class Webhooks {
 public:
  // `store` and `deliverer` must outlive it.
  Webhooks(store::Store& store, outbound::Deliverer& deliverer, WebhookOptions options);

  // What makes a subscription's feed: give it to the Deliverer under kSubscriptionKind.
  static outbound::FeedMaker feed_maker(store::Store& store);

  // events/subscribe's result ({id, refreshBefore, cursor, truncated, deliveryStatus}) or an rpc
  // protocol error: Forbidden without a principal, -32602 for a bad URL or secret,
  // ResourceExhausted past max_per_principal, CallbackEndpointError when the receiver does not
  // echo the challenge. Blocking: a new subscription's verification is a POST.
  Result<nlohmann::json> subscribe(const SubscribeRequest& request);

  // events/unsubscribe: NotFound (data.kind "subscription") when the key names none.
  Status unsubscribe(const std::string& principal, const Query& query, const std::string& url);

  // Ends, with a `terminated` envelope (Forbidden), the subscriptions of principals that are no
  // longer configured (a token removed). Blocking; run once at start.
  void end_unknown_principals(const std::set<std::string>& known);

  // The subscription id of a key: "sub_" and 24 hex digits of its SHA-256.
  static std::string subscription_id(const std::string& principal, const std::string& url,
                                     const Query& query);

 private:
  store::Store& store_;
  outbound::Deliverer& deliverer_;
  const WebhookOptions options_;
  std::atomic<int> verifying_{0};
};

}  // namespace hookmcp::events
