// The triggers' feed on the outbound module, what running each action means, the runs' records
// and the retries a person asks for.
#include "hookmcp/triggers/triggers.hpp"

#include <algorithm>
#include <future>
#include <set>

#include <spdlog/spdlog.h>

#include "command.hpp"
#include "hookmcp/core/json.hpp"

namespace hookmcp::triggers {

namespace {

using nlohmann::json;
using outbound::Attempt;

// Of a receiver's answer or a command's output, what a run keeps.
constexpr size_t kKeptOutput = 4096;
// The events a trigger's feed reads ahead, in bytes, beyond the first.
constexpr size_t kPageBytes = size_t{4} << 20;
// How often the runs a person asked to run again are looked for.
constexpr auto kRetryEvery = std::chrono::seconds(1);

std::string tail(const std::string& s) {
  return s.size() <= kKeptOutput ? s : s.substr(s.size() - kKeptOutput);
}

Attempt forward(const config::Trigger& t, const Event& e, const RunContext& c) {
  auto request =
      outbound::forward_request(e, t.url, t.signed_mode ? t.secret.value : "", c.now_ms / 1000);
  if (!request) {
    Attempt a;
    a.failure = net::Failure::kExchange;
    a.error = request.error().message;
    return a;
  }
  request->timeout = std::chrono::seconds(t.timeout_s);
  // The URL is the operator's: loopback and private addresses are allowed.
  return c.deliverer.exchange(c.client, std::move(*request), /*private_ok=*/true);
}

Attempt run(const config::Trigger& t, const Event& e, const RunContext& c) {
  Command command;
  command.argv = t.argv;
  command.env = {"HOOKMCP_EVENT_ID=" + std::to_string(e.id), "HOOKMCP_EVENT_SOURCE=" + e.source,
                 "HOOKMCP_EVENT_TYPE=" + e.type, "HOOKMCP_EVENT_ACTION=" + e.action,
                 "HOOKMCP_TRIGGER=" + t.name};
  command.timeout = std::chrono::seconds(t.timeout_s);
  command.cancellation = &c.deliverer.cancellation();
  command.keep_output = kKeptOutput - 64;  // room for the count of what came before
  // The event as get_event gives it, its payload whole.
  auto full = json::parse(e.body, nullptr, false);
  auto headers = json::parse(e.headers_json, nullptr, false);
  if (!headers.is_object()) headers = json::object();
  json doc = {{"id", e.id},
              {"source", e.source},
              {"provider", e.provider},
              {"type", e.type},
              {"action", e.action},
              {"delivery_id", e.delivery_id},
              {"received_at_ms", e.received_at_ms},
              {"verified", e.verified},
              {"content_type", e.content_type},
              {"headers", std::move(headers)},
              {"payload", full.is_discarded() ? json(e.body) : full}};
  command.input = doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  CommandResult r = run_command(command);
  Attempt a;
  a.body = r.output;
  if (!r.started) {
    a.succeeded = false;
    a.reason = "not_started";
    a.error = r.error;
    return a;
  }
  a.status = r.exit_status;
  a.succeeded = !r.timed_out && !r.cancelled && r.exit_status == 0;
  if (r.timed_out) {
    a.reason = "timeout";
    a.error = "stopped after " + std::to_string(t.timeout_s) + " s";
  } else if (r.signal) {
    a.reason = "signal_" + std::to_string(r.signal);
    a.error = "killed by signal " + std::to_string(r.signal);
  } else if (r.exit_status != 0) {
    a.reason = "exit_" + std::to_string(r.exit_status);
    a.error = "exit status " + std::to_string(r.exit_status);
  }
  if (r.output_bytes > r.output.size()) {
    a.body =
        "[" + std::to_string(r.output_bytes - r.output.size()) + " bytes before this]\n" + r.output;
  }
  return a;
}

// A notice for the assistants: an event of its own, source kNoticeSource, that every way an
// assistant hears of events carries (claude/channel, Events, the tools), marked as the user's.
Attempt notify(const config::Trigger& t, const Event& e, const RunContext& c) {
  json values = json::object();
  std::string message = fill_message(t.message, e, &values);
  json body = {
      {"trigger", t.name},
      {"message", message},
      {"instruction", t.message},
      {"values", values},
      {"event", {{"id", e.id}, {"source", e.source}, {"type", e.type}, {"action", e.action}}}};
  NewEvent n;
  n.source = kNoticeSource;
  n.provider = kNoticeSource;
  n.type = "trigger.notify";
  n.action = t.name;
  n.delivery_id = t.name + ":" + std::to_string(e.id);
  n.received_at_ms = c.now_ms;
  n.verified = true;
  n.headers_json = "{}";
  n.content_type = "application/json";
  n.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  auto done = std::make_shared<std::promise<Result<store::InsertOutcome>>>();
  auto stored = done->get_future();
  c.store.insert(std::move(n),
                 [done](Result<store::InsertOutcome> r) { done->set_value(std::move(r)); });
  Attempt a;
  auto r = stored.get();
  if (!r) {
    a.succeeded = false;
    a.reason = "store";
    a.error = r.error().message;
    return a;
  }
  a.succeeded = true;
  a.body = "notice " + std::to_string(r->id) + (r->duplicate ? " (already stored)" : "");
  return a;
}

}  // namespace

Attempt perform(const config::Trigger& t, const Event& e, const RunContext& c) {
  switch (t.action) {
    case config::Trigger::Action::kForward:
      return forward(t, e, c);
    case config::Trigger::Action::kRun:
      return run(t, e, c);
    case config::Trigger::Action::kNotify:
      return notify(t, e, c);
  }
  return {};
}

// One trigger's feed: the stored events after its position that match, each run by perform().
class Triggers::Feed final : public outbound::Feed {
 public:
  Feed(Triggers& owner, config::Trigger trigger)
      : owner_(owner),
        trigger_(std::move(trigger)),
        match_(trigger_.match),
        stats_(owner.stats_of(trigger_.name)) {}

