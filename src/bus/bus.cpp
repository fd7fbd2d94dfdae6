#include "hookmcp/bus/bus.hpp"

#include <spdlog/spdlog.h>

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

Result<std::unique_ptr<Poller>> Poller::start(store::Store& store, std::shared_ptr<Bus> bus,
                                              std::chrono::milliseconds interval) {
  auto max = store.max_id();
  if (!max) return max.error();
  return std::unique_ptr<Poller>(new Poller(store, std::move(bus), interval, *max));
}

Poller::Poller(store::Store& store, std::shared_ptr<Bus> bus, std::chrono::milliseconds interval,
               int64_t last_id)
    : store_(store), bus_(std::move(bus)), interval_(interval), last_id_(last_id) {
  thread_ = std::thread([this] { run(); });
}

Poller::~Poller() { stop(); }

void Poller::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Poller::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    poll_once();
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

void Poller::poll_once() {
  // max_id is one indexed lookup, so an idle poll costs next to nothing.
  auto max = store_.max_id();
  if (!max) {
    spdlog::warn("following the database: {}", max.error().message);
    return;
  }
  if (*max < last_id_) last_id_ = *max;  // the file was replaced or pruned to empty
  while (*max > last_id_) {
    store::EventFilter page;
    page.after_id = last_id_;
    page.oldest_first = true;
    page.limit = 500;
    auto events = store_.list(page);
    if (!events) {
      spdlog::warn("following the database: {}", events.error().message);
      return;
    }
    if (events->empty()) break;
    last_id_ = events->back().id;
    bus_->publish(*events);
  }
}

}  // namespace hookmcp::bus
