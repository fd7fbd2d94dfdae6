// Durable outbound delivery: each subscription's events POSTed to the URL it names, in order,
// signed as Standard Webhooks with its secret, retried with exponential backoff and jitter, from
// a position kept in the store, so that a restart or kill -9 resumes where delivery stopped (the
// one POST in flight at a crash may come again, with the same webhook-id, for the receiver to
// drop). MCP Events' webhook mode is its first user; triggers and forwarding reuse it. What a
// subscription sends is its owner's to say, through a Feed; this module knows URLs, signatures,
// retries and positions, not what an event means.
//
// Never in the way of intake or MCP: a few worker threads of its own, woken by the commits that
// may concern a subscription; at most one delivery in flight per subscription and one page of
// messages per worker in memory, however many receivers are down.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/event.hpp"
#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/net/http_client.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::outbound {

struct Policy {
  // http:// callbacks and private, loopback and link-local addresses: for tests and local
  // development only (events.allow_private_callbacks).
  bool allow_private = false;
  std::chrono::milliseconds timeout{10000};          // one POST, connection to answer
  uint64_t max_response_bytes = uint64_t{64} << 10;  // a receiver's answer is read up to this
  int workers = 4;
  // Retries: the first after about first_retry, doubling up to max_retry, each with jitter (a
  // random half to all of it); a subscription failing for give_up_after is ended.
  std::chrono::milliseconds first_retry{1000};
  std::chrono::milliseconds max_retry{std::chrono::hours(1)};
  std::chrono::milliseconds give_up_after{std::chrono::hours(25)};
  int page = 50;  // messages read from a feed at a time
  // Several processes delivering from one database (PostgreSQL): how often this one renews its
  // claims, takes up subscriptions made or let go elsewhere and drops those removed, changed
  // or taken over elsewhere (Store::hold_subscriptions). Zero: one process delivers, and what it
  // loads at start and is told through this object is all there is.
  std::chrono::milliseconds hold_every{0};
  const Clock* clock = nullptr;  // wall clock (timestamps, TTLs); the system's when null
};

// A URL a client handed in: https:// (http:// too when the policy allows private callbacks), a
// host, no credentials; kInvalidArgument saying what is wrong.
Result<net::Url> check_callback_url(std::string_view url, const Policy& policy);

// What one POST carries.
struct Message {
  int64_t position = 0;        // the subscription's position once it is delivered
  std::string webhook_id;      // the receiver dedups on it: the same for every attempt
  std::string body;            // JSON
  int64_t occurred_at_ms = 0;  // for the lag metric
};

// The answer to one POST, or why there was none; or what a feed's own sending made of it.
struct Attempt {
  int status = 0;  // 0: no answer
  net::Failure failure = net::Failure::kNone;
  std::string error;  // for the log, when status is 0
  std::string body;   // the receiver's answer, up to Policy::max_response_bytes
  // Set by a feed that sends its own way (a command, whose exit status is no HTTP status):
  // whether it succeeded, and what its failure is called.
  std::optional<bool> succeeded;
  std::string reason;
  std::chrono::milliseconds took{0};  // measured by the deliverer
  bool ok() const { return succeeded ? *succeeded : status >= 200 && status < 300; }
  // MCP Events' lastError: connection_refused, timeout, tls_error, http_4xx, http_5xx; or the
  // feed's own reason.
  std::string category() const;
};

class Deliverer;

// What a kind of subscription sends: made by its owner for each subscription.
class Feed {
 public:
  virtual ~Feed() = default;
  // Whether a commit's event may be for this subscription; on the publishing thread, so cheap.
  virtual bool could_want(const Event& summary) const = 0;
  // The messages after `position`, oldest first, at most `max`; `position` comes back past
  // everything looked at. Blocking (reads the store).
  virtual Result<std::vector<Message>> after(int64_t& position, int max) = 0;

