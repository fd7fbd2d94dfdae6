// Private to the store: the writer's upkeep between batches. Retention deletes the oldest events
// past the age or count limit a step at a time, so that pruning never holds the writer for long;
// while the last commit failed, a probe commit tells when the database works again; and the
// full-text index catches up with what trails.
#pragma once

#include <atomic>
#include <cstdint>

#include "fts_index.hpp"
#include "hookmcp/store/store.hpp"
#include "sqlite.hpp"
#include "upkeep.hpp"

namespace hookmcp::store {

// Writer thread only.
class Retention {
 public:
  // `event_count`: the events in the file at start.
  Retention(const Options& options, int64_t event_count, FtsIndexer& indexer)
      : options_(options),
        event_count_(event_count),
        indexer_(indexer),
        probe_report_(StoreTask::kProbe, options.metrics),
        prune_report_(StoreTask::kRetention, options.metrics) {}

  // A commit added `n` events.
  void added(int64_t n) { event_count_ += n; }

  // A probe commit while `healthy` is false (setting it when the probe commits), the index's
  // catch-up, one retention step. Returns true when more pruning is waiting.
  bool maintain(sqlite::Connection& db, std::atomic<bool>& healthy);

 private:
  Status probe(sqlite::Connection& db);
  // Deletes at most a step of the oldest events past a limit; true when more are waiting.
  Result<bool> prune_step(sqlite::Connection& db);

  const Options options_;
  int64_t event_count_;
  FtsIndexer& indexer_;
  UpkeepReport probe_report_;
  UpkeepReport prune_report_;
};

}  // namespace hookmcp::store
