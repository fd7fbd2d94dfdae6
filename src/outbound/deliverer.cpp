// The delivery workers: each takes a subscription that has work, sends its messages in order
// until it is caught up, fails, or has had its turn, and records how far it came.
#include <algorithm>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "hookmcp/core/os.hpp"
#include "hookmcp/outbound/outbound.hpp"

namespace hookmcp::outbound {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Deliveries one subscription makes before the others get a turn.
constexpr int kTurn = 200;

const SystemClock kSystemClock;

// The wait before retry number `failures` (1 for the first): first_retry doubling up to
// max_retry, then a random half to all of it, so that receivers coming back are not all hit at
// once.
std::chrono::milliseconds backoff(const Policy& policy, int64_t failures) {
  int64_t ms = policy.first_retry.count();
  for (int64_t i = 1; i < failures && ms < policy.max_retry.count(); ++i) ms *= 2;
  ms = std::min<int64_t>(ms, policy.max_retry.count());
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> jitter(ms / 2, ms);
  return std::chrono::milliseconds(jitter(rng));
}

store::SubscriptionProgress progress_of(const store::Subscription& s) {
  store::SubscriptionProgress p;
  p.id = s.id;
  p.position = s.position;
  p.delivered = s.delivered;
  p.last_delivery_at_ms = s.last_delivery_at_ms;
  p.failures = s.failures;
  p.failing_since_ms = s.failing_since_ms;
  p.next_attempt_at_ms = s.next_attempt_at_ms;
  p.last_error = s.last_error;
  p.ended = s.ended;
  p.end_reason = s.end_reason;
  return p;
}

}  // namespace

// One subscription as the workers see it. `sub` and the flags are guarded by Deliverer::mu_;
// `feed` is used by the one worker that holds the entry (busy).
struct Deliverer::Entry {
  store::Subscription sub;
  std::shared_ptr<Feed> feed;
  bool busy = false;      // a worker holds it
  bool queued = false;    // in ready_
  bool retrying = false;  // in retrying_
  bool wanted = false;    // a commit may have brought it work while it was busy
  bool removed = false;   // deleted or replaced: its worker drops it
  // The receiver's connection, kept between deliveries; the busy worker's alone. Counted in
  // `kept` while it exists.
  std::unique_ptr<net::Client> client;
  std::atomic<int>* kept = nullptr;

  void keep_connection(std::atomic<int>& count) {
    if (client) return;
    client = std::make_unique<net::Client>();
    kept = &count;
    kept->fetch_add(1);
  }
  void let_connection_go() {
    if (!client) return;
    client.reset();
    kept->fetch_sub(1);
  }
  ~Entry() { let_connection_go(); }
};

Deliverer::Deliverer(store::Store& store, Metrics& metrics, Policy policy,
                     std::map<std::string, FeedMaker> feeds)
    : store_(store), metrics_(metrics), policy_(policy), feeds_(std::move(feeds)) {}

int64_t Deliverer::now_ms() const {
  return (policy_.clock ? policy_.clock : &kSystemClock)->now_ms();
}

Status Deliverer::start() {
  if (auto newest = store_.max_id(); newest && *newest > newest_.load()) newest_.store(*newest);
  if (auto s = hold(); !s) return s;
  std::lock_guard lock(mu_);
  for (int i = 0; i < std::max(1, policy_.workers); ++i) workers_.emplace_back([this] { run(); });
  if (policy_.hold_every.count() > 0) {
    holding_ = std::thread([this] {
      bool failing = false;  // said once, and once more when it ends
      std::unique_lock lock(mu_);
      while (!holding_cv_.wait_for(lock, policy_.hold_every, [this] { return stopping_; })) {
        lock.unlock();
        auto s = hold();
        if (!s && !failing) {
          spdlog::warn("webhook subscriptions: cannot renew this node's claims: {}",
                       s.error().message);
        } else if (s && failing) {
          spdlog::info("webhook subscriptions: this node's claims are renewed again");
        }
        failing = !s;
        lock.lock();
      }
    });
  }
  return {};
}

bool Deliverer::running() const {
  std::lock_guard lock(mu_);
  return !workers_.empty() && !stopping_;
}