  bool could_want(const Event& summary) const override { return match_.could_match(summary); }

  Result<std::vector<outbound::Message>> after(int64_t& position, int max) override {
    store::EventFilter f;
    f.source = match_.exact_source();
    f.after_id = position;
    f.oldest_first = true;
    f.limit = std::max(1, max);
    auto summaries = owner_.store_.list(f);
    if (!summaries) return summaries.error();
    const int64_t from = position;
    std::vector<outbound::Message> out;
    size_t bytes = 0;
    std::lock_guard lock(mu_);
    for (const auto& s : *summaries) {
      // The events wait in memory until they are run: a page holds a few MB of them at most.
      if (!out.empty() && bytes >= kPageBytes) break;
      position = std::max(position, s.id);
      if (!match_.could_match(s) || done_ahead_.erase(s.id)) continue;
      auto full = owner_.store_.get(s.id);
      if (!full) return full.error();
      if (!*full || !match_.matches(**full)) continue;
      bytes += (*full)->body.size() + (*full)->headers_json.size();
      out.push_back({s.id, "hookmcp_" + std::to_string(s.id), "", s.received_at_ms});
      events_[s.id] = std::make_shared<const Event>(std::move(**full));
    }
    // Ran beside one that failed, and passed since: forgotten.
    done_ahead_.erase(done_ahead_.begin(), done_ahead_.upper_bound(position));
    stats_->oldest_pending_ms.store(out.empty() ? 0 : out.front().occurred_at_ms);
    // Caught up: past everything looked at; otherwise still before what it returns.
    stats_->position.store(out.empty() ? position : from);
    return out;
  }

  std::optional<Attempt> send(const outbound::Message& m, net::Client& client,
                              const outbound::Deliverer& deliverer) override {
    std::shared_ptr<const Event> event;
    {
      std::lock_guard lock(mu_);
      auto it = events_.find(m.position);
      if (it == events_.end()) {
        Attempt a;
        a.succeeded = false;
        a.reason = "internal";
        a.error = "the event was not read";
        return a;
      }
      event = it->second;
    }
    RunContext context{owner_.store_, deliverer, client, owner_.clock_.now_ms()};
    return perform(trigger_, *event, context);
  }

  int max_attempts() const override { return trigger_.max_attempts; }
  int window() const override {
    return trigger_.action == config::Trigger::Action::kRun ? trigger_.concurrency : 1;
  }

  void settled(const outbound::Message& m, const Attempt& attempt, int64_t attempts,
               bool gave_up) override {
    {
      std::lock_guard lock(mu_);
      auto it = events_.find(m.position);
      if (it == events_.end()) return;
      if (attempt.ok() || gave_up) {
        events_.erase(it);
        if (attempt.ok()) done_ahead_.insert(m.position);
      }
    }
    // A message's position is its event's id.
    owner_.record(trigger_.name, m.position, attempt, attempts,
                  attempt.ok() ? "ok" : (gave_up ? "dead" : "retrying"));
    if (attempt.ok() || gave_up) {
      // The next one's time, until after() reads it.
      int64_t expected = m.occurred_at_ms;
      stats_->oldest_pending_ms.compare_exchange_strong(expected, 0);
    }
  }

