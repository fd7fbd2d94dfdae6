#include "hookmcp/bus/bus.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace hookmcp::bus
