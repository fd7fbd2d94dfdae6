// Subscriptions and their delivery progress in the SQLite store, and meta.pruned_through.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <thread>

#include "hookmcp/store/store.hpp"
#include "support/temp_dir.hpp"

namespace hookmcp::store {
namespace {

class SubscriptionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hookmcp::testing::fresh_test_directory("subs");
    options_.path = (dir_ / "events.db").string();
    options_.clock = &clock_;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> open() {
    auto s = open_sqlite(options_);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  static Subscription subscription(std::string id) {
    Subscription s;
    s.id = std::move(id);
    s.kind = "events";
    s.principal = "alice";
    s.name = "webhook.received";
    s.arguments = R"({"source":"github"})";
    s.url = "https://receiver.example/hook";
    s.secret = "whsec_c2VjcmV0";
    s.created_at_ms = 1000;
    s.expires_at_ms = 5000;
    s.position = 7;
    return s;
  }

  static void insert_sync(Store& store, std::string delivery) {
    NewEvent e;
    e.source = "demo";
    e.provider = "none";
    e.delivery_id = std::move(delivery);
    e.headers_json = "{}";
    std::promise<void> done;
    store.insert(std::move(e), [&](Result<InsertOutcome> r) {
      EXPECT_TRUE(r);
      done.set_value();
    });
    done.get_future().get();
  }

  // Saved progress reaches the file within the writer's next round.
  static Subscription wait_for_position(Store& store, const std::string& id, int64_t position) {
    for (int i = 0; i < 500; ++i) {
      auto all = store.subscriptions();
      for (const auto& s : *all) {
        if (s.id == id && s.position == position) return s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ADD_FAILURE() << "position " << position << " never saved";
    return {};
  }

  std::filesystem::path dir_;
  FakeClock clock_{1'000'000};
  Options options_;
};

TEST_F(SubscriptionStoreTest, SavedSubscriptionsSurviveReopeningWithTheirProgress) {
  {
    auto store = open();
    ASSERT_TRUE(store->save_subscription(subscription("sub_a")));
    ASSERT_TRUE(store->save_subscription(subscription("sub_b")));
    SubscriptionProgress p;
    p.id = "sub_a";
    p.position = 42;
    p.delivered = 3;
    p.failures = 2;
    p.last_error = "http_5xx";
    store->save_progress(p);
    p.position = 43;  // only the latest is kept
    store->save_progress(p);
    wait_for_position(*store, "sub_a", 43);
    store->close();
  }
  auto store = open();
  auto all = store->subscriptions();
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  const Subscription& a = all->at(0);
  EXPECT_EQ(a.id, "sub_a");
  EXPECT_EQ(a.principal, "alice");
  EXPECT_EQ(a.arguments, R"({"source":"github"})");
  EXPECT_EQ(a.secret, "whsec_c2VjcmV0");
  EXPECT_EQ(a.expires_at_ms, 5000);
  EXPECT_EQ(a.position, 43);
  EXPECT_EQ(a.delivered, 3);
  EXPECT_EQ(a.failures, 2);
  EXPECT_EQ(a.last_error, "http_5xx");
  EXPECT_EQ(all->at(1).position, 7);
}

TEST_F(SubscriptionStoreTest, SavingAgainReplacesAndQueuedProgressOfTheOldOneIsDropped) {
  auto store = open();
  ASSERT_TRUE(store->save_subscription(subscription("sub_a")));
  Subscription again = subscription("sub_a");
  again.expires_at_ms = 9000;
  again.position = 100;
  ASSERT_TRUE(store->save_subscription(again));
  auto all = store->subscriptions();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->at(0).expires_at_ms, 9000);
  EXPECT_EQ(all->at(0).position, 100);
}

TEST_F(SubscriptionStoreTest, DeletedIsGoneAndLaterProgressForItIsIgnored) {
  auto store = open();
  ASSERT_TRUE(store->save_subscription(subscription("sub_a")));
  ASSERT_TRUE(store->delete_subscription("sub_a"));
  SubscriptionProgress p;
  p.id = "sub_a";
  p.position = 9;
  store->save_progress(p);
  ASSERT_TRUE(store->save_subscription(subscription("sub_b")));  // a round of the writer
  auto all = store->subscriptions();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->at(0).id, "sub_b");
}

TEST_F(SubscriptionStoreTest, PrunedThroughFollowsRetention) {
  options_.retention_max_events = 3;
  auto store = open();
  EXPECT_EQ(*store->pruned_through(), 0);
  for (int i = 0; i < 8; ++i) insert_sync(*store, "d" + std::to_string(i));
  for (int i = 0; i < 500 && *store->pruned_through() != 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(*store->pruned_through(), 5);  // ids 1-5 gone, 6-8 kept
}

// A database that pruned before it knew to keep pruned_through: the migration finds it below
// the oldest event.
TEST_F(SubscriptionStoreTest, TheMigrationFindsWhatWasPrunedBefore) {
  options_.retention_max_events = 2;
  {
    auto store = open();
    for (int i = 0; i < 6; ++i) insert_sync(*store, "d" + std::to_string(i));
    for (int i = 0; i < 500 && *store->pruned_through() != 4; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    store->close();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options_.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db,
                   "DROP TABLE subscriptions; DROP TABLE trigger_runs; DROP TABLE connections;"
                   "DELETE FROM meta WHERE key = 'pruned_through';"
                   "PRAGMA user_version = 7",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  options_.retention_max_events = 0;
  auto store = open();
  EXPECT_EQ(*store->pruned_through(), 4);
}

TEST_F(SubscriptionStoreTest, AReaderOfAnotherProcessSeesSubscriptionsAndCannotWrite) {
  auto store = open();
  ASSERT_TRUE(store->save_subscription(subscription("sub_a")));
  auto reader = open_sqlite_reader(options_.path);
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ((*reader)->subscriptions()->size(), 1u);
  EXPECT_FALSE((*reader)->save_subscription(subscription("sub_b")));
}

TEST_F(SubscriptionStoreTest, ConnectionStatesAreMadeOnceReplacedAndDeletedFromEitherProcess) {
  auto store = open();
  ASSERT_TRUE(store);
  // The first to make a connection's state keeps it: a second node making its own gets the first.
  auto first = store->save_connection_state("cal", R"({"secret":"a"})", true);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, R"({"secret":"a"})");
  auto second = store->save_connection_state("cal", R"({"secret":"b"})", true);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, R"({"secret":"a"})");
  // `hookmcp connections login` writes beside the server, through a reader's own connection.
  auto reader = open_reader(options_.path, clock_);
  ASSERT_TRUE(reader) << reader.error().message;
  auto replaced = (*reader)->save_connection_state("cal", R"({"secret":"a","refresh":"r"})");
  ASSERT_TRUE(replaced) << replaced.error().message;
  auto states = store->connection_states();
  ASSERT_TRUE(states);
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ(states->at("cal"), R"({"secret":"a","refresh":"r"})");
  ASSERT_TRUE(store->save_connection_state("gh", R"({})"));
  ASSERT_TRUE(store->save_connection_state("cal", ""));
  states = (*reader)->connection_states();
  ASSERT_TRUE(states);
  EXPECT_EQ(states->size(), 1u);
  EXPECT_EQ(states->count("gh"), 1u);
  store->close();
  // Durable: there after reopening.
  auto again = open();
  ASSERT_TRUE(again);
  states = again->connection_states();
  ASSERT_TRUE(states);
  EXPECT_EQ(states->count("gh"), 1u);
}

}  // namespace
}  // namespace hookmcp::store