 private:
  Triggers& owner_;
  const config::Trigger trigger_;
  const Match match_;
  const std::shared_ptr<Stats> stats_;
  std::mutex mu_;
  // Guarded by mu_: read by after(), until settled; shared with the sends in flight.
  std::map<int64_t, std::shared_ptr<const Event>> events_;
  std::set<int64_t> done_ahead_;  // guarded by mu_: ran beside one that failed
};

Triggers::Triggers(store::Store& store, Metrics& metrics, const Clock& clock,
                   std::map<std::string, config::Trigger> triggers)
    : store_(store), metrics_(metrics), clock_(clock), triggers_(std::move(triggers)) {
  renderer_ = metrics_.add_renderer([this](std::string& out) { render_metrics(out); });
}

std::shared_ptr<Triggers::Stats> Triggers::stats_of(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& s = stats_[name];
  if (!s) s = std::make_shared<Stats>();
  return s;
}

std::optional<config::Trigger> Triggers::find(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = triggers_.find(name);
  if (it == triggers_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Triggers::names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, t] : triggers_) out.push_back(name);
  return out;
}

outbound::FeedMaker Triggers::feed_maker() {
  return [this](const store::Subscription& s) -> Result<std::shared_ptr<outbound::Feed>> {
    auto t = find(s.name);
    if (!t) return make_error(ErrorCode::kNotFound, "trigger " + s.name + " is not configured");
    return std::shared_ptr<outbound::Feed>(std::make_shared<Feed>(*this, std::move(*t)));
  };
}

Status Triggers::sync(outbound::Deliverer& deliverer) {
  auto stored = deliverer.list();
  if (!stored) return stored.error();
  std::map<std::string, store::Subscription> had;
  for (auto& s : *stored) {
    if (s.kind == kSubscriptionKind) had[s.id] = std::move(s);
  }
  std::map<std::string, config::Trigger> wanted;
  {
    std::lock_guard lock(mu_);
    wanted = triggers_;
  }
  std::optional<int64_t> newest;
  for (const auto& [name, t] : wanted) {
    const std::string id = subscription_id(name);
    // Every setting: a change to any of them (a timeout too) makes the feed again.
    const std::string arguments = t.to_json().dump();
    const std::string secret = t.signed_mode ? t.secret.value : "";
    auto it = had.find(id);
    if (it != had.end()) {
      const store::Subscription& s = it->second;
      if (s.arguments == arguments && s.secret == secret && s.url == t.url && !s.ended) {
        had.erase(it);
        continue;
      }
    }
    store::Subscription s;
    if (it != had.end()) {
      s = it->second;  // changed: it goes on from where it is
      had.erase(it);
      spdlog::info("trigger {} changed: it goes on from event {}", name, s.position);
    } else {
      if (!newest) {
        auto max = store_.max_id();
        if (!max) return max.error();
        newest = *max;
      }
      s.id = id;
      s.kind = kSubscriptionKind;
      s.name = name;
      s.created_at_ms = clock_.now_ms();
      s.position = *newest;  // for the events that come next
    }
    s.arguments = arguments;
    s.url = t.url;
    s.secret = secret;
    s.ended = false;
    s.end_reason.clear();
    if (auto st = deliverer.put(s); !st) return st;
  }
  for (const auto& [id, s] : had) {
    spdlog::info("trigger {} is no longer in the config: removed", s.name);
    if (auto st = deliverer.remove(id); !st) return st;
  }
  return {};
}

Status Triggers::start(outbound::Deliverer& deliverer) {
  deliverer_ = &deliverer;
  if (auto s = sync(deliverer); !s) return s;
  if (retrying_.joinable()) return {};
  retrying_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, kRetryEvery, [this] { return stopping_; })) {
      lock.unlock();
      retry_asked();
      lock.lock();
    }
  });
  return {};
}

Status Triggers::reload(std::map<std::string, config::Trigger> triggers) {
  {
    std::lock_guard lock(mu_);
    triggers_ = std::move(triggers);
  }
  outbound::Deliverer* deliverer = deliverer_.load();
  if (!deliverer) return {};
  // A changed trigger's feed is made again from the new config.
  return sync(*deliverer);
}

void Triggers::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (retrying_.joinable()) retrying_.join();
}

store::TriggerRun Triggers::record(const std::string& trigger, int64_t event_id, const Attempt& a,
                                   int64_t attempts, const std::string& state) {
  const int64_t now = clock_.now_ms();
  store::TriggerRun run;
  run.trigger = trigger;
  run.event_id = event_id;
  run.state = state;
  run.attempts = attempts;
  run.last_at_ms = now;
  run.first_at_ms = now - a.took.count();
  run.status = a.status;
  if (!a.ok()) {
    run.error = a.category();
    std::string detail = a.error.empty() && a.status ? std::to_string(a.status) : a.error;
    if (!detail.empty() && detail != run.error) run.error += ": " + detail;
  }
  run.output = tail(a.body);
  run.duration_ms = a.took.count();
  store_.save_run(run);
  auto stats = stats_of(trigger);
  (state == "ok" ? stats->ok : state == "dead" ? stats->dead : stats->failed).fetch_add(1);
  if (state == "dead") {
    spdlog::warn(
        "trigger {}: gave event {} up after {} attempts ({}); `hookmcp triggers retry` "
        "runs it again",
        trigger, event_id, attempts, a.category());
  }
  return run;
}

