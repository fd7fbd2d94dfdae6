// Private to the store: the full-text index, which trails the commits. The writer thread indexes
// what it committed shortly after answering the commit; a search first waits until what this
// process committed is indexed, so that it reads its own writes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"
#include "queries.hpp"
#include "sqlite.hpp"
#include "upkeep.hpp"

namespace hookmcp::store {

// committed(), due(), deadline(), after_round() and catch_up() on the writer thread only;
// committed_through() and wait_for() from any thread.
class FtsIndexer {
 public:
  // `committed_through`: the highest id in the file at start, which the index must reach.
  FtsIndexer(bool fsync_each_commit, int64_t committed_through, Metrics* metrics)
      : fsync_each_commit_(fsync_each_commit),
        committed_through_(committed_through),
        report_(StoreTask::kIndex, metrics) {}

  // A commit added events up to `through`.
  void committed(int64_t through);
  // Whether the writer indexes now, before its next batch.
  bool due();
  // When the writer, idle, must wake to index what trails.
  std::chrono::steady_clock::time_point deadline();
  // After a round that committed `batch` events: indexes, when due, at least as many.
  void after_round(sqlite::Connection& db, size_t batch);
  // Indexes a larger backlog: what a crash between a commit and its indexing left, or what
  // trails after a failure. The writer's upkeep calls it every second.
  void catch_up(sqlite::Connection& db);

  // The highest id this process committed.
  int64_t committed_through() const { return committed_through_.load(); }
  // Blocks until the index holds `id`, two seconds at most; `wake` tells the writer that a
  // search waits, so that it indexes before its next batch.
  void wait_for(int64_t id, const std::function<void()>& wake);

 private:
  // Indexes up to `budget` events, a transaction per few hundred.
  void step(sqlite::Connection& db, int64_t budget);
  // One transaction of `step`: false once nothing is left to index.
  Result<bool> index_some(sqlite::Connection& db, int64_t count, bool& lowered);
  bool lags();
  std::chrono::steady_clock::time_point deadline_locked() const;
  void publish_indexed(int64_t through);

  const bool fsync_each_commit_;
  std::atomic<int64_t> committed_through_;
  UpkeepReport report_;                                   // writer thread only
  std::chrono::steady_clock::time_point due_at_;          // writer thread only
  std::chrono::steady_clock::time_point last_commit_at_;  // writer thread only

  std::mutex mu_;
  std::condition_variable cv_;
  int64_t indexed_through_ = 0;  // guarded by mu_
  int searches_waiting_ = 0;     // guarded by mu_
};

// A reader-only store indexes nothing itself: the process writing the file does, shortly after
// each commit. Waits, two seconds at most, until what was committed when the search began is
// indexed, so that `events search` finds an event the moment after its sender had a 2xx.
void wait_for_other_writers_index(Queries& queries);

}  // namespace hookmcp::store
