// The event store: the only door to the database.
//
// One writer thread commits queued inserts in groups (one transaction, one fsync, many events);
// readers query on their own connections. Nothing outside this module knows which database sits
// behind it, so that a PostgreSQL store can take its place.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/event.hpp"
#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"

namespace hookmcp::store {

struct InsertOutcome {
  int64_t id = 0;
  bool duplicate = false;  // the same source + delivery id was stored before; `id` is that event
};
using InsertCallback = std::function<void(Result<InsertOutcome>)>;

enum class AckFilter { kAll, kPending, kAcked };

struct EventFilter {
  std::optional<std::string> source;
  std::optional<std::string> type;
  std::optional<std::string> action;
  std::optional<int64_t> since_ms;  // received_at >= since
  std::optional<int64_t> until_ms;  // received_at < until
  AckFilter status = AckFilter::kAll;
  std::optional<int64_t> before_id;  // id < before_id: the next page of a newest-first listing
  std::optional<int64_t> after_id;   // id > after_id
  int limit = 20;
  bool oldest_first = false;
};

struct SourceStats {
  std::string name;
  std::string provider;
  int64_t events = 0;
  int64_t pending = 0;
  int64_t last_event_at_ms = 0;
};

// One full-text match: the event's summary and an excerpt of the text that matched, the matched
// words between « and ».
struct SearchHit {
  Event event;
  std::string snippet;
};

// A page of full-text matches. Matches are ranked a block at a time: the best first among the
// newest Options::search_block matches, then among the block before those, and so on, so that
// a search costs the same on a million events as on a thousand, and recent events come first.
struct SearchPage {
  std::vector<SearchHit> hits;
  // Nonzero when older matches exist beyond this block: search again with
  // filter.before_id = older_than and offset 0 for the next block.
  int64_t older_than = 0;
};

// Stops a search from another thread (a cancelled tool call, a client gone): once it is set,
// the search returns kClosed within a few thousand SQLite steps.
using SearchCancel = std::shared_ptr<const std::atomic<bool>>;

struct AckOutcome {
  std::vector<int64_t> acked;
  std::vector<int64_t> not_found;
};

// A standing order to send the events that match it to a receiver outside (an MCP Events
// webhook subscription; later, a trigger): what it wants, where it goes, and how far it has come.
// The store keeps it as opaque text; the outbound module gives it meaning.
struct Subscription {
  std::string id;         // stable for its key (kind, principal, url, name, arguments)
  std::string kind;       // who owns it: "events" (MCP Events webhook mode)
  std::string principal;  // the authenticated client that made it
  std::string name;       // the event name subscribed to
  std::string arguments;  // its filter, canonical JSON
  std::string url;        // where deliveries go
  std::string secret;     // signs them; never shown
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;  // 0: never
  // Progress, saved as deliveries are made (SubscriptionProgress).
  int64_t position = 0;  // every event with an id at or below it is delivered or passed over
  int64_t delivered = 0;
  int64_t last_delivery_at_ms = 0;
  int64_t failures = 0;  // failed attempts in a row
  int64_t failing_since_ms = 0;
  int64_t next_attempt_at_ms = 0;
  std::string last_error;  // a category (timeout, http_5xx, ...), empty after a success
  bool ended = false;      // the receiver ended it, or its last retry failed: kept for a look
  std::string end_reason;
};

// The part of a Subscription its delivery changes.
struct SubscriptionProgress {
  std::string id;
  int64_t position = 0;
  int64_t delivered = 0;
  int64_t last_delivery_at_ms = 0;
  int64_t failures = 0;
  int64_t failing_since_ms = 0;
  int64_t next_attempt_at_ms = 0;
  std::string last_error;
  bool ended = false;
  std::string end_reason;
};

// A trigger's run on one event, as its latest attempt left it.
struct TriggerRun {
  int64_t id = 0;  // given by the store when the run is first saved
  std::string trigger;
  int64_t event_id = 0;
  // "ok"; "retrying": failed, tried again with backoff; "dead": given up after its last attempt;
  // "retry": a person asked for it to run again (hookmcp triggers retry).
  std::string state;
  int64_t attempts = 0;
  int64_t first_at_ms = 0;
  int64_t last_at_ms = 0;
  int64_t status = 0;  // the HTTP status, or the command's exit status (128+N: signal N); 0: none
  std::string error;   // why it failed; empty when it did not
  std::string output;  // the tail of the receiver's answer or of the command's output
  int64_t duration_ms = 0;
};

struct RunFilter {
  std::optional<std::string> trigger;
  bool failed_only = false;          // every state but "ok"
  std::optional<std::string> state;  // only this state (not "ok"): "retry", "dead"...
  std::optional<int64_t> before_id;  // the next page
  int limit = 50;
};

// Called on the writer thread after each commit, before the inserts' callbacks, with the events
// it added in id order (no duplicates; headers and bodies left empty). Must return quickly: the
// next commit waits for it.
using CommitListener = std::function<void(const std::vector<Event>&)>;

struct Options {
  std::string path;
  bool fsync_each_commit = true;  // durability "full": the WAL is fsynced before `done` runs
  uint64_t max_pending_bytes = uint64_t{256} << 20;
  int retention_max_age_days = 0;    // 0: no age limit
  int64_t retention_max_events = 0;  // 0: no count limit
  size_t max_batch = 2048;           // events per commit at the most
  int search_block = 5000;           // matches ranked together (see SearchPage)
  // A search still running after this stops with kOverloaded and a message saying to narrow it
  // (filters, more words), so that no search holds a reader and a thread for long.
  std::chrono::milliseconds search_deadline{std::chrono::seconds(5)};
  const Clock* clock = nullptr;  // required
  Metrics* metrics = nullptr;    // optional
};

class Store {
 public:
  virtual ~Store() = default;

