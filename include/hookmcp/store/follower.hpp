// Following a database that another process writes: the second source of "events committed",
// beside the writer's commit listeners. `hookmcp stdio` follows the process that holds the
// listener this way, and `hookmcp events tail` follows the server.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "hookmcp/core/os.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::store {

struct FollowOptions {
  // The database's file: its directory is watched (core/os.hpp), so that a commit of the other
  // process wakes the follower within a millisecond or two of becoming visible. Empty, or where
  // there is no watch: the follower looks every `interval`.
  std::string watch_path;
  std::chrono::milliseconds interval{25};  // between looks at the store without a watch
  // With a watch: between looks when nothing is written, for a change the watch could not see.
  std::chrono::milliseconds watched_interval{250};
  // Which events to hand on; its id bounds, order and limit are the follower's own.
  EventFilter filter;
  int page = 500;  // events asked for at a time
  // Hand on the events after this id; unset: after the highest id at start, so that only events
  // stored from then on are handed on.
  std::optional<int64_t> after_id;
};

// Told of a look at the store that failed, with its error, when it is the first of a run of
// failures or fails otherwise than the one before; and, with no error, of the first look that
// succeeds after failures. Unset: both are logged.
using FollowTrouble = std::function<void(const std::optional<Error>&)>;

// Asks the store for the events above the last one it handed on, and hands them, a page at a
// time in id order, to a listener shaped like a CommitListener: after each write to the
// database's files (FollowOptions::watch_path), else on a timer.
// Owns one thread, on which the listener and the trouble callback run: they must return
// quickly, and may not stop() the follower. stop() from any thread.
class Follower {
 public:
  static Result<std::unique_ptr<Follower>> start(Store& store, FollowOptions options,
                                                 CommitListener listener,
                                                 FollowTrouble trouble = {});
  ~Follower() { stop(); }
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // Stops and joins the thread; the listener is not called after it returns. Idempotent.
  void stop();

 private:
  Follower(Store& store, FollowOptions options, CommitListener listener, FollowTrouble trouble,
           int64_t last_id, std::unique_ptr<DirectoryWatch> watch);
  void run(const std::stop_token& stop);
  // Hands on everything above last_id_ that the filter matches, a page at a time.
  Status follow_once(const std::stop_token& stop);
  void report(const Status& status);

  Store& store_;
  const FollowOptions options_;
  const CommitListener listener_;
  const FollowTrouble trouble_;
  int64_t last_id_;                              // follower thread only
  std::optional<std::string> error_;             // follower thread only: the last look's failure
  const std::unique_ptr<DirectoryWatch> watch_;  // null: looks on a timer
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::jthread thread_;  // last: it uses the members above
};

}  // namespace hookmcp::store
