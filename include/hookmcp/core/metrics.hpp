// Process-wide counters for GET /metrics (Prometheus text format 0.0.4).
// Every member is safe to update from any thread; the counters are lock-free.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hookmcp {

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void set(int64_t n) { value_.store(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Cumulative buckets with fixed upper bounds, as Prometheus expects.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Appends the _bucket, _sum and _count lines for `name`.
  void render(std::string& out, std::string_view name) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<uint64_t>> counts_;  // one per bound, plus +Inf
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// Why intake refused a delivery; each is one label value of hookmcp_webhooks_rejected_total.
enum class RejectReason {
  kSignature,
  kUnknownSource,
  kTooLarge,
  kOverloaded,
  kStorage,
  kBadRequest,  // malformed HTTP, answered 400, 431, 501 or 505
  kOrigin,      // an unsigned source posted to with a foreign Host or Origin
  kSenderKeys,  // the sender's keys or certificate could not be fetched: answered 503
  kCount_,
};
std::string_view to_string(RejectReason reason);

// The store's upkeep between commits; each is one label value of
// hookmcp_store_maintenance_failures_total.
enum class StoreTask {
  kIndex,      // full-text indexing of what was committed
  kRetention,  // pruning past the age or count limit
  kProbe,      // the commit that tries the database again after a failed one
  kCount_,
};
std::string_view to_string(StoreTask task);

// The Prometheus text format's lines: a metric's HELP and TYPE, and one sample of it (labels as
// `name="value",...`, escaped by the caller; see prometheus_label).
void prometheus_header(std::string& out, std::string_view name, std::string_view type,
                       std::string_view help);
void prometheus_sample(std::string& out, std::string_view name, std::string_view labels,
                       double value);
// `value` as a label value: backslash, double quote and newline escaped.
std::string prometheus_label(std::string_view value);

struct Metrics {
  Counter webhooks_received;
  Counter webhooks_stored;
  Counter webhooks_duplicate;
  Counter webhooks_filtered;
  std::array<Counter, static_cast<size_t>(RejectReason::kCount_)> webhooks_rejected;
  Histogram intake_latency_seconds{
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}};
  Histogram commit_batch_size{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};
  Gauge mcp_sessions;
  Counter notifications_sent;
  Counter notifications_dropped;
  // Limits of full-text search as they trip (README: Limits).
  Counter search_timeouts;          // stopped at the store's search deadline
  Counter searches_cancelled;       // stopped because their tool call was cancelled
  Counter searches_busy;            // refused: every search slot busy and the queue full
  Counter search_snippets_bounded;  // excerpts made from a bounded part of a large match

  Counter mcp_requests_abandoned;  // cancelled because their client left and did not resume

  // Store upkeep steps that failed (each retried a second later), and statements refused
  // because a value could not be bound to them.
  std::array<Counter, static_cast<size_t>(StoreTask::kCount_)> store_maintenance_failures;
  Counter store_bind_failures;
  // Outbound deliveries (MCP Events webhook subscriptions): POSTs answered 2xx, attempts that
  // failed, attempts that retried a failed one, and the time from commit to a receiver's 2xx.
  Counter outbound_delivered;
  Counter outbound_failed;
  Counter outbound_retried;
  Counter outbound_given_up;  // messages given up after their last attempt (trigger runs)
  Histogram outbound_lag_seconds{
      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10, 60, 600, 3600}};
  Gauge outbound_subscriptions;          // subscriptions being delivered to
  Gauge outbound_failing_subscriptions;  // of those, the ones whose last attempt failed

  void reject(RejectReason reason) { webhooks_rejected[static_cast<size_t>(reason)].inc(); }
  Counter& maintenance_failures(StoreTask task) {
    return store_maintenance_failures[static_cast<size_t>(task)];
  }
  // A limit in force, shown as hookmcp_limit{name="..."} so that an operator can see what a
  // refusal ran into. Thread-safe; set by the component that enforces it.
  void set_limit(std::string name, double value);
  // Samples a part renders itself at each scrape, in the Prometheus text format (with
  // prometheus_header and prometheus_sample): labels only it knows, such as trigger names.
  // Called under a lock of this object's: it must not add renderers. Keep the returned handle
  // while the renderer may be called; destroying it removes the renderer.
  using Renderer = std::function<void(std::string& out)>;
  [[nodiscard]] std::shared_ptr<void> add_renderer(Renderer render);
  std::string render_prometheus() const;

 private:
  mutable std::mutex renderers_mu_;
  std::list<Renderer> renderers_;  // guarded by renderers_mu_
  mutable std::mutex limits_mu_;
  std::map<std::string, double> limits_;  // guarded by limits_mu_
};

}  // namespace hookmcp
