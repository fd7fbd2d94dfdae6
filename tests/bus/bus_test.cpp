#include "hookmcp/bus/bus.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

namespace hookmcp::bus {
namespace {

std::vector<Event> events(std::initializer_list<int64_t> ids) {
  std::vector<Event> out;
  for (int64_t id : ids) {
    Event e;
    e.id = id;
    e.source = "s";
    out.push_back(e);
  }
  return out;
}

TEST(BusTest, DeliversToEachSubscriberUntilItsSubscriptionEnds) {
  auto bus = std::make_shared<Bus>();
  std::vector<int64_t> a, b;
  auto sa = bus->subscribe([&](const std::vector<Event>& e) { a.push_back(e.back().id); });
  {
    auto sb = bus->subscribe([&](const std::vector<Event>& e) { b.push_back(e.back().id); });
    bus->publish(events({1, 2}));
  }
  bus->publish(events({3}));
  bus->publish({});
  EXPECT_EQ(a, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(b, (std::vector<int64_t>{2}));
  EXPECT_EQ(bus->last_id(), 3);
}

TEST(BusTest, AHandlerMayUnsubscribeItselfWhileBeingCalled) {
  auto bus = std::make_shared<Bus>();
  int calls = 0;
  Subscription sub;
  sub = bus->subscribe([&](const std::vector<Event>&) {
    ++calls;
    sub.reset();  // the bus's lock is not held during delivery
  });
  bus->publish(events({1}));
  bus->publish(events({2}));
  EXPECT_EQ(calls, 1);
}

TEST(BusTest, PollerPublishesWhatAnotherWriterStores) {
  auto dir = std::filesystem::temp_directory_path() / ("hookmcp-bus-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  SystemClock clock;
  store::Options o;
  o.path = (dir / "events.db").string();
  o.fsync_each_commit = false;
  o.clock = &clock;
  auto writer = store::open_sqlite(o);
  ASSERT_TRUE(writer);
  auto insert = [&](const std::string& delivery) {
    NewEvent e;
    e.source = "ci";
    e.provider = "none";
    e.delivery_id = delivery;
    e.headers_json = "{}";
    e.body = "{}";
    std::promise<void> done;
    (*writer)->insert(e, [&](Result<store::InsertOutcome>) { done.set_value(); });
    done.get_future().wait();
  };
  insert("before");
  // The follower has its own store on the same file, as a second process would.
  auto reader = store::open_sqlite(o);
  ASSERT_TRUE(reader);
  auto bus = std::make_shared<Bus>();
  std::promise<std::vector<int64_t>> got;
  auto sub = bus->subscribe([&](const std::vector<Event>& e) {
    std::vector<int64_t> ids;
    for (const auto& x : e) ids.push_back(x.id);
    got.set_value(ids);
  });
  auto poller = Poller::start(**reader, bus, std::chrono::milliseconds(5));
  ASSERT_TRUE(poller);
  insert("after");
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f.get(), std::vector<int64_t>{2});  // only what was stored after it started
  (*poller)->stop();
  (*reader)->close();
  (*writer)->close();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hookmcp::bus
