// Private to the store: the one thread that writes. Inserts queue under a byte budget; the
// writer takes up to Options::max_batch of them and commits them in one transaction with one
// fsync (group commit, as LevelDB's DBImpl::Write), adds them to the per-source counts inside it,
// tells the commit listeners, then answers each insert. Between batches it runs acks, indexes
// for full-text search, and does its upkeep (Retention).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fts_index.hpp"
#include "hookmcp/store/store.hpp"
#include "retention.hpp"
#include "sqlite.hpp"

namespace hookmcp::store {

// Thread-safe: every public member may be called from any thread. The connection, the indexer's
// writer side and the retention belong to the writer thread.
class Writer {
 public:
  // Starts the writer thread on `db`.
  Writer(const Options& options, std::unique_ptr<sqlite::Connection> db, FtsIndexer& indexer,
         Retention& retention);
  ~Writer() { close(); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Store::insert, Store::ack, Store::healthy, Store::add_commit_listener and Store::close.
  void insert(NewEvent event, InsertCallback done);
  Result<AckOutcome> ack(const std::vector<int64_t>& ids, const std::string& note);
  // Store::save_subscription, delete_subscription and save_progress.
  Status save_subscription(const Subscription& subscription);
  Status delete_subscription(const std::string& id);
  void save_progress(SubscriptionProgress progress);
  void save_run(TriggerRun run);
  Result<std::vector<TriggerRun>> ask_retry(const std::vector<int64_t>& ids,
                                            const std::string& trigger);
  Result<std::map<std::string, std::string>> connection_states();
  Result<std::string> save_connection_state(const std::string& name, const std::string& state,
                                            bool only_if_absent);
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  void add_commit_listener(CommitListener listener);
  void close();

  // A search waits for the index: index before the next batch.
  void want_index();

 private:
  struct Pending {
    NewEvent event;
    InsertCallback done;
  };
  using Job = std::function<void(sqlite::Connection&)>;

  static uint64_t cost(const NewEvent& e) {
    return e.body.size() + e.headers_json.size() + e.source.size() + e.delivery_id.size() + 256;
  }
  bool run_on_writer(Job job);
  // Runs `f` on the writer thread and waits for its Status; kClosed once closing.
  Status run_and_wait(std::function<Status(sqlite::Connection&)> f);
  void save_queued_progress();
  void run();
  void commit(std::vector<Pending>& batch);
  Status write_batch(const std::vector<Pending>& batch, std::vector<InsertOutcome>& outcomes,
                     std::vector<Event>& added);
  Result<AckOutcome> ack_on_writer(sqlite::Connection& db, const std::vector<int64_t>& ids,
                                   const std::string& note);

  const Options options_;
  std::unique_ptr<sqlite::Connection> db_;  // writer thread only
  FtsIndexer& indexer_;
  Retention& retention_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  std::vector<Job> jobs_;      // guarded by mu_
  // The latest unsaved progress of each subscription, by id.
  std::map<std::string, SubscriptionProgress> progress_;  // guarded by mu_
  // The latest unsaved attempt of each trigger run, by trigger and event.
  std::map<std::pair<std::string, int64_t>, TriggerRun> runs_;  // guarded by mu_
  uint64_t pending_bytes_ = 0;                                  // guarded by mu_
  bool closing_ = false;                                        // guarded by mu_
  bool index_wanted_ = false;  // guarded by mu_: a search waits for the index

  std::mutex listeners_mu_;
  std::vector<CommitListener> listeners_;  // guarded by listeners_mu_

  std::atomic<bool> healthy_{true};
  std::mutex join_mu_;
  std::thread thread_;  // last: it uses the members above
};

}  // namespace hookmcp::store
