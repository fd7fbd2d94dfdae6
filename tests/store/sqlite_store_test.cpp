#include <sqlite3.h>

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

#include "hookmcp/store/store.hpp"
#include "support/temp_dir.hpp"

namespace hookmcp::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hookmcp::testing::fresh_test_directory("store");
    options_.path = (dir_ / "sub" / "events.db").string();
    options_.clock = &clock_;
    options_.metrics = &metrics_;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> open() {
    auto s = open_sqlite(options_);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  static NewEvent event(std::string delivery, std::string body = "{}") {
    NewEvent e;
    e.source = "demo";
    e.provider = "none";
    e.type = "push";
    e.delivery_id = std::move(delivery);
    e.received_at_ms = 1'000'000;
    e.headers_json = "{}";
    e.body = std::move(body);
    return e;
  }

  // Runs SQL on the database file directly, as another program (or an older hookmcp) would.
  void exec_on_file(const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(options_.path.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);  // the store's writer may be in a transaction
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  // The first column of the first row of `sql`, run on the database file directly, as text;
  // "(no row)" when there is none or the statement fails.
  std::string text_on_file(const char* sql) {
    sqlite3* db = nullptr;
    sqlite3_stmt* stmt = nullptr;
    std::string out = "(no row)";
    if (sqlite3_open(options_.path.c_str(), &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }

  static Result<InsertOutcome> insert_sync(Store& store, NewEvent e) {
    std::promise<Result<InsertOutcome>> p;
    auto f = p.get_future();
    store.insert(std::move(e), [&p](Result<InsertOutcome> r) { p.set_value(std::move(r)); });
    return f.get();
  }

  std::filesystem::path dir_;
  FakeClock clock_{1'000'000};
  Metrics metrics_;
  Options options_;
};

TEST_F(StoreTest, ANewDatabaseIsItsOwnersOnlyAndKeepsOneIdentity) {
  namespace fs = std::filesystem;
  auto mode = [](const fs::path& p) { return fs::status(p).permissions() & fs::perms::all; };
  std::string identity;
  {
    auto store = open();
    ASSERT_TRUE(store);
    identity = store->identity();
    ASSERT_TRUE(insert_sync(*store, event("d1")));
    // The -wal file exists while the database is open.
    EXPECT_EQ(mode(options_.path + "-wal"), fs::perms::owner_read | fs::perms::owner_write);
    store->close();
  }
  EXPECT_EQ(identity.size(), 32u);
  EXPECT_EQ(identity.find_first_not_of("0123456789abcdef"), std::string::npos) << identity;
  EXPECT_EQ(mode(dir_ / "sub"), fs::perms::owner_all);
  EXPECT_EQ(mode(options_.path), fs::perms::owner_read | fs::perms::owner_write);

  // The same database keeps its identity when opened again, and a reader sees the same one;
  // another database has its own.
  auto again = open();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->identity(), identity);
  auto reader = open_sqlite_reader(options_.path);
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ((*reader)->identity(), identity);
  again->close();
  options_.path = (dir_ / "other.db").string();
  auto other = open();
  ASSERT_TRUE(other);
  EXPECT_NE(other->identity(), identity);
  other->close();
}

TEST_F(StoreTest, AnExistingFileKeepsItsMode) {
  std::filesystem::create_directories(dir_ / "sub");
  exec_on_file("SELECT 1");  // an empty file, made by another program
  std::filesystem::permissions(options_.path, std::filesystem::perms(0640));
  auto store = open();
  ASSERT_TRUE(store);
  store->close();
  EXPECT_EQ(std::filesystem::status(options_.path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms(0640));
}

TEST_F(StoreTest, ABatchWhoseTransactionFailsReachesNoListener) {
  auto store = open();
  ASSERT_TRUE(store);
  std::atomic<int> told{0};
  store->add_commit_listener([&](const std::vector<Event>& events) { told += events.size(); });
  // The event's row goes in; counting it fails after, inside the same transaction.
  exec_on_file(
      "CREATE TRIGGER refuse BEFORE INSERT ON source_stats BEGIN "
      "SELECT RAISE(ABORT, 'refused by a test'); END");
  auto failed = insert_sync(*store, event("d1"));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(told.load(), 0);
  EXPECT_EQ(*store->max_id(), 0);
  exec_on_file("DROP TRIGGER refuse");
  ASSERT_TRUE(insert_sync(*store, event("d1")));
  EXPECT_EQ(told.load(), 1);
  store->close();
}

TEST_F(StoreTest, CreatesFileAndMigratesFromEmpty) {
  auto store = open();
  ASSERT_TRUE(store);
  store->close();
  EXPECT_EQ(text_on_file("PRAGMA user_version"), std::to_string(sqlite_schema_version()));
  EXPECT_EQ(text_on_file("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(text_on_file("PRAGMA page_size"), "8192");
  // The full-text index merges a level's segments 16 at a time, all at once only at 64, and
  // writes leaves of 4,000 bytes (FTS5's defaults are 4, 16 and 1,000).
  EXPECT_EQ(text_on_file("SELECT group_concat(k || '=' || v, ',') FROM (SELECT k, v FROM "
                         "events_fts_config WHERE k IN ('automerge', 'crisismerge', 'pgsz') "
                         "ORDER BY k)"),
            "automerge=16,crisismerge=64,pgsz=4000");
}

TEST_F(StoreTest, AFileWithSmallerPagesKeepsThemAndWorks) {
  std::filesystem::create_directories(dir_ / "sub");
  exec_on_file(
      "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; "
      "CREATE TABLE t(x); DROP TABLE t;");
  {
    auto store = open();
    ASSERT_TRUE(store);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(insert_sync(*store, event("d" + std::to_string(i))));
    auto got = store->get(50);
    ASSERT_TRUE(got && *got);
    EXPECT_EQ((*got)->delivery_id, "d49");
  }
  EXPECT_EQ(text_on_file("PRAGMA page_size"), "4096");
}

TEST_F(StoreTest, RefusesANewerSchema) {
  { ASSERT_TRUE(open()); }
  exec_on_file("PRAGMA user_version = 999");
  auto s = open_sqlite(options_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("newer"), std::string::npos);
}

TEST_F(StoreTest, StoresBytesExactlyAndReadsBack) {
  auto store = open();
  std::string body("\x00\xff binary \r\n\x01", 14);
  auto r = insert_sync(*store, event("d1", body));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, 1);
  EXPECT_FALSE(r->duplicate);
  auto got = store->get(1);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->body, body);
  EXPECT_EQ((*got)->size, 14);
  EXPECT_EQ((*got)->delivery_id, "d1");
  EXPECT_FALSE((*got)->acked_at_ms);
  EXPECT_FALSE(*store->get(2));
}

TEST_F(StoreTest, DuplicateDeliveryStoredOnce) {
  auto store = open();
  auto first = insert_sync(*store, event("same"));
  auto second = insert_sync(*store, event("same", "other body"));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(second->id, first->id);
  EXPECT_TRUE(second->duplicate);
  auto other_source = event("same");
  other_source.source = "elsewhere";
  auto third = insert_sync(*store, other_source);
  ASSERT_TRUE(third);
  EXPECT_FALSE(third->duplicate);
  EXPECT_EQ(*store->max_id(), 2);
}

TEST_F(StoreTest, ConcurrentInsertsAreGroupedAndDeduplicated) {
  auto store = open();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  std::atomic<int> ok{0};
  std::atomic<int> duplicates{0};
  std::atomic<int> done{0};
  std::promise<void> all_done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every thread sends the same deliveries: each must be stored exactly once.
        store->insert(event("d" + std::to_string(i), "thread " + std::to_string(t)),
                      [&](Result<InsertOutcome> r) {
                        if (r) (r->duplicate ? duplicates : ok)++;
                        if (++done == kThreads * kPerThread) all_done.set_value();
                      });
      }
    });
  }
  for (auto& th : threads) th.join();
  all_done.get_future().wait();
  EXPECT_EQ(ok.load(), kPerThread);
  EXPECT_EQ(duplicates.load(), kPerThread * (kThreads - 1));
  EXPECT_EQ(*store->max_id(), kPerThread);
  // Fewer commits than events: the writer groups what queued up during each fsync.
  std::string m = metrics_.render_prometheus();
  auto pos = m.find("hookmcp_commit_batch_size_count ");
  ASSERT_NE(pos, std::string::npos);
  long commits = std::stol(m.substr(pos + 32));
  EXPECT_LT(commits, kThreads * kPerThread);
}

