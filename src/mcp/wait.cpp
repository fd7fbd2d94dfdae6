// wait_for_event: answered by the bus, not by polling. A Waiter registers with its session,
// which hands it each commit's events; candidates are checked against `match` on a worker
// thread (that needs the payload) and the first to hold answers the call.
#include <algorithm>
#include <cmath>

#include "internal.hpp"
#include "tools_common.hpp"

namespace hookmcp::mcp {

class Waiter : public std::enable_shared_from_this<Waiter> {
 public:
  Waiter(ToolCall call, store::EventFilter filter, std::vector<std::pair<std::string, json>> match,
         std::optional<int64_t> after_id, double timeout_s, ToolDone done)
      : session_(call.session),
        call_(call.call),
        progress_token_(std::move(call.progress_token)),
        filter_(std::move(filter)),
        match_(std::move(match)),
        after_id_(after_id),
        timeout_s_(timeout_s),
        started_(Timers::Clock::now()),
        done_cb_(std::move(done)) {}

  void begin(const std::shared_ptr<SessionImpl>& session) {
    auto self = shared_from_this();
    if (!session->add_waiter(self)) {
      done_cb_(make_error(ErrorCode::kInvalidArgument,
                          "too many wait_for_event calls are in progress in this session (at "
                          "most " +
                              std::to_string(session->state().options.max_waits_per_session) +
                              "); let one finish or cancel it first"));
      return;
    }
    std::weak_ptr<Waiter> weak = self;
    call_->on_cancel([weak] {
      if (auto w = weak.lock()) w->finish(std::nullopt);
    });
    if (progress_token_) schedule_progress(session->state());
    session->state().pool.post([self] {
      self->guarded([&] {
        self->scan_backlog();
        self->drain();
      });
    });
  }

  // Runs a step of the wait; one that throws (a bug, or memory exhausted) ends the wait with an
  // error rather than leaving the call unanswered.
  template <typename Step>
  void guarded(Step&& step) {
    try {
      step();
    } catch (const std::exception& e) {
      finish(Result<ToolOutput>(
          make_error(ErrorCode::kInternal, std::string("internal error: ") + e.what())));
    }
  }

  // On the publishing thread: queue the ids that may match, and make sure a drain will run.
  // After a gap, the drain first looks up in the store what the fan-out dropped.
  void offer(const std::vector<Event>& events, bool after_gap) {
    std::shared_ptr<SessionImpl> session;
    {
      std::lock_guard lock(mu_);
      if (done_) return;
      for (const auto& e : events) {
        if (could_match(e)) pending_.push_back(e.id);
      }
      rescan_ |= after_gap;
      if ((pending_.empty() && !rescan_) || draining_) return;
      draining_ = true;
      session = session_.lock();
    }
    if (!session) return;
    auto self = shared_from_this();
    session->state().pool.post([self] { self->guarded([&] { self->drain(); }); });
  }

  // Ends the wait. With a result, answers the call; without one (cancelled, session closed)
  // answers nothing. False when it had already ended.
  bool finish(std::optional<Result<ToolOutput>> result) {
    uint64_t timeout_timer;
    uint64_t progress_timer;
    {
      std::lock_guard lock(mu_);
      if (done_) return false;
      done_ = true;
      timeout_timer = timeout_timer_;
      progress_timer = progress_timer_;
    }
    if (auto session = session_.lock()) {
      session->state().timers.cancel(timeout_timer);
      session->state().timers.cancel(progress_timer);
      session->remove_waiter(this);
    }
    if (result) done_cb_(std::move(*result));
    return true;
  }

 private:
  // What the summary alone can rule out. A new event is never acknowledged yet.
  bool could_match(const Event& e) const {
    if (filter_.source && e.source != *filter_.source) return false;
    if (filter_.type && e.type != *filter_.type) return false;
    if (filter_.action && e.action != *filter_.action) return false;
    if (filter_.since_ms && e.received_at_ms < *filter_.since_ms) return false;
    if (filter_.until_ms && e.received_at_ms >= *filter_.until_ms) return false;
    return filter_.status != store::AckFilter::kAcked || e.acked_at_ms.has_value();
  }

