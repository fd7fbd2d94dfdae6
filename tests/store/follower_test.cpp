#include "hookmcp/store/follower.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <mutex>

#include "support/temp_dir.hpp"

namespace hookmcp::store {
namespace {

class FollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hookmcp::testing::fresh_test_directory("follower");
    options_.path = (dir_ / "events.db").string();
    options_.fsync_each_commit = false;
    options_.clock = &clock_;
    auto writer = open_sqlite(options_);
    ASSERT_TRUE(writer) << writer.error().message;
    writer_ = std::move(*writer);
  }
  void TearDown() override {
    if (writer_) writer_->close();
    std::filesystem::remove_all(dir_);
  }

  void insert(const std::string& source, const std::string& delivery) {
    NewEvent e;
    e.source = source;
    e.provider = "none";
    e.delivery_id = delivery;
    e.headers_json = "{}";
    e.body = "{}";
    std::promise<void> done;
    writer_->insert(e, [&](Result<InsertOutcome>) { done.set_value(); });
    done.get_future().wait();
  }

  // The ids a follower hands on, and a promise kept once `want` of them have come.
  struct Seen {
    std::mutex mu;
    std::vector<int64_t> ids;
    size_t want = 0;
    std::promise<void> enough;
    void add(const std::vector<Event>& events) {
      std::lock_guard lock(mu);
      for (const auto& e : events) ids.push_back(e.id);
      if (want != 0 && ids.size() >= want) {
        enough.set_value();
        want = 0;
      }
    }
  };

  std::filesystem::path dir_;
  SystemClock clock_;
  Options options_;
  std::unique_ptr<Store> writer_;
};

TEST_F(FollowerTest, HandsOnWhatAnotherWriterStores) {
  insert("ci", "before");
  // The follower has its own store on the same file, as a second process would.
  auto reader = open_sqlite(options_);
  ASSERT_TRUE(reader);
  Seen seen;
  seen.want = 1;
  FollowOptions follow;
  follow.interval = std::chrono::milliseconds(5);
  auto follower =
      Follower::start(**reader, follow, [&](const std::vector<Event>& e) { seen.add(e); });
  ASSERT_TRUE(follower);
  insert("ci", "after");
  auto f = seen.enough.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  (*follower)->stop();
  EXPECT_EQ(seen.ids, std::vector<int64_t>{2});  // only what was stored after it started
  (*reader)->close();
}

TEST_F(FollowerTest, HandsOnWhatItsFilterMatchesAfterTheIdItWasGiven) {
  insert("ci", "a");     // 1
  insert("other", "b");  // 2
  insert("ci", "c");     // 3
  auto reader = open_sqlite_reader(options_.path);
  ASSERT_TRUE(reader);
  Seen seen;
  seen.want = 3;
  FollowOptions follow;
  follow.interval = std::chrono::milliseconds(5);
  follow.filter.source = "ci";
  follow.page = 1;  // a page at a time
  follow.after_id = 1;
  auto follower =
      Follower::start(**reader, follow, [&](const std::vector<Event>& e) { seen.add(e); });
  ASSERT_TRUE(follower);
  insert("other", "d");  // 4
  insert("ci", "e");     // 5
  insert("ci", "f");     // 6
  auto f = seen.enough.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  (*follower)->stop();
  EXPECT_EQ(seen.ids, (std::vector<int64_t>{3, 5, 6}));
}

}  // namespace
}  // namespace hookmcp::store