  // Sends `message` its own way (a request of its own, a command, a notice), on a worker's
  // thread, with `client` the subscription's kept connection and `deliverer` its timeout,
  // limits and cancellation (Deliverer::exchange). Nullopt leaves it to the deliverer, which
  // POSTs the body to the subscription's URL signed with its secret.
  virtual std::optional<Attempt> send(const Message& message, net::Client& client,
                                      const Deliverer& deliverer) {
    (void)message, (void)client, (void)deliverer;
    return std::nullopt;
  }
  // Attempts after which a message is given up and the subscription goes on with the next
  // one. 0: never; its retries go on until Policy::give_up_after ends the subscription, and a
  // 410 answer ends it at once. A feed that gives messages up is never ended by its receiver.
  virtual int max_attempts() const { return 0; }
  // Messages sent at once, each on a thread of its own, then recorded in order. One at a time
  // by default. A message sent after one that failed may succeed: the feed is told (settled),
  // and sees it again after the failed one passes, for it to skip.
  virtual int window() const { return 1; }
  // What became of attempt number `attempts` at `message`: delivered, failed and to be tried
  // again, or failed and given up (`gave_up`). Called before the progress it makes is saved.
  virtual void settled(const Message& message, const Attempt& attempt, int64_t attempts,
                       bool gave_up) {
    (void)message, (void)attempt, (void)attempts, (void)gave_up;
  }
};
using FeedMaker = std::function<Result<std::shared_ptr<Feed>>(const store::Subscription&)>;

// The headers of a signed POST: webhook-id, webhook-timestamp, webhook-signature (v1, HMAC-SHA256
// keyed with the whsec_ secret), Content-Type and X-MCP-Subscription-Id.
Result<Headers> signed_headers(const std::string& secret, const std::string& webhook_id,
                               const std::string& body, int64_t now_s,
                               const std::string& subscription_id);

// The request that sends a stored event on to `url` (`hookmcp forward`, `hookmcp events
// replay`), its body byte for byte. With no `secret`, as its sender made it: the stored headers
// (the provider's signature among them, for the receiving app to check) without those of one
// connection or hop and without the credentials hookmcp redacted. With a Standard Webhooks
// `secret` (whsec_...), signed with it instead, webhook-id "hookmcp_ID". Both add
// X-Hookmcp-Event-Id and X-Hookmcp-Source. kInvalidArgument for a secret that cannot sign.
Result<net::ClientRequest> forward_request(const Event& event, const std::string& url,
                                           const std::string& secret, int64_t now_s);

class Deliverer {
 public:
  // `feeds`: a FeedMaker per subscription kind. `store` and `metrics` must outlive it.
  Deliverer(store::Store& store, Metrics& metrics, Policy policy,
            std::map<std::string, FeedMaker> feeds);
  ~Deliverer() { stop(); }
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  // Loads the stored subscriptions this process is to deliver and starts the workers; each
  // resumes from its position.
  Status start();
  // Stops the POSTs in flight (their messages are sent again after a restart), joins the
  // workers and lets go of the subscriptions for another process to deliver. Idempotent.
  void stop();
  // Takes up what the store now gives this process to deliver and drops the rest
  // (Policy::hold_every). Blocking.
  Status hold();
  bool running() const;

  // A commit's events (the bus's handler, on the publishing thread): wakes the subscriptions
  // they may concern. Never blocks on a delivery.
  void on_events(const std::vector<Event>& events);

  // Saves `subscription` (durably, replacing one with its id); it is delivered from its
  // position, by this process unless another holds it.
  Status put(const store::Subscription& subscription);
  // Changes a subscription in place (a refresh: its secret, its expiry) and saves it; its
  // delivery goes on from where it is, a failing one trying again at once (in the process that
  // delivers it, at its next hold() when that is another). kNotFound when there is none with
  // that id, or it ended.
  Status update(const std::string& id, const std::function<void(store::Subscription&)>& change);
  // Deletes it; a POST in flight to it finishes.
  Status remove(const std::string& id);
  // As stored, or as this process's delivery last left them, progress included.
  Result<std::optional<store::Subscription>> find(const std::string& id) const;
  Result<std::vector<store::Subscription>> list() const;
  // Whether this process delivers it (on PostgreSQL, whether it holds it now).
  bool holds(const std::string& id) const;