  // Worker thread: the stored events after after_id (or, without it, the starting point).
  void scan_backlog() {
    auto session = session_.lock();
    if (!session) return;
    auto& state = session->state();
    int64_t through = 0;
    if (after_id_) {
      through = *after_id_;
      if (!scan_stored(state, through)) return;
    } else {
      auto max = state.store.max_id();
      if (!max) {
        finish(Result<ToolOutput>(max.error()));
        return;
      }
      through = *max;
    }
    {
      std::lock_guard lock(mu_);
      checked_through_ = std::max(checked_through_, through);
    }
    // The timeout counts from the call, but starts only now, so that timeout_s 0 still looks
    // at the stored events once.
    auto deadline = started_ + std::chrono::duration_cast<Timers::Clock::duration>(
                                   std::chrono::duration<double>(timeout_s_));
    auto delay = std::max(Timers::Clock::duration::zero(), deadline - Timers::Clock::now());
    std::weak_ptr<Waiter> weak = shared_from_this();
    uint64_t id = state.timers.schedule(delay, [weak] {
      if (auto w = weak.lock()) w->time_out();
    });
    std::lock_guard lock(mu_);
    timeout_timer_ = id;
  }

  // Worker thread: checks the stored events after `through` that the filter selects, oldest
  // first, advancing `through`. False when the wait has ended.
  bool scan_stored(Server::State& state, int64_t& through) {
    for (;;) {
      store::EventFilter page = filter_;
      page.after_id = through;
      page.oldest_first = true;
      page.limit = 200;
      auto events = state.store.list(page);
      if (!events) {
        finish(Result<ToolOutput>(events.error()));
        return false;
      }
      if (events->empty()) return true;
      for (const auto& e : *events) {
        if (ended()) return false;
        if (!check(state, e.id)) return false;
        through = e.id;
      }
    }
  }

  // Worker thread: checks queued ids in order until none is left or one matches; after a gap
  // in the fan-out, first every stored event it has not checked.
  void drain() {
    auto session = session_.lock();
    for (;;) {
      std::vector<int64_t> ids;
      int64_t through;
      bool rescan;
      {
        std::lock_guard lock(mu_);
        if (done_ || !session || (pending_.empty() && !rescan_)) {
          draining_ = false;
          return;
        }
        ids.swap(pending_);
        through = checked_through_;
        rescan = rescan_;
        rescan_ = false;
      }
      if (rescan) {
        if (!scan_stored(session->state(), through)) return;
        std::lock_guard lock(mu_);
        checked_through_ = std::max(checked_through_, through);
      }
      std::sort(ids.begin(), ids.end());
      for (int64_t id : ids) {
        if (id <= through) continue;
        if (!check(session->state(), id)) return;
        through = id;
        std::lock_guard lock(mu_);
        checked_through_ = std::max(checked_through_, id);
      }
    }
  }

  bool ended() {
    std::lock_guard lock(mu_);
    return done_;
  }

  // Loads event `id` and answers the call if it matches. False when the wait has ended.
  bool check(Server::State& state, int64_t id) {
    auto loaded = state.store.get(id);
    if (!loaded) {
      finish(Result<ToolOutput>(loaded.error()));
      return false;
    }
    if (!loaded->has_value()) return true;  // pruned meanwhile
    const Event& e = **loaded;
    if (!could_match(e)) return true;
    if (!match_.empty()) {
      auto doc = parse_json(e.body);
      if (!doc.ok()) return true;
      for (const auto& [pointer, expected] : match_) {
        const json* at = resolve_json_pointer(doc.value, pointer);
        if (at == nullptr || *at != expected) return true;
      }
    }
    auto shown = view::event_json(e, "", state.options.default_max_bytes);
    if (!shown) return true;
    std::string text = "A matching event arrived.\n" + render_event(state.nonce, e, *shown);
    finish(Result<ToolOutput>(ToolOutput{{{"event", std::move(*shown)}}, std::move(text)}));
    return false;
  }