TEST_F(StoreTest, SourceCountsAddUpWhenOneCommitHoldsManySourcesAndTypes) {
  auto store = open();
  constexpr int kEvents = 300;
  std::atomic<int> done{0};
  std::promise<void> all_done;
  for (int i = 0; i < kEvents; ++i) {
    // Three sources, two types each; every tenth delivery repeats one of its source's, with
    // the other type: a duplicate, counted nowhere.
    auto e = event("m" + std::to_string(i % 10 == 9 ? i - 3 : i));
    e.source = "s" + std::to_string(i % 3);
    e.type = i % 2 ? "push" : "issues";
    e.received_at_ms += i;
    store->insert(std::move(e), [&](Result<InsertOutcome> r) {
      EXPECT_TRUE(r);
      if (++done == kEvents) all_done.set_value();
    });
  }
  all_done.get_future().wait();
  std::string m = metrics_.render_prometheus();
  auto pos = m.find("hookmcp_commit_batch_size_count ");
  ASSERT_NE(pos, std::string::npos);
  EXPECT_LT(std::stol(m.substr(pos + 32)), kEvents);  // some commits held many events
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options_.path.c_str(), &db), SQLITE_OK);
  auto rows = [&](const char* sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    return out;
  };
  auto kept_sources = rows(
      "SELECT source || ' ' || provider || ' ' || events || ' ' || pending || ' ' || "
      "last_received_at FROM source_stats ORDER BY source");
  EXPECT_EQ(kept_sources.size(), 3u);
  EXPECT_EQ(kept_sources,
            rows("SELECT source || ' ' || max(provider) || ' ' || count(*) || ' ' || "
                 "sum(acked_at IS NULL) || ' ' || max(received_at) FROM events GROUP BY source "
                 "ORDER BY source"));
  auto kept_types =
      rows("SELECT source || ' ' || type || ' ' || events FROM source_types ORDER BY source, type");
  EXPECT_EQ(kept_types.size(), 6u);
  EXPECT_EQ(kept_types, rows("SELECT source || ' ' || type || ' ' || count(*) FROM events "
                             "GROUP BY source, type ORDER BY source, type"));
  sqlite3_close(db);
}