void Deliverer::stop() {
  bool started = false;
  {
    std::lock_guard lock(mu_);
    started = !workers_.empty();
    stopping_ = true;
  }
  cv_.notify_all();
  holding_cv_.notify_all();
  cancellation_->cancel();
  if (holding_.joinable()) holding_.join();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  if (started) store_.release_subscriptions();
}

Status Deliverer::hold() {
  std::lock_guard changing(changing_);
  auto held = store_.hold_subscriptions();
  if (!held) return held.error();
  std::set<std::string> ids;
  for (const auto& stored : *held) {
    ids.insert(stored.id);
    std::shared_ptr<Entry> entry;
    {
      std::lock_guard lock(mu_);
      if (auto it = entries_.find(stored.id); it != entries_.end()) entry = it->second;
      if (entry) take_changes(entry, stored);
    }
    if (entry) continue;
    if (auto st = put_in_memory(stored); !st) {
      // Said once, not at every hold.
      if (unusable_.insert(stored.id).second) {
        spdlog::warn("subscription {} is not delivered to: {}", stored.id, st.error().message);
      }
    } else {
      unusable_.erase(stored.id);
    }
  }
  // Deleted, ended, or delivered by another process now.
  std::lock_guard lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto next = std::next(it);
    if (!ids.count(it->first)) drop(it);
    it = next;
  }
  return {};
}

void Deliverer::take_changes(const std::shared_ptr<Entry>& entry,
                             const store::Subscription& stored) {
  store::Subscription& s = entry->sub;
  if (s.ended || (s.secret == stored.secret && s.url == stored.url &&
                  s.expires_at_ms == stored.expires_at_ms)) {
    return;
  }
  const bool refreshed = s.expires_at_ms != stored.expires_at_ms;
  s.secret = stored.secret;
  s.url = stored.url;
  s.expires_at_ms = stored.expires_at_ms;
  if (!refreshed || s.failures == 0 || stored.failures != 0) return;
  // Refreshed by its client through another process: a failing one tries again at once.
  metrics_.outbound_failing_subscriptions.add(-1);
  s.failures = 0;
  s.failing_since_ms = 0;
  s.next_attempt_at_ms = 0;
  s.last_error.clear();
  stop_retrying(entry);
  wake(entry);
}

void Deliverer::stop_retrying(const std::shared_ptr<Entry>& entry) {
  if (!entry->retrying) return;
  for (auto r = retrying_.begin(); r != retrying_.end(); ++r) {
    if (r->second == entry) {
      retrying_.erase(r);
      break;
    }
  }
  entry->retrying = false;
}

void Deliverer::drop(std::map<std::string, std::shared_ptr<Entry>>::iterator it) {
  it->second->removed = true;
  if (!it->second->sub.ended) metrics_.outbound_subscriptions.add(-1);
  if (it->second->sub.failures > 0) metrics_.outbound_failing_subscriptions.add(-1);
  entries_.erase(it);
}

Status Deliverer::put_in_memory(const store::Subscription& s) {
  auto maker = feeds_.find(s.kind);
  if (maker == feeds_.end()) {
    return make_error(ErrorCode::kInvalidArgument, "no feed for subscriptions of kind " + s.kind);
  }
  auto feed = maker->second(s);
  if (!feed) return feed.error();
  auto entry = std::make_shared<Entry>();
  entry->sub = s;
  entry->feed = std::move(*feed);
  std::lock_guard lock(mu_);
  if (auto old = entries_.find(s.id); old != entries_.end()) {
    old->second->removed = true;
    if (!old->second->sub.ended) metrics_.outbound_subscriptions.add(-1);
    if (old->second->sub.failures > 0) metrics_.outbound_failing_subscriptions.add(-1);
  }
  entries_[s.id] = entry;
  if (!s.ended) metrics_.outbound_subscriptions.add(1);
  if (s.failures > 0) metrics_.outbound_failing_subscriptions.add(1);
  if (s.ended) return {};
  if (s.next_attempt_at_ms > now_ms()) {
    // A retry pending when the process stopped: it keeps its time.
    entry->retrying = true;
    auto delay = std::chrono::milliseconds(s.next_attempt_at_ms - now_ms());
    retrying_.emplace(SteadyClock::now() + delay, entry);
    cv_.notify_one();
  } else {
    wake(entry);  // whatever was committed while it was away
  }
  return {};
}

