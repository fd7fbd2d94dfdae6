// Triggers: what the operator's config says to do with each new stored event that matches (the
// `triggers` section): forward it to a URL, run a command, or notify the assistants. Each trigger
// is a subscription of the outbound module (kind "trigger"), which keeps its position in the
// store, sends in order, retries with backoff and gives a run up after its last attempt; this
// module says which events a trigger wants and what running it means, records every run
// (Store::save_run) and runs again the ones a person asks for (`hookmcp triggers retry`, the
// replay_event tool).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/event.hpp"
#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/outbound/outbound.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::triggers {

inline constexpr const char* kSubscriptionKind = "trigger";
// The stored subscription of trigger `name`.
std::string subscription_id(const std::string& name);

// `*` in `pattern` stands for any run of characters; the rest is compared as is.
bool glob_match(std::string_view pattern, std::string_view text);

// A trigger's `match`, ready to test events.
class Match {
 public:
  explicit Match(config::TriggerMatch match) : m_(std::move(match)) {}
  // What the summary alone rules out (no body needed). Notices (kNoticeSource) never match.
  bool could_match(const Event& summary) const;
  // The whole test, on an event with its body.
  bool matches(const Event& event) const;
  // The source every matching event has, when the match names one without a pattern.
  std::optional<std::string> exact_source() const;

 private:
  config::TriggerMatch m_;
};

// A notify trigger's message for `event`: the template with its fields filled in. Each value
// taken from the payload is put between « and » and listed in `values` (field -> value), so that
// a reader tells the user's words from the sender's.
std::string fill_message(const std::string& message, const Event& event,
                         nlohmann::json* values = nullptr);

// One run of a trigger's action on an event, outside any queue: what the outbound module's
// worker does for each message, and what a retry or a replay does.
struct RunContext {
  store::Store& store;
  const outbound::Deliverer& deliverer;
  net::Client& client;
  int64_t now_ms = 0;
};
outbound::Attempt perform(const config::Trigger& trigger, const Event& event,
                          const RunContext& context);

class Triggers {
 public:
  Triggers(store::Store& store, Metrics& metrics, const Clock& clock,
           std::map<std::string, config::Trigger> triggers);
  ~Triggers() { stop(); }
  Triggers(const Triggers&) = delete;
  Triggers& operator=(const Triggers&) = delete;

  // For the outbound module: the feed of a stored trigger subscription (kNotFound when the
  // config no longer has that trigger).
  outbound::FeedMaker feed_maker();

  // Makes the stored trigger subscriptions those of the config: a new trigger starts at the
  // newest stored event (it fires for what comes next), a changed one goes on from its position,
  // one taken out of the config is removed. Then, once `deliverer` runs, takes up the runs a
  // person asked to run again, every second. Blocking.
  Status start(outbound::Deliverer& deliverer);
  // A config loaded again (SIGHUP): the same, for the triggers it has.
  Status reload(std::map<std::string, config::Trigger> triggers);
  void stop();

  // Runs trigger `name` on event `event_id` now (the replay_event tool), records the run and
  // returns it. kNotFound for an unknown trigger or event.
  Result<store::TriggerRun> replay(const std::string& name, int64_t event_id);
  std::vector<std::string> names() const;

 private:
  class Feed;
  friend class Feed;
  Status sync(outbound::Deliverer& deliverer);
  std::optional<config::Trigger> find(const std::string& name) const;
  // Records the outcome of a run's attempt (store and metrics) and returns the run.
  store::TriggerRun record(const std::string& trigger, int64_t event_id, const outbound::Attempt& a,
                           int64_t attempts, const std::string& state);
  // One run now, outside the queue (a retry asked for, a replay), timed.
  outbound::Attempt run_now(const config::Trigger& t, const Event& event,
                            const outbound::Deliverer& deliverer);
  void retry_asked();
  void render_metrics(std::string& out);

  store::Store& store_;
  Metrics& metrics_;
  const Clock& clock_;
  // Set by start(); read by the retry thread, replay and /metrics scrapes.
  std::atomic<outbound::Deliverer*> deliverer_{nullptr};

  mutable std::mutex mu_;
  std::map<std::string, config::Trigger> triggers_;  // guarded by mu_
  struct Stats {
    std::atomic<uint64_t> ok{0}, failed{0}, dead{0};
    std::atomic<int64_t> oldest_pending_ms{0};  // received_at of the next event to run; 0: none
    std::atomic<int64_t> position{-1};          // as its feed last read; -1: not run here
  };
  std::map<std::string, std::shared_ptr<Stats>> stats_;  // guarded by mu_
  std::shared_ptr<Stats> stats_of(const std::string& name);

  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread retrying_;
  std::shared_ptr<void> renderer_;
};

}  // namespace hookmcp::triggers