TEST_F(StoreTest, DuplicatesInsideOneGroup) {
  auto store = open();
  // Queue several before the writer can take them; whichever groups form, one row results.
  std::vector<std::future<Result<InsertOutcome>>> futures;
  std::vector<std::promise<Result<InsertOutcome>>> promises(20);
  for (auto& p : promises) {
    futures.push_back(p.get_future());
    store->insert(event("dup"), [&p](Result<InsertOutcome> r) { p.set_value(std::move(r)); });
  }
  int fresh = 0;
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, 1);
    fresh += r->duplicate ? 0 : 1;
  }
  EXPECT_EQ(fresh, 1);
}

TEST_F(StoreTest, RefusesPastThePendingByteBudget) {
  options_.max_pending_bytes = 1024;
  auto store = open();
  auto r = insert_sync(*store, event("big", std::string(4096, 'x')));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kOverloaded);
  EXPECT_TRUE(insert_sync(*store, event("small")));
}

TEST_F(StoreTest, RefusesAfterClose) {
  auto store = open();
  store->close();
  auto r = insert_sync(*store, event("late"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kClosed);
}

TEST_F(StoreTest, CloseCommitsWhatIsQueued) {
  auto store = open();
  std::atomic<int> stored{0};
  for (int i = 0; i < 500; ++i) {
    store->insert(event("q" + std::to_string(i)),
                  [&](Result<InsertOutcome> r) { stored += r ? 1 : 0; });
  }
  store->close();
  EXPECT_EQ(stored.load(), 500);
  store = open();
  EXPECT_EQ(*store->max_id(), 500);
}

TEST_F(StoreTest, CommitListenerSeesNewEventsOnly) {
  auto store = open();
  std::mutex mu;
  std::vector<int64_t> seen;
  store->add_commit_listener([&](const std::vector<Event>& events) {
    std::lock_guard lock(mu);
    for (const auto& e : events) seen.push_back(e.id);
  });
  ASSERT_TRUE(insert_sync(*store, event("a")));
  ASSERT_TRUE(insert_sync(*store, event("a")));
  ASSERT_TRUE(insert_sync(*store, event("b")));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2}));
}

