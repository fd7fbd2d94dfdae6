// New-event fan-out: committed events go to every subscriber.
//
// Fed by the store's commit listener in the process that writes, or by a store::Follower in a
// process that follows a database another process writes. Subscribers are handlers called on the
// publishing thread (the store's writer, or the follower), so a handler must return quickly:
// it queues work for its own threads and never touches the database itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "hookmcp/core/event.hpp"

namespace hookmcp::bus {

// The events of one commit, in id order: summaries, without headers and bodies.
using Handler = std::function<void(const std::vector<Event>& events)>;

class Bus;

// Ends a subscription when destroyed. A delivery that had already started when it ended may
// still reach the handler once, so a handler holds only weak references to its owner.
class Subscription {
 public:
  Subscription() = default;
  Subscription(std::weak_ptr<Bus> bus, uint64_t id) : bus_(std::move(bus)), id_(id) {}
  ~Subscription() { reset(); }
  Subscription(Subscription&& other) noexcept;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  void reset();

 private:
  std::weak_ptr<Bus> bus_;
  uint64_t id_ = 0;
};

// Thread-safe. Create with std::make_shared: subscriptions refer to the bus weakly.
class Bus : public std::enable_shared_from_this<Bus> {
 public:
  [[nodiscard]] Subscription subscribe(Handler handler);

  // Delivers `events` to each subscriber in subscription order. Handlers are copied under the
  // lock and called with it released, so a handler may subscribe or unsubscribe.
  void publish(const std::vector<Event>& events);

  // The highest id published so far (0 before any).
  int64_t last_id() const { return last_id_.load(); }

 private:
  friend class Subscription;
  void unsubscribe(uint64_t id);

  mutable std::mutex mu_;
  uint64_t next_id_ = 1;                                     // guarded by mu_
  std::map<uint64_t, std::shared_ptr<const Handler>> subs_;  // guarded by mu_
  std::atomic<int64_t> last_id_{0};
};

}  // namespace hookmcp::bus
