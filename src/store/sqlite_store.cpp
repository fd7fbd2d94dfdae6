// The SQLite store: WAL mode, one writer thread with group commit (writer.hpp), a trailing
// full-text index (fts_index.hpp), upkeep (retention.hpp), and the reads over a pool of reader
// connections (queries.hpp). This file composes them, and opens the file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "fts_index.hpp"
#include "hookmcp/store/store.hpp"
#include "queries.hpp"
#include "retention.hpp"
#include "schema.hpp"
#include "sqlite.hpp"
#include "subscriptions.hpp"
#include "writer.hpp"

namespace hookmcp::store {

namespace {

using sqlite::Connection;

constexpr const char* kCountSql = "SELECT coalesce(sum(events), 0) FROM source_stats";

Result<std::string> read_identity(Connection& db, const std::string& path) {
  auto stmt = db.prepare("SELECT value FROM meta WHERE key = 'database_id'");
  if (!stmt) return stmt.error();
  if ((*stmt)->step() != SQLITE_ROW) {
    return make_error(ErrorCode::kIo, "cannot read the identity of database " + path);
  }
  return std::string((*stmt)->text(0));
}

Status apply_pragmas(Connection& db, bool fsync_each_commit) {
  // A new file gets 8 KB pages. An event's row (a 2 KB body and its headers) filled most of a
  // 4 KB page, so each event cost a page of WAL, of checkpoint and of writeback; an 8 KB page
  // holds three (bench/README.md: intake +15-20%; 16 KB pages made search 1.7 times slower).
  // An existing file keeps the page size it has: SQLite ignores this for it.
  if (auto s = db.exec("PRAGMA page_size = 8192"); !s) return s;
  if (auto s = db.exec("PRAGMA journal_mode = WAL"); !s) return s;
  // FULL: the WAL is fsynced at every commit, so a committed event survives power loss.
  // NORMAL: fsync at checkpoints only; a crash of the process still loses nothing.
  return db.exec(fsync_each_commit ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
}

// Refuses, before anything is written to it, a file the store could not write and a file of
// another program. SQLite opens a file this process may not write read-only, without an error:
// every commit would fail, and intake answer 503 for as long as the server runs. A file with
// tables of its own would be switched to WAL and given hookmcp's tables.
Status check_file(Connection& db, const std::string& path) {
  if (sqlite3_db_readonly(db.raw(), "main") == 1) {
    return make_error(ErrorCode::kIo, "cannot write database " + path +
                                          ": the file is read-only for this user; make it "
                                          "writable, or pass --db with another path");
  }
  auto stmt = db.prepare(
      "SELECT (SELECT user_version FROM pragma_user_version), "
      "(SELECT count(*) FROM sqlite_master), "
      "(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('events', 'meta'))");
  if (!stmt || (*stmt)->step() != SQLITE_ROW) {
    return make_error(ErrorCode::kIo, "cannot read database " + path + ": " + db.errmsg());
  }
  int64_t version = (*stmt)->int64(0);
  int64_t objects = (*stmt)->int64(1);
  int64_t ours = (*stmt)->int64(2);
  if ((version == 0 && objects == 0) || ours == 2) return {};  // new, or hookmcp's
  return make_error(ErrorCode::kInvalidArgument,
                    path +
                        " is not a hookmcp database (it holds tables of another program and "
                        "no hookmcp schema); left untouched: pass --db with another path");
}

// Creates the database's missing directories readable by their owner only (0700), and a new
// database file 0600: events hold what senders posted, secrets in payloads included. SQLite
// gives the -wal and -shm files the database file's mode. What exists is left as it is.
Status create_private_file(const std::string& file) {
  namespace fs = std::filesystem;
  fs::path path(file);
  std::error_code ec;
  std::vector<fs::path> missing;
  for (fs::path dir = path.parent_path(); !dir.empty() && !fs::exists(dir, ec);
       dir = dir.parent_path()) {
    missing.push_back(dir);
    if (dir == dir.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
      return make_error(ErrorCode::kIo,
                        "cannot create directory " + it->string() + ": " + std::strerror(errno));
    }
  }
  // O_EXCL: an existing file is never opened here. Closing a descriptor of a file this process
  // has open in SQLite would drop SQLite's locks on it.
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  // Otherwise SQLite opens it and says why it cannot, in its own words.
  if (fd >= 0) ::close(fd);
  return {};
}

// The store of the process that writes the file. Thread-safe (Store's contract).
class SqliteStore final : public Store {
 public:
  SqliteStore(const Options& options, std::unique_ptr<Connection> db, int64_t event_count,
              int64_t max_id, std::string identity)
      : identity_(std::move(identity)),
        queries_(options),
        indexer_(options.fsync_each_commit, max_id, options.metrics),
        retention_(options, event_count, indexer_),
        writer_(options, std::move(db), indexer_, retention_) {}
  ~SqliteStore() override { close(); }

  void insert(NewEvent event, InsertCallback done) override {
    writer_.insert(std::move(event), std::move(done));
  }
  Result<std::optional<Event>> get(int64_t id) override { return queries_.get(id); }
  Result<std::vector<Event>> list(const EventFilter& f) override { return queries_.list(f); }

  using Store::search;
  Result<SearchPage> search(const std::string& query, const EventFilter& f, int offset,
                            const SearchCancel& cancel) override {
    // Read your writes: what this process has committed is searchable once indexed, which the
    // writer does right after answering the commit.
    indexer_.wait_for(indexer_.committed_through(), [this] { writer_.want_index(); });
    return queries_.search(query, f, offset, cancel);
  }

  Result<std::vector<std::string>> types(const std::optional<std::string>& source,
                                         const std::string& prefix, int limit) override {
    return queries_.types(source, prefix, limit);
  }
  Result<std::vector<SourceStats>> sources() override { return queries_.sources(); }
  Result<int64_t> max_id() override { return queries_.max_id(); }
  Result<AckOutcome> ack(const std::vector<int64_t>& ids, const std::string& note) override {
    return writer_.ack(ids, note);
  }
  Result<int64_t> pruned_through() override { return queries_.pruned_through(); }
  Result<std::vector<Subscription>> subscriptions() override { return queries_.subscriptions(); }
  Status save_subscription(const Subscription& s) override { return writer_.save_subscription(s); }
  Status delete_subscription(const std::string& id) override {
    return writer_.delete_subscription(id);
  }
  void save_progress(SubscriptionProgress p) override { writer_.save_progress(std::move(p)); }
  void save_run(TriggerRun r) override { writer_.save_run(std::move(r)); }
  Result<std::vector<TriggerRun>> runs(const RunFilter& f) override { return queries_.runs(f); }
  Result<std::vector<TriggerRun>> ask_retry(const std::vector<int64_t>& ids,
                                            const std::string& trigger) override {
    return writer_.ask_retry(ids, trigger);
  }
  Result<std::map<std::string, std::string>> connection_states() override {
    return writer_.connection_states();
  }
  Result<std::string> save_connection_state(const std::string& name, const std::string& state,
                                            bool only_if_absent) override {
    return writer_.save_connection_state(name, state, only_if_absent);
  }
  bool healthy() const override { return writer_.healthy(); }
  const std::string& identity() const override { return identity_; }
  void add_commit_listener(CommitListener listener) override {
    writer_.add_commit_listener(std::move(listener));
  }
  void close() override { writer_.close(); }

 private:
  const std::string identity_;
  Queries queries_;
  FtsIndexer indexer_;
  Retention retention_;
  Writer writer_;  // last: its thread uses the members above
};

// The store of a process that only reads a file another process writes (open_sqlite_reader):
// no writer thread, nothing to close. Thread-safe.
class SqliteReader final : public Store {
 public:
  SqliteReader(const Options& options, std::string identity)
      : identity_(std::move(identity)), path_(options.path), queries_(options) {}

  void insert(NewEvent /*event*/, InsertCallback done) override {
    done(make_error(ErrorCode::kClosed, "store is closing"));
  }
  Result<std::optional<Event>> get(int64_t id) override { return queries_.get(id); }
  Result<std::vector<Event>> list(const EventFilter& f) override { return queries_.list(f); }

  using Store::search;
  Result<SearchPage> search(const std::string& query, const EventFilter& f, int offset,
                            const SearchCancel& cancel) override {
    wait_for_other_writers_index(queries_);
    return queries_.search(query, f, offset, cancel);
  }

  Result<std::vector<std::string>> types(const std::optional<std::string>& source,
                                         const std::string& prefix, int limit) override {
    return queries_.types(source, prefix, limit);
  }
  Result<std::vector<SourceStats>> sources() override { return queries_.sources(); }
  Result<int64_t> max_id() override { return queries_.max_id(); }
  Result<AckOutcome> ack(const std::vector<int64_t>& /*ids*/,
                         const std::string& /*note*/) override {
    return make_error(ErrorCode::kClosed, "store is closing");
  }
  Result<int64_t> pruned_through() override { return queries_.pruned_through(); }
  Result<std::vector<Subscription>> subscriptions() override { return queries_.subscriptions(); }
  Status save_subscription(const Subscription& /*s*/) override {
    return make_error(ErrorCode::kClosed, "this database is open for reading only");
  }
  Status delete_subscription(const std::string& /*id*/) override {
    return make_error(ErrorCode::kClosed, "this database is open for reading only");
  }
  void save_progress(SubscriptionProgress /*p*/) override {}
  void save_run(TriggerRun /*r*/) override {}
  Result<std::vector<TriggerRun>> runs(const RunFilter& f) override { return queries_.runs(f); }
  // A few rows, beside the process that writes: on a connection of its own, waiting for that
  // process's transaction when one is open (busy timeout).
  Result<std::vector<TriggerRun>> ask_retry(const std::vector<int64_t>& ids,
                                            const std::string& trigger) override {
    auto db = Connection::open(path_, /*create=*/false);
    if (!db) return db.error();
    return mark_for_retry(**db, ids, trigger);
  }
  Result<std::map<std::string, std::string>> connection_states() override {
    auto db = Connection::open(path_, /*create=*/false);
    if (!db) return db.error();
    return read_connection_states(**db);
  }
  Result<std::string> save_connection_state(const std::string& name, const std::string& state,
                                            bool only_if_absent) override {
    auto db = Connection::open(path_, /*create=*/false);
    if (!db) return db.error();
    return write_connection_state(**db, name, state, only_if_absent, SystemClock().now_ms());
  }
  bool healthy() const override { return true; }
  const std::string& identity() const override { return identity_; }
  // Nothing commits here: a listener would never be called.
  void add_commit_listener(CommitListener /*listener*/) override {}
  void close() override {}

 private:
  const std::string identity_;
  const std::string path_;
  Queries queries_;
};

}  // namespace

int sqlite_schema_version() { return sqlite::schema_version(); }

Result<std::unique_ptr<Store>> open_sqlite(const Options& options) {
  if (options.clock == nullptr) return make_error(ErrorCode::kInternal, "store needs a clock");
  if (auto s = create_private_file(options.path); !s) return s.error();
  auto db = sqlite::Connection::open(options.path, /*create=*/true, options.metrics);
  if (!db) return db.error();
  // Before the journal mode, the pragmas and the migrations: a file refused stays as it was.
  if (auto s = check_file(**db, options.path); !s) return s.error();
  if (auto s = apply_pragmas(**db, options.fsync_each_commit); !s) {
    return make_error(ErrorCode::kIo,
                      "cannot configure database " + options.path + ": " + s.error().message);
  }
  if (auto s = sqlite::migrate(**db); !s) return s.error();
  auto count = (*db)->prepare(kCountSql);
  if (!count) return count.error();
  if ((*count)->step() != SQLITE_ROW) return (*count)->error("count");
  int64_t events = (*count)->int64(0);
  count->reset();
  auto max = (*db)->prepare("SELECT coalesce(max(id), 0) FROM events");
  if (!max) return max.error();
  if ((*max)->step() != SQLITE_ROW) return (*max)->error("max id");
  int64_t max_id = (*max)->int64(0);
  max->reset();
  auto identity = read_identity(**db, options.path);
  if (!identity) return identity.error();
  return std::unique_ptr<Store>(
      new SqliteStore(options, std::move(*db), events, max_id, std::move(*identity)));
}

Result<std::unique_ptr<Store>> open_sqlite_reader(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return make_error(ErrorCode::kNotFound, "no database at " + path);
  }
  // Read-write, not SQLITE_OPEN_READONLY: a WAL reader must be able to map the -shm index.
  auto db = sqlite::Connection::open(path, /*create=*/false);
  if (!db) return db.error();
  auto version = (*db)->prepare("PRAGMA user_version");
  if (!version) return make_error(ErrorCode::kIo, "cannot read database " + path);
  if ((*version)->step() != SQLITE_ROW) {
    return make_error(ErrorCode::kIo, "cannot read database " + path + ": " + (*db)->errmsg());
  }
  int64_t found = (*version)->int64(0);
  int64_t expected = sqlite::schema_version();
  if (found == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      path + " is not a hookmcp database (it has no hookmcp schema)");
  }
  if (found < expected) {
    return make_error(ErrorCode::kInvalidArgument,
                      path + " has schema version " + std::to_string(found) + ", older than " +
                          std::to_string(expected) +
                          ": start this hookmcp's `serve` on it once to migrate it");
  }
  if (found > expected) {
    return make_error(ErrorCode::kInvalidArgument,
                      path + " has schema version " + std::to_string(found) +
                          ", newer than this hookmcp understands (" + std::to_string(expected) +
                          "); upgrade hookmcp");
  }
  auto identity = read_identity(**db, path);
  if (!identity) return identity.error();
  Options options;
  options.path = path;
  return std::unique_ptr<Store>(new SqliteReader(options, std::move(*identity)));
}

}  // namespace hookmcp::store