TEST_F(StoreTest, ListFiltersNewestFirstAndPages) {
  auto store = open();
  for (int i = 0; i < 5; ++i) {
    auto e = event("e" + std::to_string(i));
    e.type = i % 2 ? "odd" : "even";
    e.received_at_ms = 1000 + i;
    ASSERT_TRUE(insert_sync(*store, e));
  }
  EventFilter f;
  f.type = "even";
  auto page = store->list(f);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].id, 5);
  EXPECT_TRUE((*page)[0].body.empty());
  f.limit = 2;
  f.before_id = 5;
  page = store->list(f);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, 3);
  EXPECT_EQ((*page)[1].id, 1);
  EventFilter since;
  since.since_ms = 1003;
  EXPECT_EQ(store->list(since)->size(), 2u);
}

TEST_F(StoreTest, AckMarksEventsAndReportsUnknownIds) {
  auto store = open();
  ASSERT_TRUE(insert_sync(*store, event("a")));
  auto r = store->ack({1, 42}, "handled");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->acked, (std::vector<int64_t>{1}));
  EXPECT_EQ(r->not_found, (std::vector<int64_t>{42}));
  EventFilter pending;
  pending.status = AckFilter::kPending;
  EXPECT_TRUE(store->list(pending)->empty());
  auto sources = store->sources();
  ASSERT_TRUE(sources);
  ASSERT_EQ(sources->size(), 1u);
  EXPECT_EQ((*sources)[0].events, 1);
  EXPECT_EQ((*sources)[0].pending, 0);
}

