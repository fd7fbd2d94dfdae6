// The connections: their states and secrets, the feed that reads what notifications point at,
// and the keeping-alive of what is registered at each provider.
#include "hookmcp/connections/connections.hpp"

#include <algorithm>
#include <future>
#include <random>

#include <spdlog/spdlog.h>

#include "api.hpp"
#include "hookmcp/core/event.hpp"

namespace hookmcp::connections {

namespace {

using detail::Context;
using detail::json;

// How often the keeping-alive looks at each connection.
constexpr auto kTendEvery = std::chrono::seconds(1);
// An access token is refreshed this long before it expires.
constexpr int64_t kRefreshAheadMs = 120'000;
// A failed registration is tried again after 1 s, 2 s, 4 s... up to this.
constexpr int64_t kMaxRetryMs = int64_t{3600} * 1000;
// A notification whose reading keeps failing is given up after this many attempts; the next
// notification reads from the same stored position, so nothing is lost for good.
constexpr int kReadAttempts = 8;

bool transient(const Error& e) {
  return e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kIo;
}

// Stores events read from a provider and waits for their commit.
Status store_all(store::Store& store, std::vector<NewEvent> events) {
  std::vector<std::future<Result<store::InsertOutcome>>> pending;
  for (auto& e : events) {
    auto done = std::make_shared<std::promise<Result<store::InsertOutcome>>>();
    pending.push_back(done->get_future());
    store.insert(std::move(e),
                 [done](Result<store::InsertOutcome> r) { done->set_value(std::move(r)); });
  }
  Status status;
  for (auto& p : pending) {
    auto r = p.get();
    if (!r && status) status = r.error();
  }
  return status;
}

}  // namespace

struct Connections::Entry {
  explicit Entry(config::Connection c) : config(std::move(c)) {}
  const config::Connection config;
  std::mutex mu;  // one operation at a time on the connection; guards what follows
  State state;
  AccessToken access;
  bool held = false;     // whether the keeping-alive last saw this node hold it
  bool checked = false;  // checked at the provider since it was taken up
  int64_t next_try_ms = 0;
  int failures = 0;
  std::string saved;  // the state as last stored
  // For /metrics, read without the lock.
  std::atomic<int> up{0};
  std::atomic<int64_t> expires_at_ms{0};
  std::atomic<uint64_t> read_ok{0}, read_failed{0}, events_stored{0};
};

// A connection's feed: the notifications stored in its source after its position, each read
// from the provider (the feed's own send), in order, retried with the deliverer's backoff.
class Connections::Feed final : public outbound::Feed {
 public:
  Feed(Connections& owner, std::shared_ptr<Entry> entry)
      : owner_(owner), entry_(std::move(entry)), kind_(detail::kind_of(entry_->config.kind)) {}

  bool could_want(const Event& summary) const override {
    return summary.source == entry_->config.source && kind_.reads(summary.type);
  }

  Result<std::vector<outbound::Message>> after(int64_t& position, int max) override {
    store::EventFilter f;
    f.source = entry_->config.source;
    f.after_id = position;
    f.oldest_first = true;
    f.limit = std::max(1, max);
    auto summaries = owner_.store_.list(f);
    if (!summaries) return summaries.error();
    std::vector<outbound::Message> out;
    for (const auto& s : *summaries) {
      position = std::max(position, s.id);
      if (kind_.reads(s.type)) {
        out.push_back({s.id, "connection_" + std::to_string(s.id), "", s.received_at_ms});
      }
    }
    return out;
  }

  std::optional<outbound::Attempt> send(const outbound::Message& m, net::Client& client,
                                        const outbound::Deliverer& deliverer) override {
    (void)client, (void)deliverer;
    outbound::Attempt a;
    auto started = std::chrono::steady_clock::now();
    Status s = read(m.position);
    a.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    a.succeeded = static_cast<bool>(s);
    if (!s) {
      a.reason = transient(s.error()) ? "unavailable" : "refused";
      a.error = s.error().message;
      entry_->read_failed.fetch_add(1);
      spdlog::warn("connection {}: reading notification {} failed: {}", entry_->config.name,
                   m.position, s.error().message);
    } else {
      entry_->read_ok.fetch_add(1);
    }
    return a;
  }

