// The writer thread: group commit, the per-source counts, acks.
#include "writer.hpp"

#include <algorithm>
#include <future>

#include <spdlog/spdlog.h>

#include "subscriptions.hpp"

namespace hookmcp::store {

namespace {

using sqlite::Connection;
using sqlite::ScopedReset;
using sqlite::Statement;
using sqlite::Transaction;

constexpr const char* kInsertSql =
    "INSERT INTO events(source, provider, type, action, delivery_id, received_at, verified, "
    "headers, content_type, body, size) VALUES(?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kFindDeliverySql =
    "SELECT id FROM events WHERE source = ? AND delivery_id = ?";
// The writer adds a batch's new events to the per-source counts once per source and type, not
// once per event as a trigger would (schema step 6); deletes and acks keep their triggers.
constexpr const char* kAddSourceStatsSql =
    "INSERT INTO source_stats VALUES (?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET "
    "provider = excluded.provider, events = events + excluded.events, "
    "pending = pending + excluded.pending, "
    "last_received_at = max(last_received_at, excluded.last_received_at)";
constexpr const char* kAddSourceTypesSql =
    "INSERT INTO source_types VALUES (?, ?, ?) ON CONFLICT(source, type) DO UPDATE SET "
    "events = events + excluded.events";

// Counts the new events of a batch into source_stats and source_types, inside its transaction.
Status add_to_counts(Connection& db, const std::vector<Event>& added) {
  struct Count {
    const Event* last;  // of its source, or of its source and type
    int64_t events = 0;
    int64_t last_received_at = 0;
  };
  std::vector<Count> sources;
  std::vector<Count> types;
  auto count = [](std::vector<Count>& counts, const Event& e, bool by_type) {
    auto same = [&](const Count& c) {
      return c.last->source == e.source && (!by_type || c.last->type == e.type);
    };
    auto it = std::find_if(counts.begin(), counts.end(), same);
    if (it == counts.end()) it = counts.insert(counts.end(), Count{&e});
    it->last = &e;
    it->events += 1;
    it->last_received_at = std::max(it->last_received_at, e.received_at_ms);
  };
  for (const Event& e : added) {
    count(sources, e, false);
    count(types, e, true);
  }
  auto add_source = db.cached(kAddSourceStatsSql);
  if (!add_source) return add_source.error();
  for (const Count& c : sources) {
    Statement& s = **add_source;
    ScopedReset reset(s);
    s.bind(1, std::string_view(c.last->source));
    s.bind(2, std::string_view(c.last->provider));
    s.bind(3, c.events);
    s.bind(4, c.events);  // pending: a new event is not acknowledged
    s.bind(5, c.last_received_at);
    if (s.step() != SQLITE_DONE) return s.error("source counts");
  }
  auto add_type = db.cached(kAddSourceTypesSql);
  if (!add_type) return add_type.error();
  for (const Count& c : types) {
    Statement& s = **add_type;
    ScopedReset reset(s);
    s.bind(1, std::string_view(c.last->source));
    s.bind(2, std::string_view(c.last->type));
    s.bind(3, c.events);
    if (s.step() != SQLITE_DONE) return s.error("type counts");
  }
  return {};
}

}  // namespace

Writer::Writer(const Options& options, std::unique_ptr<Connection> db, FtsIndexer& indexer,
               Retention& retention)
    : options_(options), db_(std::move(db)), indexer_(indexer), retention_(retention) {
  thread_ = std::thread([this] { run(); });
}

void Writer::insert(NewEvent event, InsertCallback done) {
  uint64_t bytes = cost(event);
  Error refused;
  {
    std::lock_guard lock(mu_);
    if (!closing_ && pending_bytes_ + bytes <= options_.max_pending_bytes) {
      pending_bytes_ += bytes;
      queue_.push_back({std::move(event), std::move(done)});
      cv_.notify_one();
      return;
    }
    refused = closing_
                  ? make_error(ErrorCode::kClosed, "store is closing")
                  : make_error(ErrorCode::kOverloaded, "too many bytes waiting to be committed");
  }
  // Outside the lock: the callback runs on the caller's thread.
  done(std::move(refused));
}

Result<AckOutcome> Writer::ack(const std::vector<int64_t>& ids, const std::string& note) {
  std::promise<Result<AckOutcome>> promise;
  auto future = promise.get_future();
  bool queued =
      run_on_writer([&](Connection& db) { promise.set_value(ack_on_writer(db, ids, note)); });
  if (!queued) return make_error(ErrorCode::kClosed, "store is closing");
  return future.get();
}

void Writer::add_commit_listener(CommitListener listener) {
  std::lock_guard lock(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

void Writer::close() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_one();
  // join_mu_ makes concurrent close() calls wait for the one that joins.
  std::lock_guard join_lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void Writer::want_index() {
  {
    std::lock_guard lock(mu_);
    index_wanted_ = true;
  }
  cv_.notify_one();
}

Status Writer::run_and_wait(std::function<Status(Connection&)> f) {
  std::promise<Status> promise;
  auto future = promise.get_future();
  bool queued = run_on_writer([&](Connection& db) { promise.set_value(f(db)); });
  if (!queued) return make_error(ErrorCode::kClosed, "store is closing");
  return future.get();
}

Status Writer::save_subscription(const Subscription& subscription) {
  return run_and_wait([&](Connection& db) {
    // Queued progress of an earlier life of this subscription must not overwrite it.
    {
      std::lock_guard lock(mu_);
      progress_.erase(subscription.id);
    }
    return write_subscription(db, subscription);
  });
}

Status Writer::delete_subscription(const std::string& id) {
  return run_and_wait([&](Connection& db) {
    {
      std::lock_guard lock(mu_);
      progress_.erase(id);
    }
    return erase_subscription(db, id);
  });
}

void Writer::save_progress(SubscriptionProgress progress) {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    std::string id = progress.id;
    progress_.insert_or_assign(std::move(id), std::move(progress));
  }
  cv_.notify_one();
}

void Writer::save_run(TriggerRun run) {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    auto key = std::make_pair(run.trigger, run.event_id);
    runs_.insert_or_assign(std::move(key), std::move(run));
  }
  cv_.notify_one();
}

Result<std::vector<TriggerRun>> Writer::ask_retry(const std::vector<int64_t>& ids,
                                                  const std::string& trigger) {
  std::vector<TriggerRun> marked;
  auto s = run_and_wait([&](Connection& db) -> Status {
    save_queued_progress();  // the runs' latest states first
    auto r = mark_for_retry(db, ids, trigger);
    if (!r) return r.error();
    marked = std::move(*r);
    return {};
  });
  if (!s) return s.error();
  return marked;
}

Result<std::map<std::string, std::string>> Writer::connection_states() {
  std::map<std::string, std::string> out;
  auto s = run_and_wait([&](Connection& db) -> Status {
    auto r = read_connection_states(db);
    if (!r) return r.error();
    out = std::move(*r);
    return {};
  });
  if (!s) return s.error();
  return out;
}

Result<std::string> Writer::save_connection_state(const std::string& name, const std::string& state,
                                                  bool only_if_absent) {
  std::string stored;
  auto s = run_and_wait([&](Connection& db) -> Status {
    auto r = write_connection_state(db, name, state, only_if_absent, SystemClock().now_ms());
    if (!r) return r.error();
    stored = std::move(*r);
    return {};
  });
  if (!s) return s.error();
  return stored;
}

void Writer::save_queued_progress() {
  std::vector<SubscriptionProgress> saving;
  std::vector<TriggerRun> runs;
  {
    std::lock_guard lock(mu_);
    if (progress_.empty() && runs_.empty()) return;
    for (auto& [id, p] : progress_) saving.push_back(std::move(p));
    progress_.clear();
    for (auto& [key, r] : runs_) runs.push_back(std::move(r));
    runs_.clear();
  }
  // Without an fsync of its own: the next commit's fsync of the WAL, which holds these pages
  // too, makes them durable, and a process that dies keeps them in the OS's cache. Only a power
  // loss before then sends those deliveries again, at least once as promised. With a trigger
  // firing on every event, an fsync here would be a second one per commit.
  const bool full = options_.fsync_each_commit;
  if (full) (void)db_->exec("PRAGMA synchronous = NORMAL");
  auto s = write_progress(*db_, runs, saving);
  if (full) (void)db_->exec("PRAGMA synchronous = FULL");
  if (!s) {
    // Progress is not lost while the process lives: the deliverer holds it and saves it again
    // with its next progress. A crash now sends those deliveries again, with the same ids; the
    // runs' records of this round are lost.
    spdlog::warn("could not save delivery progress: {}", s.error().message);
  }
}

bool Writer::run_on_writer(Job job) {
  {
    std::lock_guard lock(mu_);
    if (closing_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void Writer::run() {
  std::vector<Pending> batch;
  std::vector<Job> jobs;
  auto next_maintenance = std::chrono::steady_clock::now();
  for (;;) {
    auto wake_at = std::min(next_maintenance, indexer_.deadline());
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, wake_at, [&] {
        return closing_ || !queue_.empty() || !jobs_.empty() || index_wanted_ ||
               !progress_.empty() || !runs_.empty();
      });
      index_wanted_ = false;
      size_t take = std::min(queue_.size(), options_.max_batch);
      batch.clear();
      for (size_t i = 0; i < take; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      jobs.swap(jobs_);
      if (closing_ && batch.empty() && jobs.empty() && progress_.empty() && runs_.empty()) break;
    }
    save_queued_progress();
    for (auto& job : jobs) job(*db_);
    jobs.clear();
    if (!batch.empty()) commit(batch);
    indexer_.after_round(*db_, batch.size());
    if (std::chrono::steady_clock::now() >= next_maintenance) {
      bool more = retention_.maintain(*db_, healthy_);
      next_maintenance = std::chrono::steady_clock::now() +
                         (more ? std::chrono::milliseconds(10) : std::chrono::seconds(1));
    }
  }
}

// One transaction for the whole batch: one fsync, however many events.
void Writer::commit(std::vector<Pending>& batch) {
  std::vector<InsertOutcome> outcomes(batch.size());
  std::vector<Event> added;
  auto started = std::chrono::steady_clock::now();
  Status status = write_batch(batch, outcomes, added);
  // Nothing of a batch whose transaction failed is stored: no listener may hear of it.
  if (!status.ok()) added.clear();
  if (status.ok() && spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug(
        "committed {} of {} events in {:.2f} ms", added.size(), batch.size(),
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count());
  }
  uint64_t bytes = 0;
  for (const auto& p : batch) bytes += cost(p.event);
  {
    std::lock_guard lock(mu_);
    pending_bytes_ -= bytes;
  }
  healthy_.store(status.ok(), std::memory_order_relaxed);
  if (options_.metrics && status.ok()) {
    options_.metrics->commit_batch_size.observe(static_cast<double>(batch.size()));
  }
  if (status.ok()) retention_.added(static_cast<int64_t>(added.size()));
  if (!added.empty()) indexer_.committed(added.back().id);
  // Listeners first: by the time a sender has its 2xx, the fan-out has the event.
  if (!added.empty()) {
    std::lock_guard lock(listeners_mu_);
    for (auto& listener : listeners_) listener(added);
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (status.ok()) {
      batch[i].done(outcomes[i]);
    } else {
      batch[i].done(make_error(ErrorCode::kUnavailable, status.error().message));
    }
  }
}

Status Writer::write_batch(const std::vector<Pending>& batch, std::vector<InsertOutcome>& outcomes,
                           std::vector<Event>& added) {
  Connection& db = *db_;
  auto insert = db.cached(kInsertSql);
  if (!insert) return insert.error();
  auto find = db.cached(kFindDeliverySql);
  if (!find) return find.error();
  Transaction tx(db);
  if (auto s = tx.begin(); !s) return s;
  for (size_t i = 0; i < batch.size(); ++i) {
    const NewEvent& e = batch[i].event;
    // Look first, then insert: an upsert would burn an AUTOINCREMENT id on every duplicate.
    // The writer holds the only write transaction, so nothing can come between the two, and
    // a duplicate from earlier in this same batch is already visible here.
    Statement& f = **find;
    ScopedReset reset_find(f);
    f.bind(1, std::string_view(e.source));
    f.bind(2, std::string_view(e.delivery_id));
    int found = f.step();
    if (found == SQLITE_ROW) {
      outcomes[i] = {f.int64(0), true};
      continue;
    }
    if (found != SQLITE_DONE) return f.error("find duplicate");

    Statement& s = **insert;
    ScopedReset reset(s);
    s.bind(1, std::string_view(e.source));
    s.bind(2, std::string_view(e.provider));
    s.bind(3, std::string_view(e.type));
    s.bind(4, std::string_view(e.action));
    s.bind(5, std::string_view(e.delivery_id));
    s.bind(6, e.received_at_ms);
    s.bind(7, int64_t{e.verified ? 1 : 0});
    s.bind(8, std::string_view(e.headers_json));
    s.bind(9, std::string_view(e.content_type));
    s.bind_blob(10, e.body);
    s.bind(11, static_cast<int64_t>(e.body.size()));
    if (s.step() != SQLITE_DONE) return s.error("insert");
    outcomes[i] = {db.last_insert_rowid(), false};
    Event summary;
    summary.id = outcomes[i].id;
    summary.source = e.source;
    summary.provider = e.provider;
    summary.type = e.type;
    summary.action = e.action;
    summary.delivery_id = e.delivery_id;
    summary.received_at_ms = e.received_at_ms;
    summary.verified = e.verified;
    summary.content_type = e.content_type;
    summary.size = static_cast<int64_t>(e.body.size());
    added.push_back(std::move(summary));
  }
  if (auto s = add_to_counts(db, added); !s) return s;
  return tx.commit();
}

Result<AckOutcome> Writer::ack_on_writer(Connection& db, const std::vector<int64_t>& ids,
                                         const std::string& note) {
  auto stmt = db.cached("UPDATE events SET acked_at = ?, ack_note = ? WHERE id = ?");
  if (!stmt) return stmt.error();
  Transaction tx(db);
  if (auto s = tx.begin(); !s) return s.error();
  AckOutcome out;
  int64_t now = options_.clock->now_ms();
  for (int64_t id : ids) {
    Statement& s = **stmt;
    ScopedReset reset(s);
    s.bind(1, now);
    s.bind(2, std::string_view(note));
    s.bind(3, id);
    if (s.step() != SQLITE_DONE) return s.error("ack");
    (db.changes() > 0 ? out.acked : out.not_found).push_back(id);
  }
  if (auto s = tx.commit(); !s) return s.error();
  return out;
}

}  // namespace hookmcp::store