// Waits, with a deadline, until the store holds `n` events.
bool wait_for_count(Store& store, size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    EventFilter all;
    all.limit = 100000;
    if (store.list(all)->size() == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST_F(StoreTest, RetentionPrunesByCount) {
  options_.retention_max_events = 1500;
  auto store = open();
  for (int i = 0; i < 3000; ++i) store->insert(event("c" + std::to_string(i)), [](auto) {});
  ASSERT_TRUE(insert_sync(*store, event("last")));
  EXPECT_TRUE(wait_for_count(*store, 1500));
  EventFilter oldest;
  oldest.oldest_first = true;
  oldest.limit = 1;
  EXPECT_EQ(store->list(oldest)->at(0).id, 3001 - 1500 + 1);
}

// sources() reads counts that triggers keep: they must equal a count over the events after
// inserts, duplicates, acks (twice), pruning, and a migration from a database without them.
TEST_F(StoreTest, SourceCountsFollowInsertsAcksAndPruning) {
  options_.retention_max_events = 5;
  auto counted = [&] {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(options_.path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT source, count(*), sum(acked_at IS NULL), max(received_at) "
                       "FROM events GROUP BY source ORDER BY source",
                       -1, &stmt, nullptr);
    std::vector<std::tuple<std::string, int64_t, int64_t, int64_t>> rows;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                        sqlite3_column_int64(stmt, 1), sqlite3_column_int64(stmt, 2),
                        sqlite3_column_int64(stmt, 3));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
  };
  auto kept = [](Store& store) {
    std::vector<std::tuple<std::string, int64_t, int64_t, int64_t>> rows;
    auto sources = store.sources();
    EXPECT_TRUE(sources) << sources.error().message;
    if (!sources) return rows;
    for (const auto& s : *sources) {
      rows.emplace_back(s.name, s.events, s.pending, s.last_event_at_ms);
    }
    return rows;
  };
  {
    auto store = open();
    for (int i = 0; i < 4; ++i) {
      auto e = event("a" + std::to_string(i));
      e.source = i % 2 ? "alpha" : "beta";
      e.received_at_ms += i;
      if (i == 1) e.type = "pruned.away";
      ASSERT_TRUE(insert_sync(*store, e));
    }
    auto duplicate = event("a0");
    duplicate.source = "beta";
    ASSERT_TRUE(insert_sync(*store, duplicate));  // counted once
    ASSERT_TRUE(store->ack({1, 2}, "first"));
    ASSERT_TRUE(store->ack({2}, "again"));  // acked twice, pending drops once
    EXPECT_EQ(kept(*store), counted());
    EXPECT_EQ(*store->types(std::string("alpha"), "", 10),
              (std::vector<std::string>{"pruned.away", "push"}));
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(insert_sync(*store, event("b" + std::to_string(i))));
    EXPECT_TRUE(wait_for_count(*store, 5));  // retention pruned the oldest
    EXPECT_EQ(kept(*store), counted());
    EXPECT_EQ(*store->types(std::string("alpha"), "", 10), std::vector<std::string>{"push"});
  }
  // As a database from before the counts: the migration fills them from the events.
  exec_on_file(
      "DROP TRIGGER source_stats_delete;"
      "DROP TRIGGER source_stats_ack; DROP TABLE source_stats;"
      "DROP TABLE source_types; DROP TABLE subscriptions; DROP TABLE trigger_runs; DROP TABLE "
      "connections;"
      "PRAGMA user_version = 3");
  auto store = open();
  EXPECT_EQ(kept(*store), counted());
  EXPECT_EQ(kept(*store).size(), 2u);  // alpha's newest, and demo
  EXPECT_EQ(*store->types(std::nullopt, "", 10), std::vector<std::string>{"push"});
}

TEST_F(StoreTest, RetentionPrunesByAge) {
  options_.retention_max_age_days = 1;
  auto store = open();
  auto old_event = event("old");
  old_event.received_at_ms = clock_.now_ms() - 2 * 86'400'000LL;
  ASSERT_TRUE(insert_sync(*store, old_event));
  ASSERT_TRUE(insert_sync(*store, event("new")));
  EXPECT_TRUE(wait_for_count(*store, 1));
  EXPECT_FALSE(*store->get(1));
  EXPECT_TRUE(*store->get(2));
}

TEST_F(StoreTest, SearchFindsWordsBestMatchFirstWithSnippets) {
  auto store = open();
  ASSERT_TRUE(insert_sync(*store, event("a", R"({"msg":"deploy started on staging"})")));
  ASSERT_TRUE(insert_sync(*store, event("b", R"({"msg":"deploy deploy deploy failed"})")));
  auto other = event("c", R"({"msg":"unrelated"})");
  other.source = "other";
  other.type = "invoice.paid";
  ASSERT_TRUE(insert_sync(*store, other));
  // Searchable at once: search waits for the writer to index what was committed.
  auto page = store->search("deploy", EventFilter{}, 0);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->older_than, 0);
  const auto* hits = &page->hits;
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ(hits->at(0).event.id, 2);
  EXPECT_NE(hits->at(0).snippet.find("\xC2\xAB"
                                     "deploy"
                                     "\xC2\xBB"),
            std::string::npos);
  EXPECT_TRUE(hits->at(0).event.body.empty());  // summaries only
  // Punctuation is searched for, not parsed; prefixes, phrases and OR work.
  EXPECT_EQ(store->search("invoice.paid", {}, 0)->hits.size(), 1u);
  EXPECT_EQ(store->search("stag*", {}, 0)->hits.size(), 1u);
  EXPECT_EQ(store->search("\"deploy failed\"", {}, 0)->hits.size(), 1u);
  EXPECT_EQ(store->search("staging OR unrelated", {}, 0)->hits.size(), 2u);
  EXPECT_EQ(store->search("deploy unrelated", {}, 0)->hits.size(), 0u);
  // Filters and offset.
  EventFilter f;
  f.source = "other";
  EXPECT_EQ(store->search("unrelated", f, 0)->hits.size(), 1u);
  EXPECT_EQ(store->search("deploy", f, 0)->hits.size(), 0u);
  EXPECT_EQ(store->search("deploy", {}, 1)->hits.at(0).event.id, 1);
  EXPECT_EQ(store->search(" -- ", {}, 0).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(StoreTest, SnippetsShowTheMatchedWordsInTheirContext) {
  auto store = open();
  std::string words;
  for (int i = 0; i < 40; ++i) words += (i == 20 ? "needle" : "w" + std::to_string(i)) + " ";
  ASSERT_TRUE(insert_sync(*store, event("short", R"({"msg":"deploy started on staging"})")));
  ASSERT_TRUE(insert_sync(*store, event("long", R"({"msg":")" + words + "\"}")));
  ASSERT_TRUE(insert_sync(*store, event("phrase", R"({"msg":"the deploy failed again"})")));
  ASSERT_TRUE(insert_sync(
      *store, event("run", "{\"id\":\"" + std::string(300, 'x') + "\",\"word\":\"walrus\"}")));
  auto snippet = [&](const std::string& query) {
    auto page = store->search(query, {}, 0);
    EXPECT_TRUE(page && page->hits.size() == 1u) << query;
    return page && !page->hits.empty() ? page->hits[0].snippet : std::string();
  };
  // A short field whole, text around its words included.
  EXPECT_EQ(snippet("started"), "{\"msg\":\"deploy «started» on staging\"}");
  // Sixteen words around the match, "…" where text is left out.
  EXPECT_EQ(snippet("needle"),
            "…w13 w14 w15 w16 w17 w18 w19 «needle» w21 w22 w23 w24 w25 w26 "
            "w27 w28…");
  // A phrase is marked as one.
  EXPECT_EQ(snippet("\"deploy failed\""), "{\"msg\":\"the «deploy failed» again\"}");
  // A 300-byte word is shown cut in its middle.
  EXPECT_EQ(snippet("walrus"), "{\"id\":\"" + std::string(40, 'x') + "…" + std::string(40, 'x') +
                                   "\",\"word\":\"«walrus»\"}");
  EXPECT_EQ(metrics_.search_snippets_bounded.value(), 0u);
}

// An event repeating a word 40,000 times made FTS5's snippet() score every match against every
// other: 1.6 billion steps, 8.6 s for one search. The excerpt now tries the first matches only.
TEST_F(StoreTest, SnippetOfAnEventRepeatingAWordIsMadeFromItsFirstMatches) {
  auto store = open();
  std::string body = R"({"log":")";
  for (int i = 0; i < 40'000; ++i) body += "spam ";
  body += R"("})";
  ASSERT_TRUE(insert_sync(*store, event("big", body)));
  auto page = store->search("spam", {}, 0);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->hits.size(), 1u);
  // Sixteen matched words from the first match on.
  std::string expected = "…";
  for (int i = 0; i < 15; ++i) expected += "«spam» ";
  expected += "«spam»…";
  EXPECT_EQ(page->hits[0].snippet, expected);
  EXPECT_EQ(metrics_.search_snippets_bounded.value(), 1u);
}

