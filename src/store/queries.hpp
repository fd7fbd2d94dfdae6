// Private to the store: the readers' side. A pool of read-only connections, and the SQL of every
// read, shared by the store that writes (SqliteStore) and the one that only reads
// (SqliteReader). Reads never wait for the writer: WAL gives each its own snapshot.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hookmcp/store/store.hpp"
#include "sqlite.hpp"

namespace hookmcp::store {

// Thread-safe. Connections are opened on first need, query-only, with the search functions
// registered, and kept for the next read.
class ReaderPool {
 public:
  ReaderPool(std::string path, Metrics* metrics) : path_(std::move(path)), metrics_(metrics) {}

  // Runs `f` on a connection of the pool, which no other thread uses meanwhile.
  template <typename F>
  auto with_reader(F&& f) -> decltype(f(std::declval<sqlite::Connection&>())) {
    auto db = take();
    if (!db) return db.error();
    auto result = f(**db);
    give_back(std::move(*db));
    return result;
  }

 private:
  Result<std::unique_ptr<sqlite::Connection>> take();
  void give_back(std::unique_ptr<sqlite::Connection> db);

  const std::string path_;
  Metrics* const metrics_;
  std::mutex mu_;
  std::vector<std::unique_ptr<sqlite::Connection>> free_;  // guarded by mu_
};

// The reads of the Store interface, on the pool. Thread-safe, blocking.
class Queries {
 public:
  // Uses options.path, search_block, search_deadline and metrics.
  explicit Queries(const Options& options);

  Result<std::optional<Event>> get(int64_t id);
  Result<std::vector<Event>> list(const EventFilter& filter);
  // Store::search over what is indexed now: the caller waits for the index first.
  Result<SearchPage> search(const std::string& query, const EventFilter& filter, int offset,
                            const SearchCancel& cancel);
  Result<std::vector<std::string>> types(const std::optional<std::string>& source,
                                         const std::string& prefix, int limit);
  Result<std::vector<SourceStats>> sources();
  Result<int64_t> max_id();
  Result<int64_t> pruned_through();
  Result<std::vector<Subscription>> subscriptions();
  Result<std::vector<TriggerRun>> runs(const RunFilter& filter);
  // How far the full-text index has come (meta.fts_through), and how far the events go.
  Result<std::pair<int64_t, int64_t>> index_state();

 private:
  const int search_block_;
  const std::chrono::milliseconds search_deadline_;
  Metrics* const metrics_;
  ReaderPool readers_;
};

}  // namespace hookmcp::store
