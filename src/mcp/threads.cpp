#include <spdlog/spdlog.h>

#include "internal.hpp"

namespace hookmcp::mcp {

namespace {

// The last line: a task that throws is a bug, but it must not end the process (and with it
// every session). The tasks that answer requests catch on their own and answer with an error.
void run_task(const std::function<void()>& task) {
  try {
    task();
  } catch (const std::exception& e) {
    spdlog::error("a background task failed: {}", e.what());
  }
}

}  // namespace

// One thread is kept from heavy tasks: four slow searches once held every worker for 16 s, and
// each session's list_events and get_event waited behind them. With a single thread there is
// nothing to keep, and a search may take it.
WorkerPool::WorkerPool(int threads) : heavy_slots_(std::max(1, threads - 1)) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] {
      std::unique_lock lock(mu_);
      for (;;) {
        cv_.wait(lock, [this] {
          return stopping_ || !tasks_.empty() || (!heavy_.empty() && heavy_running_ < heavy_slots_);
        });
        if (stopping_) return;
        // Other tasks first: they are short, and a heavy one waits for a slot anyway.
        bool heavy = tasks_.empty();
        auto& queue = heavy ? heavy_ : tasks_;
        auto task = std::move(queue.front());
        queue.pop_front();
        if (heavy) ++heavy_running_;
        lock.unlock();
        run_task(task);
        task = nullptr;  // outside the lock: what it holds may post again as it goes
        lock.lock();
        if (heavy && --heavy_running_ < heavy_slots_ && !heavy_.empty()) {
          // This thread may take a short task next: an idle one takes the waiting search.
          cv_.notify_one();
        }
      }
    });
  }
}

void WorkerPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

// A heavy task waits rather than being refused, since the client asked a question and expects
// its answer, not an error to retry: each search ahead of it ends by the store's deadline, so
// its wait is bounded. Past kHeavyWaitingPerSlot waiting per slot, the wait could outlast a
// client's request timeout (a minute for common SDKs), and a clear "busy, retry" is better.
bool WorkerPool::post_heavy(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return true;  // dropped, as post() drops it
    if (heavy_.size() >= static_cast<size_t>(heavy_slots_) * kHeavyWaitingPerSlot) return false;
    heavy_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // Dropped here, outside the lock: a task may own things whose destructors post again.
  std::deque<std::function<void()>> dropped;
  std::deque<std::function<void()>> dropped_heavy;
  {
    std::lock_guard lock(mu_);
    dropped.swap(tasks_);
    dropped_heavy.swap(heavy_);
  }
}

Timers::Timers() : thread_([this] { run(); }) {}

uint64_t Timers::schedule(Clock::duration delay, std::function<void()> callback) {
  uint64_t id;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return 0;
    id = next_id_++;
    auto it = queue_.emplace(Clock::now() + delay, std::make_pair(id, std::move(callback)));
    by_id_.emplace(id, it);
  }
  cv_.notify_one();
  return id;
}

void Timers::cancel(uint64_t id) {
  std::function<void()> dropped;
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  dropped = std::move(it->second->second.second);
  queue_.erase(it->second);
  by_id_.erase(it);
}

void Timers::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  decltype(queue_) dropped;
  std::lock_guard lock(mu_);
  dropped.swap(queue_);
  by_id_.clear();
}

void Timers::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = queue_.begin();
    if (first->first > Clock::now()) {
      // A copy: cancel() may erase the entry while this waits.
      const Clock::time_point deadline = first->first;
      cv_.wait_until(lock, deadline);
      continue;
    }
    auto callback = std::move(first->second.second);
    by_id_.erase(first->second.first);
    queue_.erase(first);
    lock.unlock();
    run_task(callback);
    lock.lock();
  }
}

}  // namespace hookmcp::mcp