TEST_F(StoreTest, AMatchBeyondTheScannedBytesStillFindsTheEvent) {
  auto store = open();
  std::string body = R"({"log":")";
  while (body.size() < 300 * 1024) body += "filler ";
  body += R"(needle"})";
  ASSERT_TRUE(insert_sync(*store, event("deep", body)));
  auto page = store->search("needle", {}, 0);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->hits.size(), 1u);
  // The start of the field, unmarked: the match lies past what an excerpt reads.
  EXPECT_EQ(page->hits[0].snippet.rfind(R"({"log":"filler filler)", 0), 0u)
      << page->hits[0].snippet;
  EXPECT_EQ(page->hits[0].snippet.find("\xC2\xAB"), std::string::npos);
  EXPECT_EQ(metrics_.search_snippets_bounded.value(), 1u);
}

TEST_F(StoreTest, ACancelledSearchStopsWithAnError) {
  auto store = open();
  ASSERT_TRUE(insert_sync(*store, event("a", R"({"msg":"deploy"})")));
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  ASSERT_TRUE(store->search("deploy", {}, 0, cancel));
  cancel->store(true);
  auto page = store->search("deploy", {}, 0, cancel);
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code, ErrorCode::kClosed);
  EXPECT_EQ(page.error().message, "the search was cancelled");
  EXPECT_EQ(metrics_.searches_cancelled.value(), 1u);
  EXPECT_EQ(metrics_.search_timeouts.value(), 0u);
}

TEST_F(StoreTest, ASearchPastItsDeadlineSaysHowToNarrowIt) {
  options_.search_deadline = std::chrono::milliseconds(0);
  options_.fsync_each_commit = false;
  auto store = open();
  // Enough matches for SQLite's progress handler to stop the first statement in its course.
  std::promise<void> last;
  for (int i = 0; i < 3000; ++i) {
    store->insert(event("d" + std::to_string(i), R"({"msg":"deploy"})"),
                  [&last, i](Result<InsertOutcome> r) {
                    EXPECT_TRUE(r);
                    if (i == 2999) last.set_value();
                  });
  }
  last.get_future().wait();
  auto page = store->search("deploy", {}, 0);
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code, ErrorCode::kOverloaded);
  EXPECT_EQ(page.error().message,
            "the search took longer than 0 s; narrow it with source, type or since filters, or "
            "more words");
  EXPECT_EQ(metrics_.search_timeouts.value(), 1u);
  EXPECT_NE(
      metrics_.render_prometheus().find("hookmcp_limit{name=\"search_deadline_seconds\"} 0\n"),
      std::string::npos);
  // The reader it used works for the next search.
  EXPECT_TRUE(store->list({}));
}