Status Deliverer::put(const store::Subscription& subscription) {
  {
    std::lock_guard changing(changing_);
    if (auto s = store_.save_subscription(subscription); !s) return s;
    if (policy_.hold_every.count() == 0) return put_in_memory(subscription);
  }
  // Claimed now, by this process unless another is quicker.
  return hold();
}

Status Deliverer::update(const std::string& id,
                         const std::function<void(store::Subscription&)>& change) {
  std::lock_guard changing(changing_);
  store::Subscription saving;
  bool here = false;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it != entries_.end()) {
      here = true;
      const std::shared_ptr<Entry>& entry = it->second;
      if (entry->sub.ended) return make_error(ErrorCode::kNotFound, "no subscription " + id);
      bool was_failing = entry->sub.failures > 0;
      change(entry->sub);
      if (entry->sub.failures == 0 && was_failing) {
        metrics_.outbound_failing_subscriptions.add(-1);
      }
      // Out of the retry queue, to be served now.
      if (entry->sub.next_attempt_at_ms == 0) stop_retrying(entry);
      wake(entry);
      saving = entry->sub;
    }
  }
  if (!here) {
    // Delivered by another process, which takes the change up at its next hold().
    auto stored = store_.subscriptions();
    if (!stored) return stored.error();
    auto it = std::find_if(stored->begin(), stored->end(),
                           [&](const store::Subscription& s) { return s.id == id; });
    if (it == stored->end() || it->ended) {
      return make_error(ErrorCode::kNotFound, "no subscription " + id);
    }
    saving = *it;
    change(saving);
  }
  return store_.save_subscription(saving);
}

Status Deliverer::remove(const std::string& id) {
  std::lock_guard changing(changing_);
  if (auto s = store_.delete_subscription(id); !s) return s;
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(id); it != entries_.end()) drop(it);
  return {};
}

Result<std::optional<store::Subscription>> Deliverer::find(const std::string& id) const {
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(id); it != entries_.end()) return {it->second->sub};
  }
  auto stored = store_.subscriptions();
  if (!stored) return stored.error();
  for (auto& s : *stored) {
    if (s.id == id) return {std::move(s)};
  }
  return {std::nullopt};
}

Result<std::vector<store::Subscription>> Deliverer::list() const {
  auto stored = store_.subscriptions();
  if (!stored) return stored.error();
  std::lock_guard lock(mu_);
  for (auto& s : *stored) {
    if (auto it = entries_.find(s.id); it != entries_.end()) s = it->second->sub;
  }
  return stored;
}

bool Deliverer::holds(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  return it != entries_.end() && !it->second->removed && !stopping_ && !workers_.empty();
}

void Deliverer::on_events(const std::vector<Event>& events) {
  // In id order: the last is the newest.
  if (!events.empty() && events.back().id > newest_.load()) newest_.store(events.back().id);
  std::lock_guard lock(mu_);
  for (auto& kv : entries_) {
    const std::shared_ptr<Entry>& entry = kv.second;
    if (entry->sub.ended) continue;
    const Feed& feed = *entry->feed;
    bool wanted = std::any_of(events.begin(), events.end(),
                              [&feed](const Event& e) { return feed.could_want(e); });
    if (wanted) wake(entry);
  }
}

void Deliverer::wake(const std::shared_ptr<Entry>& entry) {
  if (entry->busy) {
    entry->wanted = true;
    return;
  }
  // A subscription waiting to retry keeps waiting: its receiver is failing.
  if (entry->queued || entry->retrying || entry->removed || entry->sub.ended) return;
  entry->queued = true;
  ready_.push_back(entry);
  cv_.notify_one();
}

