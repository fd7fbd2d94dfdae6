// The SSE streams' queues against a budget shared by many streams (src/transport/sse.hpp).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "hookmcp/core/metrics.hpp"
#include "sse_stream.hpp"

namespace hookmcp::transport {
namespace {

std::shared_ptr<const std::string> message(size_t bytes) {
  return std::make_shared<const std::string>(bytes, 'x');
}

class SharedBudgetTest : public ::testing::Test {
 protected:
  std::shared_ptr<SseStream> stream(const std::string& id) {
    SseStream::Limits limits;
    limits.budget = budget_;
    auto s = std::make_shared<SseStream>(id, limits, metrics_);
    EXPECT_TRUE(s->attach([] {}, std::nullopt));
    return s;
  }

  Metrics metrics_;
  std::shared_ptr<QueueBudget> budget_ = std::make_shared<QueueBudget>(1000);
};

TEST_F(SharedBudgetTest, TheStreamThatWouldCrossTheBudgetIsCutOffAndTheOthersGoOn) {
  auto a = stream("a");
  auto b = stream("b");
  for (int i = 0; i < 6; ++i) a->push(message(100));
  for (int i = 0; i < 4; ++i) b->push(message(100));
  EXPECT_EQ(budget_->used(), 1000u);
  b->push(message(100));  // no room left: b is cut off, nothing more is queued
  EXPECT_EQ(budget_->used(), 1000u);
  auto from_b = b->take(1);
  EXPECT_TRUE(from_b.overflowed);
  auto from_a = a->take(1);
  EXPECT_FALSE(from_a.overflowed);
  EXPECT_EQ(from_a.bytes.size(), 6 * (std::string("id: a-1\ndata: \n\n").size() + 100));
  EXPECT_EQ(metrics_.notifications_dropped.value(), 1u);
}

TEST_F(SharedBudgetTest, ABatchStaysChargedUntilTheConnectionLetsItGo) {
  auto a = stream("a");
  for (int i = 0; i < 9; ++i) a->push(message(100));
  {
    auto batch = a->take(1);
    EXPECT_EQ(budget_->used(), 900u);  // taken, being written
    auto b = stream("b");
    b->push(message(100));
    b->push(message(100));  // 1,100 bytes: b is cut off while a's batch is written
    EXPECT_TRUE(b->take(1).overflowed);
  }
  EXPECT_EQ(budget_->used(), 0u);
  a->push(message(100));
  EXPECT_EQ(budget_->used(), 100u);
}

TEST_F(SharedBudgetTest, AStreamGoneWithItsQueueGivesItBack) {
  {
    auto a = stream("a");
    for (int i = 0; i < 5; ++i) a->push(message(100));
    EXPECT_EQ(budget_->used(), 500u);
  }
  EXPECT_EQ(budget_->used(), 0u);
}

TEST_F(SharedBudgetTest, AResumingConnectionsReplayIsChargedToo) {
  auto a = stream("a");
  for (int i = 0; i < 8; ++i) a->push(message(100));
  EXPECT_EQ(budget_->used(), 800u);
  // Resumes after event 2: the queue is rebuilt from the replay log, six events.
  auto token = a->attach([] {}, uint64_t{2});
  ASSERT_TRUE(token);
  EXPECT_EQ(budget_->used(), 600u);
  EXPECT_FALSE(a->take(*token).overflowed);
  EXPECT_EQ(budget_->used(), 0u);
  // With another stream holding most of the budget, the replay does not fit: cut off at once.
  auto b = stream("b");
  for (int i = 0; i < 9; ++i) b->push(message(100));
  token = a->attach([] {}, uint64_t{2});
  ASSERT_TRUE(token);
  EXPECT_TRUE(a->take(*token).overflowed);
  EXPECT_LE(budget_->used(), 1000u);
}

}  // namespace
}  // namespace hookmcp::transport