  void time_out() {
    int64_t through;
    {
      std::lock_guard lock(mu_);
      through = checked_through_;
    }
    std::string text = "No matching event arrived within " + format_seconds(timeout_s_) +
                       " s. To keep waiting without missing anything, call wait_for_event "
                       "again with the same arguments and after_id " +
                       std::to_string(through) + ".";
    finish(Result<ToolOutput>(ToolOutput{{{"timed_out", true}}, std::move(text)}));
  }

  void schedule_progress(Server::State& state) {
    // Often enough to keep a client's request timer alive, rarely enough not to chatter.
    double interval_s = std::clamp(timeout_s_ / 10, 1.0, 10.0);
    std::weak_ptr<Waiter> weak = shared_from_this();
    uint64_t id = state.timers.schedule(std::chrono::duration_cast<Timers::Clock::duration>(
                                            std::chrono::duration<double>(interval_s)),
                                        [weak] {
                                          if (auto w = weak.lock()) w->progress();
                                        });
    std::lock_guard lock(mu_);
    if (!done_) progress_timer_ = id;
  }

  void progress() {
    auto session = session_.lock();
    if (!session || ended()) return;
    double elapsed = std::chrono::duration<double>(Timers::Clock::now() - started_).count();
    elapsed = std::min(std::floor(elapsed * 10) / 10, timeout_s_);
    session->notify("notifications/progress",
                    {{"progressToken", *progress_token_},
                     {"progress", elapsed},
                     {"total", timeout_s_},
                     {"message", "waiting for a matching event: " + format_seconds(elapsed) +
                                     " of " + format_seconds(timeout_s_) + " s"}},
                    &*call_->id());
    schedule_progress(session->state());
  }

  static std::string format_seconds(double s) {
    std::string out = std::to_string(std::round(s * 10) / 10);
    out.erase(out.find_last_not_of('0') + 1);
    if (!out.empty() && out.back() == '.') out.pop_back();
    return out;
  }

  const std::weak_ptr<SessionImpl> session_;
  const std::shared_ptr<rpc::CallContext> call_;
  const std::optional<json> progress_token_;
  const store::EventFilter filter_;
  const std::vector<std::pair<std::string, json>> match_;
  const std::optional<int64_t> after_id_;
  const double timeout_s_;
  const Timers::Clock::time_point started_;
  const ToolDone done_cb_;

  std::mutex mu_;
  bool done_ = false;             // guarded by mu_
  bool draining_ = true;          // a drain is queued or running; guarded by mu_
  std::vector<int64_t> pending_;  // ids offered and not yet checked; guarded by mu_
  bool rescan_ = false;           // the fan-out dropped events; guarded by mu_
  int64_t checked_through_ = 0;   // every id up to here has been ruled out; guarded by mu_
  uint64_t timeout_timer_ = 0;    // guarded by mu_
  uint64_t progress_timer_ = 0;   // guarded by mu_
};

void offer_events(const std::shared_ptr<Waiter>& waiter, const std::vector<Event>& events,
                  bool after_gap) {
  waiter->offer(events, after_gap);
}

void abandon(const std::shared_ptr<Waiter>& waiter) { (void)waiter->finish(std::nullopt); }

void wait_for_event(ToolCall call, ToolDone done) {
  auto filter = parse_filter(call.args);
  if (!filter) {
    done(filter.error());
    return;
  }
  std::vector<std::pair<std::string, json>> match;
  if (auto m = call.args.find("match"); m != call.args.end()) {
    for (const auto& [pointer, expected] : m->items()) {
      if (!valid_json_pointer(pointer) || pointer.empty()) {
        done(make_error(ErrorCode::kInvalidArgument,
                        "match key \"" + pointer +
                            "\" is not a JSON Pointer into the payload; write keys like "
                            "\"/action\" or \"/workflow_run/conclusion\""));
        return;
      }
      match.emplace_back(pointer, expected);
    }
  }
  std::optional<int64_t> after_id;
  if (auto a = call.args.find("after_id"); a != call.args.end()) after_id = a->get<int64_t>();
  double timeout_s = call.args.value("timeout_s", 30.0);
  auto session = call.session;
  auto waiter = std::make_shared<Waiter>(std::move(call), std::move(*filter), std::move(match),
                                         after_id, timeout_s, std::move(done));
  waiter->begin(session);
}

}  // namespace hookmcp::mcp
