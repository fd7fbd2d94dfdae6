#include "hookmcp/transport/mcp_access.hpp"

#include <gtest/gtest.h>

namespace hookmcp::transport {
namespace {

std::optional<int> status(const McpAccess& a, std::optional<std::string_view> host,
                          std::optional<std::string_view> origin = std::nullopt,
                          std::optional<std::string_view> auth = std::nullopt) {
  auto d = check_mcp_access(a, host, origin, auth);
  return d ? std::optional<int>(d->status) : std::nullopt;
}

TEST(McpAccess, LoopbackHostsByDefault) {
  McpAccess a;
  EXPECT_EQ(status(a, "127.0.0.1:8787"), std::nullopt);
  EXPECT_EQ(status(a, "localhost:8787"), std::nullopt);
  EXPECT_EQ(status(a, "LOCALHOST"), std::nullopt);
  EXPECT_EQ(status(a, "[::1]:8787"), std::nullopt);
  EXPECT_EQ(status(a, "evil.example:8787"), 403);
  EXPECT_EQ(status(a, "127.0.0.1.evil.example"), 403);
  EXPECT_EQ(status(a, std::nullopt), 403);
}

TEST(McpAccess, ConfiguredHosts) {
  McpAccess a;
  a.allowed_hosts = {"hooks.example.com"};
  EXPECT_EQ(status(a, "hooks.example.com"), std::nullopt);
  EXPECT_EQ(status(a, "hooks.example.com:443"), std::nullopt);
  EXPECT_EQ(status(a, "other.example.com"), 403);
}

TEST(McpAccess, Origins) {
  McpAccess a;
  EXPECT_EQ(status(a, "localhost", "http://localhost:6274"), std::nullopt);
  EXPECT_EQ(status(a, "localhost", "http://127.0.0.1"), std::nullopt);
  EXPECT_EQ(status(a, "localhost", "https://evil.example"), 403);
  EXPECT_EQ(status(a, "localhost", "http://localhost.evil.example"), 403);
  EXPECT_EQ(status(a, "localhost", "null"), 403);
  a.allowed_origins = {"https://app.example"};
  EXPECT_EQ(status(a, "localhost", "https://app.example"), std::nullopt);
}

TEST(McpAccess, BearerTokens) {
  McpAccess a;
  a.tokens = {"old-token", "new-token"};
  EXPECT_EQ(status(a, "localhost"), 401);
  EXPECT_EQ(status(a, "localhost", std::nullopt, "Bearer wrong"), 401);
  EXPECT_EQ(status(a, "localhost", std::nullopt, "Basic bmV3LXRva2Vu"), 401);
  EXPECT_EQ(status(a, "localhost", std::nullopt, "Bearer new-token"), std::nullopt);
  EXPECT_EQ(status(a, "localhost", std::nullopt, "bearer old-token"), std::nullopt);
  // Host and Origin are checked first: a token does not open a foreign origin.
  EXPECT_EQ(status(a, "localhost", "https://evil.example", "Bearer new-token"), 403);
}

}  // namespace
}  // namespace hookmcp::transport
