// The Store contract, run against both backends: SQLite (a file in a temporary directory) and
// PostgreSQL (a database of its own on a server this test process starts).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <numeric>
#include <thread>

#include "hookmcp/store/store.hpp"
#include "support/postgres.hpp"
#include "support/temp_dir.hpp"

namespace hookmcp::store {
namespace {

NewEvent event(std::string delivery, std::string body = "{}", std::string source = "demo",
               std::string type = "push") {
  NewEvent e;
  e.source = std::move(source);
  e.provider = "none";
  e.type = std::move(type);
  e.delivery_id = std::move(delivery);
  e.received_at_ms = 1'000'000;
  e.headers_json = R"({"X-Test":"1"})";
  e.content_type = "application/json";
  e.body = std::move(body);
  return e;
}

Result<InsertOutcome> insert_sync(Store& store, NewEvent e) {
  std::promise<Result<InsertOutcome>> p;
  auto f = p.get_future();
  store.insert(std::move(e), [&p](Result<InsertOutcome> r) { p.set_value(std::move(r)); });
  return f.get();
}

class StoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    options_.clock = &clock_;
    options_.metrics = &metrics_;
    if (GetParam() == "sqlite") {
      dir_ = hookmcp::testing::fresh_test_directory("contract");
      options_.path = (dir_ / "events.db").string();
    } else {
      std::string why;
      auto* server = hookmcp::testing::TempPostgres::shared(&why);
      ASSERT_NE(server, nullptr) << why;
      options_.path = server->fresh_database();
      ASSERT_FALSE(options_.path.empty());
    }
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Store> open() {
    auto s = open_store(options_);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  std::filesystem::path dir_;
  FakeClock clock_{1'000'000};
  Metrics metrics_;
  Options options_;
};

TEST_P(StoreContract, StoresBytesExactlyAndReadsThemBack) {
  auto store = open();
  ASSERT_TRUE(store);
  std::string body("\x00\xff binary \r\n\x01", 14);
  auto r = insert_sync(*store, event("d1", body));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->id, 1);
  EXPECT_FALSE(r->duplicate);
  auto got = store->get(1);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->body, body);
  EXPECT_EQ((*got)->size, 14);
  EXPECT_EQ((*got)->headers_json, R"({"X-Test":"1"})");
  EXPECT_EQ((*got)->content_type, "application/json");
  EXPECT_FALSE((*got)->acked_at_ms);
  EXPECT_FALSE(*store->get(2));
  EXPECT_FALSE(store->identity().empty());
}

TEST_P(StoreContract, ADeliveryIsStoredOnceAndDrawsNoIdTwice) {
  auto store = open();
  ASSERT_TRUE(store);
  auto first = insert_sync(*store, event("same"));
  auto second = insert_sync(*store, event("same", "other body"));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(second->id, first->id);
  EXPECT_TRUE(second->duplicate);
  auto third = insert_sync(*store, event("same", "{}", "elsewhere"));
  ASSERT_TRUE(third);
  EXPECT_FALSE(third->duplicate);
  EXPECT_EQ(third->id, 2);
  EXPECT_EQ(*store->max_id(), 2);
  // Ids with the characters a list of them is written with are compared as they are.
  for (const std::string odd : {R"(a"b\c,{d} e)", "NULL", ""}) {
    auto once = insert_sync(*store, event(odd));
    auto again = insert_sync(*store, event(odd));
    ASSERT_TRUE(once && again) << odd;
    EXPECT_FALSE(once->duplicate) << odd;
    EXPECT_TRUE(again->duplicate) << odd;
    EXPECT_EQ(again->id, once->id) << odd;
  }
  EXPECT_EQ(*store->max_id(), 5);
}

TEST_P(StoreContract, ConcurrentInsertsAreGroupedAndDeduplicated) {
  auto store = open();
  ASSERT_TRUE(store);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  std::atomic<int> ok{0};
  std::atomic<int> duplicates{0};
  std::atomic<int> done{0};
  std::promise<void> all_done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
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
}