  int max_attempts() const override { return kReadAttempts; }

 private:
  Status read(int64_t id) {
    auto event = owner_.store_.get(id);
    if (!event) return event.error();
    if (!*event) return {};  // pruned since
    Entry& e = *entry_;
    std::lock_guard lock(e.mu);
    Status s = owner_.with_token(e, [&](Context& x) { return kind_.read(x, **event); });
    owner_.save(e);  // the cursor moved (or a lifecycle event renewed the registration)
    return s;
  }

  Connections& owner_;
  std::shared_ptr<Entry> entry_;
  const detail::Kind& kind_;
};

Connections::Connections(store::Store& store, Metrics& metrics, const Clock& clock,
                         const std::map<std::string, config::Connection>& connections,
                         std::string public_url)
    : store_(store), metrics_(metrics), clock_(clock), public_url_(std::move(public_url)) {
  for (const auto& [name, c] : connections) entries_[name] = std::make_shared<Entry>(c);
  renderer_ = metrics_.add_renderer([this](std::string& out) { render_metrics(out); });
}

std::shared_ptr<Connections::Entry> Connections::entry(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second;
}

Status Connections::prepare(std::map<std::string, config::Source>& sources) {
  std::map<std::string, std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    entries = entries_;
  }
  for (auto& [name, e] : entries) {
    std::lock_guard lock(e->mu);
    State fresh;
    fresh.secret = detail::random_token(32);
    if (fresh.secret.empty()) return make_error(ErrorCode::kInternal, "no random secret");
    // Made once: a second node (or a restart) finds the one stored and uses it.
    auto stored = store_.save_connection_state(name, fresh.to_json().dump(), true);
    if (!stored) return stored.error();
    e->state = State::from_json(*stored);
    e->saved = *stored;
    if (e->state.secret.empty()) {
      e->state.secret = fresh.secret;
      save(*e);
    }
    const config::Connection& c = e->config;
    config::Source& s = sources[c.source];
    if (s.name.empty()) {
      s.name = c.source;
      s.provider = c.provider();
      s.audience = c.audience;
      s.service_account = c.service_account;
    }
    // Gmail's pushes carry Google's signed token, not a secret of ours.
    if (c.kind != config::Connection::Kind::kGmail) {
      config::Secret secret;
      secret.value = e->state.secret;
      if (std::find(s.secrets.begin(), s.secrets.end(), secret) == s.secrets.end()) {
        s.secrets.push_back(std::move(secret));
      }
    }
  }
  return {};
}

outbound::FeedMaker Connections::feed_maker() {
  return [this](const store::Subscription& s) -> Result<std::shared_ptr<outbound::Feed>> {
    auto e = entry(s.name);
    if (!e) return make_error(ErrorCode::kNotFound, "connection " + s.name + " is not configured");
    return std::shared_ptr<outbound::Feed>(std::make_shared<Feed>(*this, std::move(e)));
  };
}

Status Connections::sync(outbound::Deliverer& deliverer) {
  auto stored = deliverer.list();
  if (!stored) return stored.error();
  std::map<std::string, store::Subscription> had;
  for (auto& s : *stored) {
    if (s.kind == kSubscriptionKind) had[s.id] = std::move(s);
  }
  std::map<std::string, std::shared_ptr<Entry>> wanted;
  {
    std::lock_guard lock(mu_);
    wanted = entries_;
  }
  for (const auto& [name, e] : wanted) {
    const std::string id = subscription_id(name);
    const std::string arguments = e->config.to_json().dump();
    auto it = had.find(id);
    if (it != had.end() && it->second.arguments == arguments && !it->second.ended) {
      had.erase(it);
      continue;
    }
    store::Subscription s;
    if (it != had.end()) {
      s = it->second;  // changed: it reads on from where it is
      had.erase(it);
    } else {
      auto max = store_.max_id();
      if (!max) return max.error();
      s.id = id;
      s.kind = kSubscriptionKind;
      s.name = name;
      s.created_at_ms = clock_.now_ms();
      s.position = *max;  // notifications from now on
    }
    s.arguments = arguments;
    s.ended = false;
    s.end_reason.clear();
    if (auto st = deliverer.put(s); !st) return st;
  }
  for (const auto& [id, s] : had) {
    spdlog::info(
        "connection {} is no longer in the config: its reading stops (remove it at the "
        "provider with `hookmcp connections remove {}`)",
        s.name, s.name);
    if (auto st = deliverer.remove(id); !st) return st;
  }
  return {};
}