TEST_F(StoreTest, SearchRanksABlockOfMatchesAtATimeNewestBlockFirst) {
  options_.search_block = 3;
  auto store = open();
  // Ids 1-7 match; 2 and 6 say "deploy" three times, the best match of their blocks.
  for (int i = 1; i <= 7; ++i) {
    std::string words = (i == 2 || i == 6) ? "deploy deploy deploy" : "deploy and more words";
    ASSERT_TRUE(insert_sync(*store, event("d" + std::to_string(i), R"({"m":")" + words + "\"}")));
  }
  EventFilter f;
  f.limit = 10;
  auto first = store->search("deploy", f, 0);
  ASSERT_TRUE(first) << first.error().message;
  std::vector<int64_t> ids;
  for (const auto& h : first->hits) ids.push_back(h.event.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{6, 7, 5}));  // the newest three, best first
  EXPECT_EQ(first->older_than, 5);

  f.before_id = first->older_than;
  auto second = store->search("deploy", f, 0);
  ASSERT_TRUE(second);
  ids.clear();
  for (const auto& h : second->hits) ids.push_back(h.event.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{2, 4, 3}));
  EXPECT_EQ(second->older_than, 2);

  f.before_id = second->older_than;
  auto third = store->search("deploy", f, 0);
  ASSERT_TRUE(third);
  ASSERT_EQ(third->hits.size(), 1u);
  EXPECT_EQ(third->hits[0].event.id, 1);
  EXPECT_EQ(third->older_than, 0);
  EXPECT_FALSE(third->hits[0].snippet.empty());

  // Offset and limit page within a block.
  f.before_id.reset();
  f.limit = 1;
  auto paged = store->search("deploy", f, 1);
  ASSERT_TRUE(paged);
  ASSERT_EQ(paged->hits.size(), 1u);
  EXPECT_EQ(paged->hits[0].event.id, 7);
}

TEST_F(StoreTest, PrunedEventsLeaveTheSearchIndex) {
  options_.retention_max_events = 1;
  auto store = open();
  ASSERT_TRUE(insert_sync(*store, event("old", R"({"word":"zebra"})")));
  ASSERT_TRUE(insert_sync(*store, event("new", R"({"word":"yak"})")));
  EXPECT_TRUE(wait_for_count(*store, 1));
  EXPECT_EQ(store->search("zebra", {}, 0)->hits.size(), 0u);
  EXPECT_EQ(store->search("yak", {}, 0)->hits.size(), 1u);
  store->close();
  // The index agrees with the events (an external-content index checks itself).
  exec_on_file("INSERT INTO events_fts(events_fts) VALUES('integrity-check')");
}

TEST_F(StoreTest, IndexesWhatAnEarlierRunCommittedButDidNotIndex) {
  {
    auto store = open();
    ASSERT_TRUE(insert_sync(*store, event("a", R"({"word":"walrus"})")));
  }
  // As after a crash between a commit and its indexing.
  exec_on_file(
      "INSERT INTO events_fts(events_fts) VALUES('delete-all');"
      "UPDATE meta SET value = '0' WHERE key = 'fts_through'");
  auto store = open();
  // The writer indexes the backlog at start; search waits for it.
  EXPECT_EQ(store->search("walrus", {}, 0)->hits.size(), 1u);
}

TEST_F(StoreTest, TypesAreDistinctSortedAndFiltered) {
  auto store = open();
  int n = 0;
  for (const char* t : {"push", "pull_request", "push", "issues"}) {
    auto e = event("t" + std::to_string(n++));
    e.type = t;
    ASSERT_TRUE(insert_sync(*store, e));
  }
  EXPECT_EQ(*store->types(std::nullopt, "p", 10),
            (std::vector<std::string>{"pull_request", "push"}));
  EXPECT_EQ(*store->types(std::string("nope"), "", 10), std::vector<std::string>{});
  EXPECT_EQ(store->types(std::nullopt, "", 1)->size(), 1u);
}

