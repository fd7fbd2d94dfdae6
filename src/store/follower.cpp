#include "hookmcp/store/follower.hpp"

#include <algorithm>

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
  return std::unique_ptr<Follower>(
      new Follower(store, std::move(options), std::move(listener), std::move(trouble), after));
}

Follower::Follower(Store& store, FollowOptions options, CommitListener listener,
                   FollowTrouble trouble, int64_t last_id)
    : store_(store),
      options_(std::move(options)),
      listener_(std::move(listener)),
      trouble_(std::move(trouble)),
      last_id_(last_id),
      thread_([this](const std::stop_token& stop) { run(stop); }) {}

void Follower::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void Follower::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    report(follow_once(stop));
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, stop, options_.interval, [] { return false; });
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
