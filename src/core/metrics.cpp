#include "hookmcp/core/metrics.hpp"

#include <cstdio>

namespace hookmcp {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1) {}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

namespace {

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void prometheus_header(std::string& out, std::string_view name, std::string_view type,
                       std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void prometheus_sample(std::string& out, std::string_view name, std::string_view labels,
                       double value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(format_number(value)).append("\n");
}

std::string prometheus_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::shared_ptr<void> Metrics::add_renderer(Renderer render) {
  std::list<Renderer>::iterator it;
  {
    std::lock_guard lock(renderers_mu_);
    it = renderers_.insert(renderers_.end(), std::move(render));
  }
  return std::shared_ptr<void>(nullptr, [this, it](void*) {
    std::lock_guard lock(renderers_mu_);
    renderers_.erase(it);
  });
}

void Histogram::render(std::string& out, std::string_view name) const {
  std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    std::string le = i < bounds_.size() ? format_number(bounds_[i]) : "+Inf";
    prometheus_sample(out, bucket, "le=\"" + le + "\"", static_cast<double>(cumulative));
  }
  prometheus_sample(out, std::string(name) + "_sum", "", sum_.load(std::memory_order_relaxed));
  prometheus_sample(out, std::string(name) + "_count", "",
                    static_cast<double>(count_.load(std::memory_order_relaxed)));
}

std::string_view to_string(RejectReason reason) {
  switch (reason) {
    case RejectReason::kSignature:
      return "signature";
    case RejectReason::kUnknownSource:
      return "unknown_source";
    case RejectReason::kTooLarge:
      return "too_large";
    case RejectReason::kOverloaded:
      return "overloaded";
    case RejectReason::kStorage:
      return "storage";
    case RejectReason::kBadRequest:
      return "bad_request";
    case RejectReason::kOrigin:
      return "origin";
    case RejectReason::kSenderKeys:
      return "sender_keys";
    case RejectReason::kCount_:
      break;
  }
  return "unknown";
}

std::string_view to_string(StoreTask task) {
  switch (task) {
    case StoreTask::kIndex:
      return "index";
    case StoreTask::kRetention:
      return "retention";
    case StoreTask::kProbe:
      return "probe";
    case StoreTask::kCount_:
      break;
  }
  return "unknown";
}

std::string Metrics::render_prometheus() const {
  std::string out;
  auto counter = [&out](std::string_view name, std::string_view help, const Counter& c) {
    prometheus_header(out, name, "counter", help);
    prometheus_sample(out, name, "", static_cast<double>(c.value()));
  };
  counter("hookmcp_webhooks_received_total", "Webhook deliveries received.", webhooks_received);
  counter("hookmcp_webhooks_stored_total", "Webhook deliveries committed to the store.",
          webhooks_stored);
  counter("hookmcp_webhooks_duplicate_total",
          "Deliveries already stored (same source and delivery id).", webhooks_duplicate);
  counter("hookmcp_webhooks_filtered_total", "Deliveries dropped by a source's ignore_types.",
          webhooks_filtered);

  prometheus_header(out, "hookmcp_webhooks_rejected_total", "counter",
                    "Deliveries refused, by reason.");
  for (size_t i = 0; i < webhooks_rejected.size(); ++i) {
    std::string labels = "reason=\"";
    labels.append(to_string(static_cast<RejectReason>(i))).append("\"");
    prometheus_sample(out, "hookmcp_webhooks_rejected_total", labels,
                      static_cast<double>(webhooks_rejected[i].value()));
  }

  prometheus_header(out, "hookmcp_intake_latency_seconds", "histogram",
                    "Time from a delivery's last byte to its answer.");
  intake_latency_seconds.render(out, "hookmcp_intake_latency_seconds");
  prometheus_header(out, "hookmcp_commit_batch_size", "histogram", "Events per store commit.");
  commit_batch_size.render(out, "hookmcp_commit_batch_size");

  prometheus_header(out, "hookmcp_mcp_sessions", "gauge", "Open MCP sessions.");
  prometheus_sample(out, "hookmcp_mcp_sessions", "", static_cast<double>(mcp_sessions.value()));
  counter("hookmcp_notifications_sent_total", "MCP notifications sent.", notifications_sent);
  counter("hookmcp_notifications_dropped_total",
          "MCP notifications dropped because a client's queue was full.", notifications_dropped);
  counter("hookmcp_mcp_requests_abandoned_total",
          "MCP requests cancelled because their client left and did not resume.",
          mcp_requests_abandoned);
  counter("hookmcp_search_timeouts_total",
          "Full-text searches stopped at their deadline (the tool answers: narrow the search).",
          search_timeouts);
  counter("hookmcp_searches_cancelled_total",
          "Full-text searches stopped because their tool call was cancelled.", searches_cancelled);
  counter("hookmcp_searches_busy_total",
          "Full-text searches refused because every search slot was busy and the queue full.",
          searches_busy);
  counter("hookmcp_search_snippets_bounded_total",
          "Search excerpts made from the first matches or bytes of a field only.",
          search_snippets_bounded);

  prometheus_header(out, "hookmcp_store_maintenance_failures_total", "counter",
                    "Store upkeep steps that failed, by task (each is retried a second later).");
  for (size_t i = 0; i < store_maintenance_failures.size(); ++i) {
    std::string labels = "task=\"";
    labels.append(to_string(static_cast<StoreTask>(i))).append("\"");
    prometheus_sample(out, "hookmcp_store_maintenance_failures_total", labels,
                      static_cast<double>(store_maintenance_failures[i].value()));
  }
  counter("hookmcp_store_bind_failures_total",
          "Store statements refused because a value could not be bound to them.",
          store_bind_failures);

  counter("hookmcp_outbound_delivered_total",
          "Outbound deliveries (MCP Events webhooks) answered 2xx by their receiver.",
          outbound_delivered);
  counter("hookmcp_outbound_failed_total",
          "Outbound delivery attempts that failed (no answer, or not 2xx); each is retried.",
          outbound_failed);
  counter("hookmcp_outbound_retried_total", "Outbound delivery attempts that retried a failed one.",
          outbound_retried);
  counter("hookmcp_outbound_given_up_total",
          "Outbound messages given up after their last attempt (dead trigger runs).",
          outbound_given_up);
  prometheus_header(out, "hookmcp_outbound_lag_seconds", "histogram",
                    "Time from an event's commit to its receiver's 2xx.");
  outbound_lag_seconds.render(out, "hookmcp_outbound_lag_seconds");
  prometheus_header(out, "hookmcp_outbound_subscriptions", "gauge",
                    "Subscriptions being delivered to.");
  prometheus_sample(out, "hookmcp_outbound_subscriptions", "",
                    static_cast<double>(outbound_subscriptions.value()));
  prometheus_header(out, "hookmcp_outbound_failing_subscriptions", "gauge",
                    "Subscriptions whose last delivery attempt failed (retrying with backoff).");
  prometheus_sample(out, "hookmcp_outbound_failing_subscriptions", "",
                    static_cast<double>(outbound_failing_subscriptions.value()));

  {
    std::lock_guard lock(renderers_mu_);
    for (const auto& render : renderers_) render(out);
  }
  std::lock_guard lock(limits_mu_);
  if (!limits_.empty()) {
    prometheus_header(out, "hookmcp_limit", "gauge", "Limits in force, by name (README: Limits).");
    for (const auto& [name, value] : limits_)
      prometheus_sample(out, "hookmcp_limit", "name=\"" + name + "\"", value);
  }
  return out;
}

void Metrics::set_limit(std::string name, double value) {
  std::lock_guard lock(limits_mu_);
  limits_[std::move(name)] = value;
}

}  // namespace hookmcp
