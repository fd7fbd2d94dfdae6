// Connections: webhooks hookmcp sets up itself (the config's `connections`). For each one it
// registers the webhook, channel or subscription with the provider's API, keeps it alive (a
// GitHub webhook recreated when deleted, a Calendar channel replaced before it expires, a Gmail
// watch renewed daily, a Graph subscription renewed and reauthorized), and reads what a
// notification only points at (Calendar's changed events, Gmail's new messages, Graph's changed
// resource), storing each as an ordinary event of the connection's source.
//
// Each connection is a subscription of the outbound module (kind "connection"): the node that
// holds it (one at a time on PostgreSQL) keeps it alive and reads its notifications in order,
// from a position kept in the store, retried with backoff. What was registered and where the
// reading stands is kept per connection in the store (Store::save_connection_state).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/outbound/outbound.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::connections {

namespace detail {
struct Context;
}

inline constexpr const char* kSubscriptionKind = "connection";
std::string subscription_id(const std::string& name);

// What hookmcp keeps of one connection, stored as JSON.
struct State {
  // "pending": not registered yet; "active"; "failed": stopped for a reason a person must act on
  // (a revoked token, a repository not found), `reason` saying which.
  std::string status = "pending";
  std::string reason;
  std::string secret;       // the webhook secret, channel token or clientState; never shown
  std::string remote_id;    // the webhook, channel or subscription id at the provider
  std::string resource_id;  // Calendar: the channel's resourceId, needed to stop it
  int64_t registered_at_ms = 0;
  int64_t expires_at_ms = 0;  // 0: does not expire
  std::string cursor;         // Calendar: the sync token; Gmail: the history id read up to
  int64_t since_ms = 0;       // when reading began: what changed before is the past, not news
  std::string refresh_token;  // stored by `hookmcp connections login`; never shown
  std::string fingerprint;    // what it was registered for (kind, target, events, URL)

  nlohmann::json to_json() const;
  static State from_json(const std::string& text);
  // For `hookmcp connections list`: no secret, no token.
  nlohmann::json to_public_json() const;
};

// Where a connection's source is reached: public_url + "/hooks/" + source.
std::string hook_url(const std::string& public_url, const config::Connection& c);

// An OAuth 2.0 access token, as a token endpoint gives it.
struct AccessToken {
  std::string value;
  int64_t expires_at_ms = 0;
  std::string refresh_token;  // a new one, when the provider rotates them (Microsoft)
};
// The refresh_token grant at `c.token_url`. kUnauthenticated when the grant is refused
// (invalid_grant: revoked or expired), with the provider's words; kIo when the endpoint cannot
// be reached or answers 5xx.
Result<AccessToken> refresh_access_token(const config::Connection& c,
                                         const std::string& refresh_token, int64_t now_ms);

// `hookmcp connections login`: OAuth 2.0 for a person at a browser.
struct LoginPrompt {
  std::string verification_uri;  // device flow: where to go; loopback flow: the URL to open
  std::string user_code;         // device flow only
};
struct LoginOptions {
  std::string device_url;     // the device authorization endpoint (device flow)
  std::string authorize_url;  // the authorization endpoint (loopback redirect flow with PKCE)
  std::string scope;
  std::chrono::seconds timeout{600};
  std::function<void(const LoginPrompt&)> prompt;  // tells the person what to do
};
// The device authorization grant (RFC 8628): returns the refresh token once the person agreed.
Result<std::string> device_login(const config::Connection& c, const LoginOptions& o);
// The authorization code grant with PKCE (RFC 7636) and a loopback redirect (RFC 8252): listens
// on 127.0.0.1, has the person open the authorization URL, takes the code the browser brings
// back and exchanges it.
Result<std::string> loopback_login(const config::Connection& c, const LoginOptions& o);
// Each kind's endpoints and scopes for login.
LoginOptions login_options(const config::Connection& c);

// Takes a connection's registration down at the provider (`hookmcp connections remove`).
Status unregister(const config::Connection& c, const State& state, int64_t now_ms);

class Connections {
 public:
  Connections(store::Store& store, Metrics& metrics, const Clock& clock,
              const std::map<std::string, config::Connection>& connections, std::string public_url);
  ~Connections() { stop(); }
  Connections(const Connections&) = delete;
  Connections& operator=(const Connections&) = delete;

  // Loads each connection's stored state, making its secret the first time (two nodes agree on
  // one), and puts in `sources` the source each feeds: made with the connection's provider when
  // not listed, and given the secret either way. Blocking.
  Status prepare(std::map<std::string, config::Source>& sources);

  // For the outbound module: the feed of a stored connection subscription.
  outbound::FeedMaker feed_maker();

  // Makes the stored connection subscriptions those of the config and starts keeping the ones
  // this node holds alive: registered, renewed, recreated. Blocking.
  Status start(outbound::Deliverer& deliverer);
  // A config loaded again (SIGHUP); call prepare() with its sources first.
  Status reload(const std::map<std::string, config::Connection>& connections,
                std::string public_url);
  void stop();

  // Wakes the keeping-alive at once (tests, and a notification that says a subscription ended).
  void wake();

 private:
  class Feed;
  friend class Feed;
  struct Entry;
  Status sync(outbound::Deliverer& deliverer);
  std::shared_ptr<Entry> entry(const std::string& name) const;
  void keep_alive();
  void tend(Entry& entry);
  // Stores `state` as the connection's (and the metrics' view of it).
  void save(Entry& entry);
  // A bearer token for the connection's API: a GitHub token, or an OAuth access token
  // refreshed before it expires. Fails the connection when the grant is refused.
  Result<std::string> bearer(Entry& entry);
  // Runs `op` with the connection's context and a bearer token, with the entry's lock held.
  Status with_token(Entry& entry, const std::function<Status(detail::Context&)>& op);
  Status with_token_unguarded(Entry& entry, const std::function<Status(detail::Context&)>& op);
  void fail(Entry& entry, const std::string& reason);
  void render_metrics(std::string& out);

  store::Store& store_;
  Metrics& metrics_;
  const Clock& clock_;
  std::atomic<outbound::Deliverer*> deliverer_{nullptr};

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;  // guarded by mu_
  std::string public_url_;                                 // guarded by mu_
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::thread keeping_;
  // Stops the requests to providers in flight when this stops.
  const std::shared_ptr<net::Cancellation> cancel_ = std::make_shared<net::Cancellation>();
  std::shared_ptr<void> renderer_;
};

}  // namespace hookmcp::connections