  // Thread-safe. Queues `event` for the writer. `done` runs on the writer thread once the
  // commit holding the event is durable, or on the calling thread at once when the event is
  // refused: kOverloaded past max_pending_bytes, kClosed after close(). On a failed commit it
  // gets kUnavailable and nothing of that group is stored.
  virtual void insert(NewEvent event, InsertCallback done) = 0;

  // Readers: thread-safe, blocking (never call them on an I/O thread).
  virtual Result<std::optional<Event>> get(int64_t id) = 0;
  // Summaries (no headers, no body) matching `filter`, newest first unless oldest_first.
  virtual Result<std::vector<Event>> list(const EventFilter& filter) = 0;
  virtual Result<std::vector<SourceStats>> sources() = 0;
  virtual Result<int64_t> max_id() = 0;

  // Full-text search over each event's body, type, action and source: summaries matching
  // `query` and `filter` (oldest_first is ignored), best match first within the newest block of
  // matches below filter.before_id (see SearchPage), after skipping `offset` of them; at most
  // filter.limit. `query` is words that must all appear, "quoted phrases", `word*` for a prefix
  // and `OR` between alternatives; kInvalidArgument when it holds no word. Past
  // Options::search_deadline it stops with kOverloaded; once `cancel` is set, with kClosed.
  virtual Result<SearchPage> search(const std::string& query, const EventFilter& filter, int offset,
                                    const SearchCancel& cancel) = 0;
  Result<SearchPage> search(const std::string& query, const EventFilter& filter, int offset) {
    return search(query, filter, offset, nullptr);
  }

  // Distinct event types, of one source or of all, that start with `prefix`; sorted.
  virtual Result<std::vector<std::string>> types(const std::optional<std::string>& source,
                                                 const std::string& prefix, int limit) = 0;

  // Marks events acknowledged. Thread-safe, blocking: runs on the writer thread.
  virtual Result<AckOutcome> ack(const std::vector<int64_t>& ids, const std::string& note) = 0;

  // The id at or below which retention has deleted events (0 when it never has): a reader
  // whose position is below it missed some.
  virtual Result<int64_t> pruned_through() = 0;

  // Subscriptions. Reads are thread-safe and blocking. save_subscription (insert, or replace
  // the one with the same id, progress included) and delete_subscription are durable when they
  // return (they run on the writer thread). save_progress queues the update and returns: the
  // writer saves the latest progress of each subscription in one transaction before its next
  // batch, so a delivery never waits for an fsync; one the process dies before saving is sent
  // again, with the same id.
  virtual Result<std::vector<Subscription>> subscriptions() = 0;
  virtual Status save_subscription(const Subscription& subscription) = 0;
  virtual Status delete_subscription(const std::string& id) = 0;
  virtual void save_progress(SubscriptionProgress progress) = 0;

  // Trigger runs. save_run queues the run as save_progress does, saved in the same transaction
  // as the progress queued after it: a trigger's position never passes a run not saved. A run
  // replaces the one of the same trigger and event. runs() reads them newest first.
  virtual void save_run(TriggerRun run) = 0;
  virtual Result<std::vector<TriggerRun>> runs(const RunFilter& filter) = 0;
  // Asks for failed runs to run again: those with `ids` that are dead, or when `ids` is empty,
  // every dead run (of `trigger` alone unless it is empty). They become "retry" for the process
  // that runs the trigger to take up; returns them. Durable when it returns; from any process,
  // beside the one that writes (a SQLite reader writes these rows itself).
  virtual Result<std::vector<TriggerRun>> ask_retry(const std::vector<int64_t>& ids,
                                                    const std::string& trigger) = 0;