void Deliverer::run() {
  // Deliveries are background work: intake and MCP come first when the cores are busy.
  lower_this_thread_priority(10);
  std::unique_lock lock(mu_);
  for (;;) {
    // Retries that are due join the ready queue.
    auto now = SteadyClock::now();
    while (!retrying_.empty() && retrying_.begin()->first <= now) {
      auto entry = retrying_.begin()->second;
      retrying_.erase(retrying_.begin());
      entry->retrying = false;
      wake(entry);
    }
    if (stopping_) return;
    if (ready_.empty()) {
      if (retrying_.empty()) {
        cv_.wait(lock);
      } else {
        // A copy: another thread may erase that entry while this one waits.
        const SteadyClock::time_point next = retrying_.begin()->first;
        cv_.wait_until(lock, next);
      }
      continue;
    }
    auto entry = ready_.front();
    ready_.pop_front();
    entry->queued = false;
    if (entry->removed || entry->sub.ended) continue;
    entry->busy = true;
    entry->wanted = false;
    lock.unlock();
    entry->keep_connection(kept_connections_);
    serve(entry);
    lock.lock();
    // Past the limit, a subscription lets its connection go after its turn.
    if (entry->removed || kept_connections_.load() > kMaxKeptConnections) {
      entry->let_connection_go();
    }
    entry->busy = false;
    if (entry->wanted) wake(entry);
  }
}

// A worker holds `entry` (busy): its feed and its delivery are this thread's alone; what others
// read of it (sub) changes under mu_.
void Deliverer::serve(const std::shared_ptr<Entry>& entry) {
  store::Subscription sub;
  {
    std::lock_guard lock(mu_);
    sub = entry->sub;
  }
  for (int sent = 0; sent < kTurn;) {
    if (sub.expires_at_ms != 0 && now_ms() >= sub.expires_at_ms) {
      end(*entry, "expired: its TTL lapsed without a refresh");
      return;
    }
    int64_t position = sub.position;
    auto messages = entry->feed->after(position, policy_.page);
    if (!messages) {
      spdlog::warn("subscription {}: cannot read its events: {}", sub.id, messages.error().message);
      std::lock_guard lock(mu_);
      if (!entry->removed && !entry->retrying) {
        entry->retrying = true;
        retrying_.emplace(SteadyClock::now() + policy_.first_retry, entry);
        cv_.notify_one();
      }
      return;
    }
    if (messages->empty()) {
      // Caught up. The position passes what was looked at, in memory only: a restart looks at
      // those events again and finds nothing to send, which costs less than a write per commit.
      std::lock_guard lock(mu_);
      entry->sub.position = std::max(entry->sub.position, position);
      return;
    }
    const size_t window = static_cast<size_t>(std::max(1, entry->feed->window()));
    for (size_t first = 0; first < messages->size(); first += window) {
      {
        std::lock_guard lock(mu_);
        if (entry->removed || stopping_) return;
      }
      if (sub.failures > 0) metrics_.outbound_retried.inc();
      const size_t n = std::min(window, messages->size() - first);
      std::vector<Attempt> attempts(n);
      {
        // The first on this thread and the subscription's kept connection, the others beside
        // it, each on a connection of its own.
        std::vector<std::jthread> beside;
        for (size_t i = 1; i < n; ++i) {
          beside.emplace_back([&, i] {
            net::Client own;
            attempts[i] = send(*entry, own, sub, (*messages)[first + i]);
          });
        }
        attempts[0] = send(*entry, *entry->client, sub, (*messages)[first]);
      }
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;  // cancelled: nothing to record, it is sent again after a restart
      }
      bool stopped = false;  // at a message to try again: the ones after it stay
      for (size_t i = 0; i < n; ++i) {
        const Message& m = (*messages)[first + i];
        if (stopped) {
          // Sent beside one that failed: only its success is told; it comes again later.
          if (attempts[i].ok()) entry->feed->settled(m, attempts[i], 1, false);
          continue;
        }
        stopped = !record(*entry, attempts[i], m);
      }
      {
        std::lock_guard lock(mu_);
        sub = entry->sub;
      }
      if (sub.ended || stopped) return;
      sent += static_cast<int>(n);
    }
  }
  // Its turn is over with work left: to the back of the queue.
  std::lock_guard lock(mu_);
  entry->wanted = true;
}

Attempt Deliverer::send(Entry& entry, net::Client& client, const store::Subscription& sub,
                        const Message& m) {
  auto start = SteadyClock::now();
  auto own = entry.feed->send(m, client, *this);
  Attempt attempt =
      own ? std::move(*own) : post(client, sub.url, sub.secret, sub.id, m.webhook_id, m.body);
  attempt.took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
  return attempt;
}