TEST_P(StoreContract, ListsFiltersAndCountsPerSource) {
  auto store = open();
  ASSERT_TRUE(store);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(insert_sync(
        *store, event("a" + std::to_string(i), "{}", "github", i % 2 ? "push" : "pull_request")));
  }
  ASSERT_TRUE(insert_sync(*store, event("b1", "{}", "stripe", "charge.succeeded")));
  EventFilter all;
  auto listed = store->list(all);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 6u);
  EXPECT_EQ(listed->front().id, 6);  // newest first
  EventFilter gh;
  gh.source = "github";
  gh.type = "push";
  gh.limit = 2;
  auto page = store->list(gh);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, 5);
  EXPECT_EQ((*page)[1].id, 3);
  gh.before_id = 3;
  page = store->list(gh);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, 1);
  EventFilter oldest;
  oldest.oldest_first = true;
  oldest.after_id = 4;
  page = store->list(oldest);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, 5);
  auto sources = store->sources();
  ASSERT_TRUE(sources);
  ASSERT_EQ(sources->size(), 2u);
  EXPECT_EQ((*sources)[0].name, "github");
  EXPECT_EQ((*sources)[0].events, 5);
  EXPECT_EQ((*sources)[0].pending, 5);
  auto types = store->types(std::nullopt, "", 10);
  ASSERT_TRUE(types);
  EXPECT_EQ(*types, (std::vector<std::string>{"charge.succeeded", "pull_request", "push"}));
  types = store->types(std::string("github"), "pu", 10);
  EXPECT_EQ(*types, (std::vector<std::string>{"pull_request", "push"}));
}

TEST_P(StoreContract, AckMarksEventsAndReportsUnknownIds) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(insert_sync(*store, event("d1")));
  ASSERT_TRUE(insert_sync(*store, event("d2")));
  auto acked = store->ack({1, 99}, "handled");
  ASSERT_TRUE(acked) << acked.error().message;
  EXPECT_EQ(acked->acked, std::vector<int64_t>{1});
  EXPECT_EQ(acked->not_found, std::vector<int64_t>{99});
  auto again = store->ack({1}, "twice");
  ASSERT_TRUE(again);
  EventFilter pending;
  pending.status = AckFilter::kPending;
  auto left = store->list(pending);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].id, 2);
  EXPECT_EQ((*store->sources())[0].pending, 1);
  auto one = store->get(1);
  ASSERT_TRUE(one && *one && (*one)->acked_at_ms);
}