  // Connections (the config's `connections`): per name, what hookmcp registered with the
  // provider and where its reading stands, as JSON the connections module writes, with the
  // credentials `hookmcp connections login` stored. From any process, beside the one that writes;
  // durable when it returns.
  virtual Result<std::map<std::string, std::string>> connection_states() = 0;
  // Writes `state` for `name` and returns what is stored then. With `only_if_absent`, a state
  // already there is kept and returned (two nodes making a connection's secret agree on one).
  // An empty `state` deletes it.
  virtual Result<std::string> save_connection_state(const std::string& name,
                                                    const std::string& state,
                                                    bool only_if_absent = false) = 0;

  // The subscriptions this process is to deliver, for several processes delivering from one
  // database (PostgreSQL): each subscription is held by one process at a time. Renews the
  // claims this store holds, claims the subscriptions no live process holds, and returns those
  // it now holds that have not ended, as stored, oldest first. Call it every second or so while
  // delivering: a claim not renewed lapses. A store that one process delivers from (SQLite)
  // returns every subscription that has not ended. Blocking.
  virtual Result<std::vector<Subscription>> hold_subscriptions() {
    auto all = subscriptions();
    if (!all) return all.error();
    std::erase_if(*all, [](const Subscription& s) { return s.ended; });
    return all;
  }
  // Lets go of every claim, for another process to take them at once (a clean stop); after the
  // progress saved before it.
  virtual void release_subscriptions() {}

  // Whether the last commit succeeded (and, after a failure, a probe commit since).
  virtual bool healthy() const = 0;
  // Why not, for GET /healthz and the log ("" while healthy).
  virtual std::string unhealthy_reason() const {
    return healthy() ? std::string() : "storage cannot commit";
  }

  // The database's identity: a random id it was given once, when created (or migrated to schema
  // 9), that names this database to other processes (GET /healthz).
  virtual const std::string& identity() const = 0;

  // Thread-safe. Listeners are called in the order added; add them before inserting.
  virtual void add_commit_listener(CommitListener listener) = 0;

  // Copies whole events (hookmcp migrate) as they are: their ids, bodies, headers and acks, in
  // one durable transaction; an event whose id or delivery is already stored is passed over.
  // Returns how many were added. Only a PostgreSQL store takes them (kInvalidArgument from
  // others). Listeners are not told: this is not intake.
  virtual Result<int64_t> import_events(const std::vector<Event>& events) {
    (void)events;
    return make_error(ErrorCode::kInvalidArgument, "events are imported into PostgreSQL only");
  }

  // Stops taking inserts, commits everything queued, joins the writer. Idempotent.
  virtual void close() = 0;
};

// Opens (creating if needed) the SQLite database at options.path, migrating its schema
// forward, and starts the writer thread.
Result<std::unique_ptr<Store>> open_sqlite(const Options& options);

// Opens an existing database for reading only, from any process, beside the one that writes it:
// no writer thread, no migration, nothing created. The readers work (a search with the default
// Options::search_deadline); insert() and ack() refuse with kClosed. kNotFound when there is no
// file at `path`; kInvalidArgument when the file is not a hookmcp database at this build's schema
// version (the message says what to do).
Result<std::unique_ptr<Store>> open_sqlite_reader(const std::string& path);

// The schema version this build writes (PRAGMA user_version).
int sqlite_schema_version();

// Connects to the PostgreSQL database at options.path (postgres://...), migrating its schema
// forward (once, when several nodes start together), and starts the writer and the thread that
// hears of other nodes' commits. kUnavailable when the server cannot be reached.
Result<std::unique_ptr<Store>> open_postgres(const Options& options);

// Whether `database` names a PostgreSQL database (postgres:// or postgresql://) rather than a
// SQLite file.
bool is_postgres(const std::string& database);

// open_postgres or open_sqlite, as options.path says.
Result<std::unique_ptr<Store>> open_store(const Options& options);
// For a person's commands (events list, show, search, tail): open_sqlite_reader for a file; for
// PostgreSQL, the store itself (any number of processes may use it at once).
Result<std::unique_ptr<Store>> open_reader(const std::string& database, const Clock& clock);

}  // namespace hookmcp::store
