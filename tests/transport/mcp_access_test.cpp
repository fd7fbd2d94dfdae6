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

// Nothing may follow an allowed name: the port is digits alone, no userinfo, no suffix.
TEST(McpAccess, HostsAreParsedStrictly) {
  McpAccess a;
  a.allowed_hosts = {"hooks.example.com"};
  for (std::string_view host : {"127.0.0.1:8787.evil.example",
                                "127.0.0.1:.evil.example",
                                "127.0.0.1:",
                                "127.0.0.1:80:80",
                                "127.0.0.1:8787/x",
                                "[::1].evil.example",
                                "[::1]:8787.evil.example",
                                "[::1]evil",
                                "[::1",
                                "[]",
                                "[::1]:",
                                "127.0.0.1@evil.example",
                                "evil.example@127.0.0.1",
                                "user@localhost:8787",
                                "localhost:123456",
                                "localhost:-1",
                                "localhost: 80",
                                "hooks.example.com:443.evil.example",
                                "hooks.example.com@evil.example",
                                "",
                                ":8787"}) {
    EXPECT_EQ(status(a, host), 403) << host;
  }
  EXPECT_EQ(status(a, "127.0.0.1:65535"), std::nullopt);
  EXPECT_EQ(status(a, "[::1]"), std::nullopt);
}

TEST(McpAccess, OriginsAreParsedStrictly) {
  McpAccess a;
  for (std::string_view origin :
       {"http://127.0.0.1:8787@evil.example", "http://127.0.0.1@evil.example",
        "http://user@localhost", "http://127.0.0.1:8787.evil.example", "http://[::1].evil.example",
        "http://localhost:8787/", "http://localhost/path", "http://", "https://", "127.0.0.1",
        "ftp://localhost", "http://localhost:", "http://localhost:80:80"}) {
    EXPECT_EQ(status(a, "localhost", origin), 403) << origin;
  }
  EXPECT_EQ(status(a, "localhost", "http://[::1]:6274"), std::nullopt);
  EXPECT_EQ(status(a, "localhost", "HTTP://LOCALHOST:6274"), std::nullopt);
}

TEST(McpAccess, ParsesAuthorities) {
  auto a = parse_authority("[::1]:8787");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "[::1]");
  EXPECT_EQ(a->port, "8787");
  a = parse_authority("hooks.example.com");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "hooks.example.com");
  EXPECT_EQ(a->port, "");
  EXPECT_FALSE(parse_authority("a b"));
  EXPECT_FALSE(parse_authority(std::string_view("a\0b", 3)));
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