TEST_P(StoreContract, SearchesWordsPhrasesPrefixesAndAlternatives) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(insert_sync(*store, event("d1", R"({"title":"deploy failed on staging"})")));
  ASSERT_TRUE(insert_sync(*store, event("d2", R"({"title":"deploy succeeded"})")));
  ASSERT_TRUE(insert_sync(
      *store, event("d3", R"({"title":"payment refunded"})", "stripe", "charge.refunded")));
  auto ids = [&](const std::string& q) {
    std::vector<int64_t> out;
    auto page = store->search(q, EventFilter{}, 0);
    EXPECT_TRUE(page) << q << ": " << (page ? "" : page.error().message);
    if (page) {
      for (const auto& h : page->hits) out.push_back(h.event.id);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(ids("deploy"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ids("deploy failed"), (std::vector<int64_t>{1}));
  EXPECT_EQ(ids("\"failed on staging\""), (std::vector<int64_t>{1}));
  EXPECT_EQ(ids("\"staging on\""), (std::vector<int64_t>{}));
  EXPECT_EQ(ids("succ*"), (std::vector<int64_t>{2}));
  EXPECT_EQ(ids("failed OR refunded"), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(ids("failed OR"), (std::vector<int64_t>{1}));  // nothing to be an OR of
  EXPECT_EQ(ids("deploy failed OR succeeded"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ids("OR deploy"), (std::vector<int64_t>{}));         // a first OR is a word: "or"
  EXPECT_EQ(ids("charge.refunded"), (std::vector<int64_t>{3}));  // the type is searched too
  EXPECT_EQ(ids("stripe"), (std::vector<int64_t>{3}));           // and the source
  auto page = store->search("staging", EventFilter{}, 0);
  ASSERT_TRUE(page && page->hits.size() == 1);
  EXPECT_NE(page->hits[0].snippet.find("«staging»"), std::string::npos) << page->hits[0].snippet;
  EXPECT_FALSE(store->search("  !! ", EventFilter{}, 0));
}

TEST_P(StoreContract, TellsListenersOfNewEventsOnceInOrder) {
  auto store = open();
  ASSERT_TRUE(store);
  std::mutex mu;
  std::vector<int64_t> told;
  store->add_commit_listener([&](const std::vector<Event>& events) {
    std::lock_guard lock(mu);
    for (const auto& e : events) told.push_back(e.id);
  });
  ASSERT_TRUE(insert_sync(*store, event("d1")));
  ASSERT_TRUE(insert_sync(*store, event("d1")));  // a duplicate: not new
  ASSERT_TRUE(insert_sync(*store, event("d2")));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a listener's extra look
  std::lock_guard lock(mu);
  EXPECT_EQ(told, (std::vector<int64_t>{1, 2}));
}

// A webhook subscription of alice's, as the events module makes them.
Subscription subscription(const std::string& id) {
  Subscription s;
  s.id = id;
  s.kind = "events";
  s.principal = "alice";
  s.name = "webhook.received";
  s.arguments = "{}";
  s.url = "https://example.com/hook";
  s.secret = "whsec_x";
  return s;
}

TEST_P(StoreContract, KeepsSubscriptionsAndTheirProgress) {
  auto store = open();
  ASSERT_TRUE(store);
  Subscription s = subscription("sub-1");
  s.created_at_ms = 5;
  ASSERT_TRUE(store->save_subscription(s));
  store->save_progress({"sub-1", 7, 3, 9, 0, 0, 0, "", false, ""});
  store->close();
  store = open();
  auto subs = store->subscriptions();
  ASSERT_TRUE(subs);
  ASSERT_EQ(subs->size(), 1u);
  EXPECT_EQ((*subs)[0].principal, "alice");
  EXPECT_EQ((*subs)[0].position, 7);
  EXPECT_EQ((*subs)[0].delivered, 3);
  ASSERT_TRUE(store->delete_subscription("sub-1"));
  EXPECT_TRUE(store->subscriptions()->empty());
}

TEST_P(StoreContract, RetentionPrunesTheOldestAndSaysHowFar) {
  options_.retention_max_events = 3;
  auto store = open();
  ASSERT_TRUE(store);
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(insert_sync(*store, event("d" + std::to_string(i))));
  for (int i = 0; i < 50 && *store->pruned_through() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(*store->pruned_through(), 3);
  EXPECT_FALSE(*store->get(3));
  EXPECT_TRUE(*store->get(4));
  EXPECT_EQ((*store->sources())[0].events, 3);
}

TEST_P(StoreContract, CloseCommitsWhatIsQueuedThenRefuses) {
  auto store = open();
  ASSERT_TRUE(store);
  std::atomic<int> stored{0};
  for (int i = 0; i < 20; ++i) {
    store->insert(event("q" + std::to_string(i)), [&](Result<InsertOutcome> r) {
      if (r) stored++;
    });
  }
  store->close();
  EXPECT_EQ(stored.load(), 20);
  auto after = insert_sync(*store, event("late"));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::kClosed);
}

// Two stores on one PostgreSQL database, as two nodes have: what one stores, the other's
// listeners hear of (NOTIFY, then a read by id), once, in order; a delivery that reaches both at
// once is stored once.
// Stores on a database of their own on the test's PostgreSQL server.
class PostgresNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    server_ = hookmcp::testing::TempPostgres::shared(&why);
    ASSERT_NE(server_, nullptr) << why;
    options.clock = &clock_;
    options.path = server_->fresh_database();
  }
  hookmcp::testing::TempPostgres* server_ = nullptr;
  FakeClock clock_{1'000'000};
  Options options;
};

TEST_F(PostgresNodes, OneNodeHearsOfTheOthersEventsAndDuplicatesAreStoredOnce) {
  auto a = open_store(options);
  auto b = open_store(options);
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)->identity(), (*b)->identity());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int64_t> heard_by_b;
  (*b)->add_commit_listener([&](const std::vector<Event>& events) {
    std::lock_guard lock(mu);
    for (const auto& e : events) heard_by_b.push_back(e.id);
    cv.notify_all();
  });
  constexpr int kEvents = 50;
  std::atomic<int> duplicates{0};
  std::atomic<int> answered{0};
  for (int i = 0; i < kEvents; ++i) {
    // The same delivery to both nodes at the same instant.
    for (auto* node : {a->get(), b->get()}) {
      node->insert(event("d" + std::to_string(i)), [&](Result<InsertOutcome> r) {
        if (r && r->duplicate) duplicates++;
        answered++;
      });
    }
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10),
                          [&] { return heard_by_b.size() >= kEvents && answered == 2 * kEvents; }));
  std::vector<int64_t> expected(kEvents);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(heard_by_b, expected);
  EXPECT_EQ(duplicates.load(), kEvents);
  EXPECT_EQ(*(*a)->max_id(), kEvents);
}