  // One signed POST now, outside any queue (a verification challenge, a control envelope).
  // Blocking; on the caller's thread.
  Attempt post(const std::string& url, const std::string& secret,
               const std::string& subscription_id, const std::string& webhook_id,
               const std::string& body) const;
  // The same on `client`'s kept connection.
  Attempt post(net::Client& client, const std::string& url, const std::string& secret,
               const std::string& subscription_id, const std::string& webhook_id,
               const std::string& body) const;

  // `request` (with its own timeout) sent on `client` with this deliverer's answer limit and
  // cancellation; its address vetted unless `private_ok` or the policy allows
  // private callbacks. For a feed's own send(). Blocking.
  Attempt exchange(net::Client& client, net::ClientRequest request, bool private_ok) const;
  // Cancelled when the deliverer stops: a feed's own sending stops with it.
  const net::Cancellation& cancellation() const { return *cancellation_; }

  const Policy& policy() const { return policy_; }
  int64_t now_ms() const;
  // The newest event id stored, as of start() and the commits told since (on_events). Cheap.
  int64_t newest_event() const { return newest_.load(std::memory_order_relaxed); }

 private:
  struct Entry;
  // Replaces the entry of its id and wakes it (or schedules its pending retry).
  Status put_in_memory(const store::Subscription& subscription);
  // What another process changed in a subscription this one delivers (a refresh); with mu_.
  void take_changes(const std::shared_ptr<Entry>& entry, const store::Subscription& stored);
  // Takes it out of the retry queue, if it is there; with mu_ held.
  void stop_retrying(const std::shared_ptr<Entry>& entry);
  // Forgets an entry (deleted, or delivered elsewhere now); with mu_ held.
  void drop(std::map<std::string, std::shared_ptr<Entry>>::iterator it);
  void run();
  void serve(const std::shared_ptr<Entry>& entry);
  // Wakes `entry` when it is idle; with mu_ held.
  void wake(const std::shared_ptr<Entry>& entry);
  // Sends `m` on `client`: the feed's own way, or signed to the subscription's URL.
  Attempt send(Entry& entry, net::Client& client, const store::Subscription& sub, const Message& m);
  // Records the attempt at `m`; true when the subscription has passed it (delivered, or given
  // up), false when it is to be tried again or the subscription ended.
  bool record(Entry& entry, const Attempt& attempt, const Message& m);
  void end(Entry& entry, std::string reason);

  store::Store& store_;
  Metrics& metrics_;
  const Policy policy_;
  const std::map<std::string, FeedMaker> feeds_;

  // Serializes changes to the set of subscriptions (put, update, remove, hold) so that a hold
  // never brings back what a remove just took away. Taken before mu_.
  std::mutex changing_;
  std::set<std::string> unusable_;  // guarded by changing_: held, but no feed could be made
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;  // guarded by mu_
  std::deque<std::shared_ptr<Entry>> ready_;               // guarded by mu_
  // Subscriptions waiting to retry, by when (steady clock).
  std::multimap<std::chrono::steady_clock::time_point, std::shared_ptr<Entry>>
      retrying_;           // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  // Subscriptions keep their receiver's connection open between turns, up to this many.
  static constexpr int kMaxKeptConnections = 128;
  std::atomic<int> kept_connections_{0};
  std::atomic<int64_t> newest_{0};
  std::vector<std::thread> workers_;
  std::thread holding_;                 // hold() every Policy::hold_every
  std::condition_variable holding_cv_;  // wakes it to stop (with mu_)
  // Stops the POSTs in flight when the deliverer stops.
  const std::shared_ptr<net::Cancellation> cancellation_ = std::make_shared<net::Cancellation>();
};

}  // namespace hookmcp::outbound
