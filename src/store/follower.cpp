#include "hookmcp/store/follower.hpp"

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

namespace hookmcp::store {

Result<std::unique_ptr<Follower>> Follower::start(Store& store, FollowOptions options,
                                                  CommitListener listener, FollowTrouble trouble) {
  int64_t after = 0;
  if (options.after_id) {
    after = *options.after_id;
  } else {
    auto max = store.max_id();
    if (!max) return max.error();
    after = *max;
  }
  std::unique_ptr<DirectoryWatch> watch;
  std::error_code ec;
  std::filesystem::path file = std::filesystem::absolute(options.watch_path, ec);
  if (!options.watch_path.empty() && !ec) {
    // The commits land in the -wal file; the database file itself changes at checkpoints and
    // when the -wal file is new.
    auto opened = DirectoryWatch::open(
        file.parent_path().string(), {file.filename().string(), file.filename().string() + "-wal"});
    if (opened) {
      watch = std::move(*opened);
    } else {
      spdlog::debug("following {} every {} ms: {}", options.watch_path, options.interval.count(),
                    opened.error().message);
    }
  }
  return std::unique_ptr<Follower>(new Follower(store, std::move(options), std::move(listener),
                                                std::move(trouble), after, std::move(watch)));
}

Follower::Follower(Store& store, FollowOptions options, CommitListener listener,
                   FollowTrouble trouble, int64_t last_id, std::unique_ptr<DirectoryWatch> watch)
    : store_(store),
      options_(std::move(options)),
      listener_(std::move(listener)),
      trouble_(std::move(trouble)),
      last_id_(last_id),
      watch_(std::move(watch)),
      thread_([this](const std::stop_token& stop) { run(stop); }) {}

void Follower::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void Follower::run(const std::stop_token& stop) {
  if (!watch_) {
    while (!stop.stop_requested()) {
      report(follow_once(stop));
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, stop, options_.interval, [] { return false; });
    }
    return;
  }
  // A write to the -wal file comes before its commit is visible: the frames are written, then
  // (durability full) synced, and only then does the commit count. So after each write the
  // follower looks every millisecond for a while (kSettle, longer than a slow disk's sync), and
  // finds the commit within a millisecond of it becoming visible; without writes it looks only
  // every watched_interval.
  using Clock = std::chrono::steady_clock;
  constexpr auto kSettle = std::chrono::milliseconds(200);
  constexpr auto kStep = std::chrono::milliseconds(1);
  std::stop_callback wake_on_stop(stop, [this] { watch_->interrupt(); });
  Clock::time_point settle_until{};
  while (!stop.stop_requested()) {
    report(follow_once(stop));
    bool settling = Clock::now() < settle_until;
    if (watch_->wait(settling ? kStep : options_.watched_interval)) {
      settle_until = Clock::now() + kSettle;
    }
  }
}

Status Follower::follow_once(const std::stop_token& stop) {
  // max_id is one indexed lookup, so an idle look costs next to nothing.
  auto max = store_.max_id();
  if (!max) return max.error();
  if (*max < last_id_) last_id_ = *max;  // the file was replaced or pruned to empty
  EventFilter page = options_.filter;
  page.oldest_first = true;
  page.limit = options_.page;
  // Up to the highest id seen: every event at or below it is committed (one writer at a time
  // assigns the ids), so once those are read, what the filter left out need not be read again.
  page.before_id = std::min(options_.filter.before_id.value_or(INT64_MAX), *max + 1);
  while (*max > last_id_ && !stop.stop_requested()) {
    page.after_id = std::max(options_.filter.after_id.value_or(0), last_id_);
    auto events = store_.list(page);
    if (!events) return events.error();
    if (events->size() < static_cast<size_t>(options_.page)) {
      if (!events->empty()) listener_(*events);
      last_id_ = *max;
      break;
    }
    last_id_ = events->back().id;
    listener_(*events);
  }
  return {};
}

void Follower::report(const Status& status) {
  if (status.ok()) {
    if (!error_) return;
    error_.reset();
    if (trouble_) {
      trouble_(std::nullopt);
    } else {
      spdlog::info("following the database again");
    }
    return;
  }
  if (error_ == status.error().message) return;
  error_ = status.error().message;
  if (trouble_) {
    trouble_(status.error());
  } else {
    spdlog::warn("following the database: {} (retrying)", status.error().message);
  }
}

}  // namespace hookmcp::store
