#include "hookmcp/core/metrics.hpp"

#include <gtest/gtest.h>

namespace hookmcp {
namespace {

TEST(Metrics, RendersCountersWithHelpAndType) {
  Metrics m;
  m.webhooks_received.inc(3);
  m.reject(RejectReason::kSignature);
  std::string text = m.render_prometheus();
  EXPECT_NE(text.find("# TYPE hookmcp_webhooks_received_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("hookmcp_webhooks_received_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("hookmcp_webhooks_rejected_total{reason=\"signature\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("hookmcp_webhooks_rejected_total{reason=\"too_large\"} 0\n"),
            std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Histogram h({1, 10});
  h.observe(0.5);
  h.observe(5);
  h.observe(50);
  std::string out;
  h.render(out, "x");
  EXPECT_NE(out.find("x_bucket{le=\"1\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_bucket{le=\"10\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_sum 55.5\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_count 3\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace hookmcp
