#include "hookmcp/core/event.hpp"

#include <gtest/gtest.h>

#include "hookmcp/core/headers.hpp"

namespace hookmcp {
namespace {

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(1'795'936'000'123), "2026-11-29T07:06:40.123Z");
  EXPECT_EQ(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Headers, LookupIgnoresCaseAndKeepsFirst) {
  Headers h;
  h.add("X-GitHub-Event", "push");
  h.add("x-github-event", "second");
  EXPECT_EQ(h.get("x-github-EVENT"), "push");
  EXPECT_FALSE(h.get("X-Missing").has_value());
}

}  // namespace
}  // namespace hookmcp