// What is logged while it lives, in place of the default logger.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // The lines logged that hold `text`.
  size_t count(const std::string& text) { return sink_->count(text); }

 private:
  class Sink : public spdlog::sinks::base_sink<std::mutex> {
   public:
    size_t count(const std::string& text) {
      std::lock_guard lock(mutex_);
      return std::count_if(lines_.begin(), lines_.end(), [&](const std::string& line) {
        return line.find(text) != std::string::npos;
      });
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      lines_.emplace_back(msg.payload.data(), msg.payload.size());
    }
    void flush_() override {}

   private:
    std::vector<std::string> lines_;  // guarded by mutex_
  };

  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<Sink> sink_ = std::make_shared<Sink>();
};

// Waits, with a deadline, until `done` holds.
bool wait_until(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// The value of one sample of /metrics, -1 when it is not there.
double sample(const Metrics& metrics, const std::string& name) {
  std::istringstream text(metrics.render_prometheus());
  std::string line;
  while (std::getline(text, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

// Upkeep retried every second: each failure counted, the first of a run and the recovery logged.
TEST_F(StoreTest, AFailingFullTextIndexIsCountedLoggedOnceAndCatchesUp) {
  LogCapture log;
  auto store = open();
  exec_on_file(
      "CREATE TRIGGER refuse_index BEFORE INSERT ON meta WHEN NEW.key = 'fts_through' "
      "BEGIN SELECT RAISE(ABORT, 'indexing refused'); END");
  ASSERT_TRUE(insert_sync(*store, event("a", R"({"word":"walrus"})")));
  const std::string failures = "hookmcp_store_maintenance_failures_total{task=\"index\"}";
  ASSERT_TRUE(wait_until([&] { return sample(metrics_, failures) >= 2; }));
  EXPECT_EQ(log.count("full-text indexing failed"), 1u);
  EXPECT_EQ(log.count("indexing refused"), 1u);

  exec_on_file("DROP TRIGGER refuse_index");
  ASSERT_TRUE(wait_until([&] { return log.count("index works again") == 1; }));
  EXPECT_EQ(store->search("walrus", {}, 0)->hits.size(), 1u);
  EXPECT_EQ(log.count("full-text indexing failed"), 1u);
}

TEST_F(StoreTest, AFailingRetentionIsCountedLoggedOnceAndCatchesUp) {
  options_.retention_max_events = 1;
  LogCapture log;
  auto store = open();
  exec_on_file(
      "CREATE TRIGGER refuse_delete BEFORE DELETE ON events "
      "BEGIN SELECT RAISE(ABORT, 'deletes refused'); END");
  ASSERT_TRUE(insert_sync(*store, event("a")));
  ASSERT_TRUE(insert_sync(*store, event("b")));
  const std::string failures = "hookmcp_store_maintenance_failures_total{task=\"retention\"}";
  ASSERT_TRUE(wait_until([&] { return sample(metrics_, failures) >= 2; }));
  EXPECT_EQ(log.count("retention failed: delete: deletes refused"), 1u);

  exec_on_file("DROP TRIGGER refuse_delete");
  EXPECT_TRUE(wait_for_count(*store, 1));
  ASSERT_TRUE(wait_until([&] { return log.count("retention works again") == 1; }));
  EXPECT_EQ(log.count("retention failed"), 1u);
}

TEST_F(StoreTest, AFailingHealthProbeIsCountedLoggedOnceAndHealthReturns) {
  LogCapture log;
  auto store = open();
  exec_on_file(
      "CREATE TRIGGER refuse_events BEFORE INSERT ON events "
      "BEGIN SELECT RAISE(ABORT, 'disk says no'); END;"
      "CREATE TRIGGER refuse_probe BEFORE INSERT ON meta WHEN NEW.key = 'probe' "
      "BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
  EXPECT_FALSE(insert_sync(*store, event("a")));
  EXPECT_FALSE(store->healthy());
  const std::string failures = "hookmcp_store_maintenance_failures_total{task=\"probe\"}";
  ASSERT_TRUE(wait_until([&] { return sample(metrics_, failures) >= 2; }));
  EXPECT_FALSE(store->healthy());
  EXPECT_EQ(log.count("the database still cannot commit: probe: disk says no"), 1u);

  exec_on_file("DROP TRIGGER refuse_events; DROP TRIGGER refuse_probe");
  ASSERT_TRUE(wait_until([&] { return store->healthy(); }));
  EXPECT_EQ(log.count("probe works again"), 1u);
  EXPECT_TRUE(insert_sync(*store, event("b")));
  EXPECT_EQ(sample(metrics_, "hookmcp_store_bind_failures_total"), 0);
}

}  // namespace
}  // namespace hookmcp::store