// The database server restarting: what is sent while it is down is refused (never reported
// stored), the store says it is unhealthy, and it stores again by itself once the server is back.
TEST_F(PostgresNodes, AServerRestartRefusesThenRecoversByItself) {
  auto store = open_store(options);
  ASSERT_TRUE(store);
  auto insert = [&](const std::string& delivery) { return insert_sync(**store, event(delivery)); };
  ASSERT_TRUE(insert("before"));
  ASSERT_TRUE(server_->stop());
  auto down = insert("while-down");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE((*store)->healthy());
  ASSERT_TRUE(server_->start());
  Result<InsertOutcome> back = make_error(ErrorCode::kUnavailable, "not yet");
  for (int i = 0; i < 50 && !back; ++i) {
    back = insert("after");
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(back) << back.error().message;
  for (int i = 0; i < 30 && !(*store)->healthy(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE((*store)->healthy());
  // What was refused was not stored; what was acknowledged is there.
  EXPECT_EQ(*(*store)->max_id(), 2);
  EventFilter all;
  auto listed = (*store)->list(all);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].delivery_id, "after");
  EXPECT_EQ((*listed)[1].delivery_id, "before");
}

// Outbound delivery from several nodes: each subscription is held by one node at a time; a
// node that lets go, or whose connections are gone, is replaced at once; one that lost a
// subscription cannot move its position any more.
TEST_F(PostgresNodes, EachSubscriptionIsHeldByOneNodeAtATime) {
  auto a = open_store(options);
  auto b = open_store(options);
  ASSERT_TRUE(a && b);
  for (const char* id : {"sub-1", "sub-2"}) ASSERT_TRUE((*a)->save_subscription(subscription(id)));
  auto held_by_a = (*a)->hold_subscriptions();
  ASSERT_TRUE(held_by_a) << held_by_a.error().message;
  EXPECT_EQ(held_by_a->size(), 2u);
  EXPECT_TRUE((*b)->hold_subscriptions()->empty());
  EXPECT_EQ((*a)->hold_subscriptions()->size(), 2u);  // renewed

  (*a)->release_subscriptions();
  EXPECT_EQ((*b)->hold_subscriptions()->size(), 2u);
  EXPECT_TRUE((*a)->hold_subscriptions()->empty());
  // A's progress no longer counts; B's does.
  (*a)->save_progress({"sub-1", 50, 50, 9, 0, 0, 0, "", false, ""});
  (*b)->save_progress({"sub-1", 7, 3, 9, 0, 0, 0, "", false, ""});
  (*a)->close();  // its writer saves what it queued before it stops
  for (int i = 0; i < 50; ++i) {
    auto subs = (*b)->subscriptions();
    ASSERT_TRUE(subs);
    if ((*subs)[0].position == 7) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto subs = (*b)->subscriptions();
  ASSERT_TRUE(subs);
  EXPECT_EQ((*subs)[0].id, "sub-1");
  EXPECT_EQ((*subs)[0].position, 7);

  // B goes away without letting go (its connections close, as when its process is killed): a
  // third node takes both at once, not after the claim lapses.
  auto c = open_store(options);
  ASSERT_TRUE(c);
  EXPECT_TRUE((*c)->hold_subscriptions()->empty());
  b->reset();
  // The server ends B's sessions as it sees them close, a moment after.
  Result<std::vector<Subscription>> held_by_c = std::vector<Subscription>{};
  for (int i = 0; i < 100 && held_by_c && held_by_c->empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    held_by_c = (*c)->hold_subscriptions();
  }
  ASSERT_TRUE(held_by_c);
  ASSERT_EQ(held_by_c->size(), 2u);
  EXPECT_EQ((*held_by_c)[0].position, 7);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hookmcp::store
