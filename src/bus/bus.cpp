#include "hookmcp/bus/bus.hpp"

namespace hookmcp::bus {

Subscription::Subscription(Subscription&& other) noexcept
    : bus_(std::move(other.bus_)), id_(other.id_) {
  other.id_ = 0;
}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    bus_ = std::move(other.bus_);
    id_ = other.id_;
    other.id_ = 0;
  }
  return *this;
}

void Subscription::reset() {
  if (id_ == 0) return;
  if (auto bus = bus_.lock()) bus->unsubscribe(id_);
  id_ = 0;
  bus_.reset();
}

Subscription Bus::subscribe(Handler handler) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  subs_.emplace(id, std::make_shared<const Handler>(std::move(handler)));
  return Subscription(weak_from_this(), id);
}

void Bus::unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  subs_.erase(id);
}

void Bus::publish(const std::vector<Event>& events) {
  if (events.empty()) return;
  int64_t last = events.back().id;
  int64_t seen = last_id_.load();
  while (seen < last && !last_id_.compare_exchange_weak(seen, last)) {
  }
  std::vector<std::shared_ptr<const Handler>> handlers;
  {
    std::lock_guard lock(mu_);
    handlers.reserve(subs_.size());
    for (const auto& [id, handler] : subs_) handlers.push_back(handler);
  }
  for (const auto& handler : handlers) (*handler)(events);
}

}  // namespace hookmcp::bus
