#include "upkeep.hpp"

#include <spdlog/spdlog.h>

namespace hookmcp::store {

void UpkeepReport::failed(const std::string& message) {
  if (metrics_) metrics_->maintenance_failures(task_).inc();
  if (failing_) return;
  failing_ = true;
  spdlog::error(
      "store: {} (retried every second; hookmcp_store_maintenance_failures_total"
      "{{task=\"{}\"}} counts the tries)",
      message, to_string(task_));
}

void UpkeepReport::succeeded() {
  if (!failing_) return;
  failing_ = false;
  spdlog::info("store: {} works again", to_string(task_));
}

}  // namespace hookmcp::store