Status Connections::start(outbound::Deliverer& deliverer) {
  deliverer_ = &deliverer;
  if (auto s = sync(deliverer); !s) return s;
  if (keeping_.joinable()) return {};
  keeping_ = std::thread([this] { keep_alive(); });
  return {};
}

Status Connections::reload(const std::map<std::string, config::Connection>& connections,
                           std::string public_url) {
  {
    std::lock_guard lock(mu_);
    public_url_ = std::move(public_url);
    std::map<std::string, std::shared_ptr<Entry>> next;
    for (const auto& [name, c] : connections) {
      auto it = entries_.find(name);
      next[name] =
          it != entries_.end() && it->second->config == c ? it->second : std::make_shared<Entry>(c);
    }
    entries_ = std::move(next);
  }
  auto* d = deliverer_.load();
  if (d == nullptr) return {};
  auto s = sync(*d);
  wake();
  return s;
}

void Connections::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cancel_->cancel();  // a request in flight ends now, to be made again after a restart
  cv_.notify_all();
  if (keeping_.joinable()) keeping_.join();
}

void Connections::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Connections::keep_alive() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto entries = entries_;
    lock.unlock();
    auto* d = deliverer_.load();
    for (auto& [name, e] : entries) {
      if (d != nullptr && d->holds(subscription_id(name))) {
        tend(*e);
      } else {
        std::lock_guard l(e->mu);
        e->held = false;
      }
    }
    lock.lock();
    cv_.wait_for(lock, kTendEvery, [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

void Connections::tend(Entry& e) {
  std::lock_guard lock(e.mu);
  const int64_t now = clock_.now_ms();
  if (!e.held || e.failures > 0) {
    // Taken up here, or failing: what another node (or `connections login`) stored is newer.
    auto states = store_.connection_states();
    if (states) {
      auto it = states->find(e.config.name);
      if (it != states->end() && it->second != e.saved) {
        std::string old_refresh = e.state.refresh_token;
        e.state = State::from_json(it->second);
        e.saved = it->second;
        if (e.state.refresh_token != old_refresh) {
          e.access = {};
          e.next_try_ms = 0;  // a new login: try it now
        }
      }
    }
    if (!e.held) e.checked = false;
    e.held = true;
  }
  // Added by a reload a moment ago: its secret is made (prepare) before anything is registered.
  if (e.state.secret.empty()) return;
  const auto& kind = detail::kind_of(e.config.kind);
  const int64_t renew_at = kind.renew_at(e.state);
  const bool due = !e.checked || e.state.status != "active" || (renew_at != 0 && now >= renew_at);
  if (!due || now < e.next_try_ms) return;
  const bool at_start = !e.checked;
  Status s = with_token(e, [&](Context& x) -> Status {
    if (auto checked = kind.check(x, at_start); !checked) return checked;
    if (renew_at == 0 || now < renew_at || e.state.registered_at_ms >= now) return {};
    if (auto renewed = kind.renew(x); !renewed) return renewed;
    spdlog::info("connection {}: renewed until {}", e.config.name,
                 format_rfc3339_ms(e.state.expires_at_ms));
    return {};
  });
  if (!s) {
    e.failures++;
    int64_t wait = std::min<int64_t>(kMaxRetryMs, int64_t{1000} << std::min(e.failures - 1, 22));
    e.next_try_ms = now + wait / 2 + static_cast<int64_t>(std::random_device{}() % (wait / 2 + 1));
    if (transient(s.error())) {
      e.state.reason = s.error().message;
      spdlog::warn("connection {}: {} (trying again)", e.config.name, s.error().message);
      save(e);
    } else {
      fail(e, s.error().message);
    }
    return;
  }
  if (e.state.status != "active") {
    spdlog::info("connection {}: {} registered at {} ({})", e.config.name, e.config.kind_name(),
                 e.config.provider(), e.state.remote_id);
  }
  e.checked = true;
  e.failures = 0;
  e.next_try_ms = 0;
  e.state.status = "active";
  e.state.reason.clear();
  save(e);
}

void Connections::save(Entry& e) {
  e.up.store(e.state.status == "active" ? 1 : 0);
  e.expires_at_ms.store(e.state.expires_at_ms);
  std::string text = e.state.to_json().dump();
  if (text == e.saved) return;
  // Written whole: a login stored meanwhile by another process is kept. Only a connection whose
  // refresh token comes from `hookmcp connections login` can have one: the others write at once.
  const bool may_log_in = e.config.uses_oauth() && e.config.refresh_token.value.empty();
  auto states =
      may_log_in ? store_.connection_states()
                 : Result<std::map<std::string, std::string>>(std::map<std::string, std::string>{});
  if (states) {
    auto it = states->find(e.config.name);
    if (it != states->end()) {
      State there = State::from_json(it->second);
      if (!there.refresh_token.empty() && there.refresh_token != e.state.refresh_token &&
          State::from_json(e.saved).refresh_token == e.state.refresh_token) {
        e.state.refresh_token = there.refresh_token;
        e.access = {};
        text = e.state.to_json().dump();
      }
    }
  }
  auto r = store_.save_connection_state(e.config.name, text);
  if (!r) {
    spdlog::warn("connection {}: its state could not be saved: {}", e.config.name,
                 r.error().message);
    return;
  }
  e.saved = text;
}

Result<std::string> Connections::bearer(Entry& e) {
  const config::Connection& c = e.config;
  if (!c.uses_oauth()) return c.token.value;
  const int64_t now = clock_.now_ms();
  if (!e.access.value.empty() && now < e.access.expires_at_ms - kRefreshAheadMs) {
    return e.access.value;
  }
  const std::string& refresh =
      !c.refresh_token.value.empty() ? c.refresh_token.value : e.state.refresh_token;
  if (refresh.empty()) {
    return make_error(ErrorCode::kUnauthenticated,
                      "no refresh token: run `hookmcp connections login " + c.name +
                          "`, or give refresh_token in the config");
  }
  auto t = refresh_access_token(c, refresh, now);
  if (!t) return t.error();
  e.access = *t;
  if (!t->refresh_token.empty() && c.refresh_token.value.empty() &&
      t->refresh_token != e.state.refresh_token) {
    e.state.refresh_token = t->refresh_token;  // rotated (Microsoft): the new one from now on
    save(e);
  }
  return e.access.value;
}

Status Connections::with_token(Entry& e, const std::function<Status(detail::Context&)>& op) {
  // A provider's answer of an unexpected shape (a number where a string was documented) throws
  // out of the JSON library: it fails this attempt, never the thread.
  try {
    return with_token_unguarded(e, op);
  } catch (const std::exception& ex) {
    return make_error(ErrorCode::kUnavailable,
                      std::string("unexpected answer from the provider: ") + ex.what());
  }
}

Status Connections::with_token_unguarded(Entry& e,
                                         const std::function<Status(detail::Context&)>& op) {
  std::string url;
  {
    std::lock_guard l(mu_);
    url = hook_url(public_url_, e.config);
  }
  // An access token the provider no longer takes (revoked, or expired early) is refreshed once:
  // only a refused refresh fails the connection.
  for (int attempt = 0;; ++attempt) {
    auto token = bearer(e);
    if (!token) return token.error();
    Context x{
        e.config, e.state, *token, url, clock_.now_ms(), [this, &e](std::vector<NewEvent> events) {
          e.events_stored.fetch_add(events.size());
          return store_all(store_, std::move(events));
        }};
    Status s = op(x);
    if (s || s.error().code != ErrorCode::kUnauthenticated || !e.config.uses_oauth() ||
        attempt > 0) {
      return s;
    }
    e.access = {};
  }
}

void Connections::fail(Entry& e, const std::string& reason) {
  const bool news = e.state.status != "failed" || e.state.reason != reason;
  e.state.status = "failed";
  e.state.reason = reason;
  e.access = {};
  save(e);
  if (!news) return;
  spdlog::error("connection {} failed: {}", e.config.name, reason);
  // The assistant hears of it as it hears of the source's events.
  const int64_t now = clock_.now_ms();
  NewEvent n;
  n.source = e.config.source;
  n.provider = kNoticeSource;
  n.type = "connection.failed";
  n.action = e.config.name;
  n.delivery_id = "connection.failed:" + e.config.name + ":" + std::to_string(now);
  n.received_at_ms = now;
  n.verified = true;
  n.headers_json = "{}";
  n.content_type = "application/json";
  n.body =
      json{{"connection", e.config.name},
           {"kind", e.config.kind_name()},
           {"reason", reason},
           {"fix", e.config.uses_oauth() ? "run `hookmcp connections login " + e.config.name + "`"
                                         : "check the connection's token and target in the config"}}
          .dump(-1, ' ', false, json::error_handler_t::replace);
  store_.insert(std::move(n), [](const Result<store::InsertOutcome>&) {});
}

void Connections::render_metrics(std::string& out) {
  std::map<std::string, std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    entries = entries_;
  }
  if (entries.empty()) return;
  prometheus_header(out, "hookmcp_connection_up", "gauge",
                    "1 when the connection is registered at its provider and working, 0 when it "
                    "is pending or failed (see hookmcp connections list).");
  for (const auto& [name, e] : entries) {
    prometheus_sample(out, "hookmcp_connection_up",
                      "connection=\"" + prometheus_label(name) + "\",kind=\"" +
                          prometheus_label(e->config.kind_name()) + "\"",
                      e->up.load());
  }
  prometheus_header(out, "hookmcp_connection_expiry_seconds", "gauge",
                    "When the connection's registration expires (Unix seconds); 0: never.");
  for (const auto& [name, e] : entries) {
    prometheus_sample(out, "hookmcp_connection_expiry_seconds",
                      "connection=\"" + prometheus_label(name) + "\"",
                      static_cast<double>(e->expires_at_ms.load()) / 1000.0);
  }
  prometheus_header(out, "hookmcp_connection_reads_total", "counter",
                    "Notifications read from the provider, by outcome.");
  for (const auto& [name, e] : entries) {
    const std::string label = "connection=\"" + prometheus_label(name) + "\",outcome=\"";
    prometheus_sample(out, "hookmcp_connection_reads_total", label + "ok\"",
                      static_cast<double>(e->read_ok.load()));
    prometheus_sample(out, "hookmcp_connection_reads_total", label + "failed\"",
                      static_cast<double>(e->read_failed.load()));
  }
  prometheus_header(out, "hookmcp_connection_events_total", "counter",
                    "Events read from the provider and stored (calendar events, messages).");
  for (const auto& [name, e] : entries) {
    prometheus_sample(out, "hookmcp_connection_events_total",
                      "connection=\"" + prometheus_label(name) + "\"",
                      static_cast<double>(e->events_stored.load()));
  }
}

Status unregister(const config::Connection& c, const State& state, int64_t now_ms) {
  State s = state;
  std::string token = c.token.value;
  if (c.uses_oauth()) {
    const std::string& refresh =
        !c.refresh_token.value.empty() ? c.refresh_token.value : state.refresh_token;
    if (refresh.empty()) {
      return make_error(ErrorCode::kUnauthenticated, "no refresh token to act with");
    }
    auto t = refresh_access_token(c, refresh, now_ms);
    if (!t) return t.error();
    token = t->value;
  }
  Context x{c, s, token, "", now_ms, [](const std::vector<NewEvent>&) { return Status(); }};
  try {
    return detail::kind_of(c.kind).remove(x);
  } catch (const std::exception& ex) {
    return make_error(ErrorCode::kUnavailable,
                      std::string("unexpected answer from the provider: ") + ex.what());
  }
}

}  // namespace hookmcp::connections