Attempt Triggers::run_now(const config::Trigger& t, const Event& event,
                          const outbound::Deliverer& deliverer) {
  net::Client client;
  RunContext context{store_, deliverer, client, clock_.now_ms()};
  auto start = std::chrono::steady_clock::now();
  Attempt a = perform(t, event, context);
  a.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  return a;
}

Result<store::TriggerRun> Triggers::replay(const std::string& name, int64_t event_id) {
  auto t = find(name);
  if (!t) return make_error(ErrorCode::kNotFound, "no trigger named " + name);
  auto event = store_.get(event_id);
  if (!event) return event.error();
  if (!*event) return make_error(ErrorCode::kNotFound, "no event " + std::to_string(event_id));
  outbound::Deliverer* deliverer = deliverer_.load();
  if (!deliverer) return make_error(ErrorCode::kUnavailable, "triggers are not running here");
  Attempt a = run_now(*t, **event, *deliverer);
  return record(name, event_id, a, 1, a.ok() ? "ok" : "dead");
}

void Triggers::retry_asked() {
  outbound::Deliverer* deliverer = deliverer_.load();
  if (!deliverer) return;
  store::RunFilter f;
  f.state = "retry";
  f.limit = 100;
  auto asked = store_.runs(f);
  if (!asked) return;
  for (const auto& r : *asked) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    // On PostgreSQL, by the node that delivers the trigger.
    if (!deliverer->holds(subscription_id(r.trigger))) continue;
    auto t = find(r.trigger);
    auto event = store_.get(r.event_id);
    Attempt a;
    if (!t || !event || !*event) {
      a.succeeded = false;
      a.reason = !t ? "no_trigger" : "no_event";
      a.error = !t ? "the trigger is no longer in the config" : "the event was pruned";
    } else {
      a = run_now(*t, **event, *deliverer);
      spdlog::info("trigger {}: event {} run again as asked: {}", r.trigger, r.event_id,
                   a.ok() ? "ok" : a.category());
    }
    record(r.trigger, r.event_id, a, r.attempts + 1, a.ok() ? "ok" : "dead");
  }
}

void Triggers::render_metrics(std::string& out) {
  std::map<std::string, std::shared_ptr<Stats>> stats;
  std::vector<std::string> configured;
  {
    std::lock_guard lock(mu_);
    stats = stats_;
    for (const auto& [name, t] : triggers_) configured.push_back(name);
  }
  for (const auto& name : configured) {
    if (!stats.count(name)) stats[name] = std::make_shared<Stats>();
  }
  prometheus_header(out, "hookmcp_trigger_runs_total", "counter",
                    "Trigger run attempts, by trigger and outcome (ok; failed, to be retried; "
                    "dead, given up after the last attempt).");
  for (const auto& [name, s] : stats) {
    const std::string label = "trigger=\"" + prometheus_label(name) + "\",outcome=\"";
    prometheus_sample(out, "hookmcp_trigger_runs_total", label + "ok\"",
                      static_cast<double>(s->ok.load()));
    prometheus_sample(out, "hookmcp_trigger_runs_total", label + "failed\"",
                      static_cast<double>(s->failed.load()));
    prometheus_sample(out, "hookmcp_trigger_runs_total", label + "dead\"",
                      static_cast<double>(s->dead.load()));
  }
  prometheus_header(out, "hookmcp_trigger_queue_events", "gauge",
                    "Events stored after a trigger's position, which it has yet to look at (an "
                    "upper bound of its queue: not all of them may match).");
  // From memory alone: /metrics is answered on an I/O thread. A trigger another node runs has
  // no position here.
  outbound::Deliverer* deliverer = deliverer_.load();
  for (const auto& name : configured) {
    const int64_t position = stats[name]->position.load();
    if (!deliverer || position < 0) continue;
    prometheus_sample(
        out, "hookmcp_trigger_queue_events", "trigger=\"" + prometheus_label(name) + "\"",
        static_cast<double>(std::max<int64_t>(0, deliverer->newest_event() - position)));
  }
  prometheus_header(out, "hookmcp_trigger_oldest_pending_seconds", "gauge",
                    "Age of the oldest event a trigger has yet to run (0 when it is caught up).");
  const int64_t now = clock_.now_ms();
  for (const auto& name : configured) {
    int64_t at = stats[name]->oldest_pending_ms.load();
    prometheus_sample(out, "hookmcp_trigger_oldest_pending_seconds",
                      "trigger=\"" + prometheus_label(name) + "\"",
                      at ? static_cast<double>(std::max<int64_t>(0, now - at)) / 1000.0 : 0.0);
  }
}

}  // namespace hookmcp::triggers
