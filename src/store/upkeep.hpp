// Private to the store: how an upkeep task on the writer thread (indexing, retention, the health
// probe) reports that it fails. It is retried every second, so one log line for the first
// failure of a run and one for the recovery, and a count of every failed try in /metrics: a
// stopped index or retention shows, and a broken disk does not flood the log.
#pragma once

#include <string>

#include "hookmcp/core/metrics.hpp"

namespace hookmcp::store {

// Writer thread only.
class UpkeepReport {
 public:
  UpkeepReport(StoreTask task, Metrics* metrics) : task_(task), metrics_(metrics) {}

  // One failed try, saying what failed and what it means for the user.
  void failed(const std::string& message);
  // A try that succeeded; logs the recovery after failures.
  void succeeded();
  bool failing() const { return failing_; }

 private:
  const StoreTask task_;
  Metrics* const metrics_;
  bool failing_ = false;
};

}  // namespace hookmcp::store