bool Deliverer::record(Entry& entry, const Attempt& attempt, const Message& m) {
  const Message* delivered = &m;
  int64_t now = now_ms();
  const int max_attempts = entry.feed->max_attempts();
  bool gone = attempt.status == 410 && max_attempts == 0;
  bool give_up = false;
  bool gave_up_message = false;
  int64_t attempts = 0;
  store::SubscriptionProgress saving;
  {
    std::lock_guard lock(mu_);
    if (entry.removed) return false;
    store::Subscription& s = entry.sub;
    attempts = s.failures + 1;
    bool was_failing = s.failures > 0;
    if (!attempt.ok() && !gone && max_attempts > 0 && attempts >= max_attempts) {
      // Given up: the subscription goes on with the next message.
      gave_up_message = true;
      s.position = std::max(s.position, delivered->position);
      s.failures = 0;
      s.failing_since_ms = 0;
      s.next_attempt_at_ms = 0;
      s.last_error = attempt.category();
      metrics_.outbound_failed.inc();
      metrics_.outbound_given_up.inc();
      spdlog::debug("subscription {}: gave up {} after {} attempts ({}{})", s.id,
                    delivered->webhook_id, attempts, attempt.category(),
                    attempt.status ? " " + std::to_string(attempt.status) : ": " + attempt.error);
    } else if (attempt.ok()) {
      s.position = std::max(s.position, delivered->position);
      ++s.delivered;
      s.last_delivery_at_ms = now;
      s.failures = 0;
      s.failing_since_ms = 0;
      s.next_attempt_at_ms = 0;
      s.last_error.clear();
      metrics_.outbound_delivered.inc();
      spdlog::debug("subscription {}: delivered {} to {} ({})", s.id, delivered->webhook_id, s.url,
                    attempt.status);
      if (delivered->occurred_at_ms > 0) {
        metrics_.outbound_lag_seconds.observe(
            static_cast<double>(std::max<int64_t>(0, now - delivered->occurred_at_ms)) / 1000.0);
      }
    } else if (!gone) {
      ++s.failures;
      if (s.failing_since_ms == 0) s.failing_since_ms = now;
      s.last_error = attempt.category();
      auto wait = backoff(policy_, s.failures);
      s.next_attempt_at_ms = now + wait.count();
      metrics_.outbound_failed.inc();
      give_up = now - s.failing_since_ms >= policy_.give_up_after.count();
      if (!give_up && !entry.retrying) {
        entry.retrying = true;
        // The map holds a shared_ptr; the entry is owned by entries_.
        retrying_.emplace(SteadyClock::now() + wait, entries_.at(s.id));
        cv_.notify_one();
      }
      spdlog::info("subscription {}: delivery{}{} failed ({}{}); retry {} in {} ms", s.id,
                   s.url.empty() ? "" : " to ", s.url, attempt.category(),
                   attempt.status ? " " + std::to_string(attempt.status) : ": " + attempt.error,
                   s.failures, wait.count());
    }
    bool failing = s.failures > 0;
    if (failing != was_failing) metrics_.outbound_failing_subscriptions.add(failing ? 1 : -1);
    saving = progress_of(s);
  }
  entry.feed->settled(m, attempt, attempts, gave_up_message);
  if (gone) {
    end(entry, "the receiver answered 410 Gone");
    return false;
  }
  if (give_up) {
    end(entry, "its receiver failed every delivery for " +
                   std::to_string(policy_.give_up_after.count() / 3'600'000) + " hours (" +
                   saving.last_error + ")");
    return false;
  }
  store_.save_progress(std::move(saving));
  return attempt.ok() || gave_up_message;
}

void Deliverer::end(Entry& entry, std::string reason) {
  store::SubscriptionProgress saving;
  std::string url;
  {
    std::lock_guard lock(mu_);
    if (entry.removed || entry.sub.ended) return;
    entry.sub.ended = true;
    entry.sub.end_reason = std::move(reason);
    metrics_.outbound_subscriptions.add(-1);
    if (entry.sub.failures > 0) metrics_.outbound_failing_subscriptions.add(-1);
    entry.sub.failures = 0;
    saving = progress_of(entry.sub);
    url = entry.sub.url;
  }
  spdlog::info("subscription {} to {} ended: {}", saving.id, url, saving.end_reason);
  store_.save_progress(std::move(saving));
}

}  // namespace hookmcp::outbound
