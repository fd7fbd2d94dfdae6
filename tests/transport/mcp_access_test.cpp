#include "hookmcp/transport/mcp_access.hpp"

#include <gtest/gtest.h>

namespace hookmcp::transport {
namespace {

std::optional<int> status(const McpAccess& a, std::optional<std::string_view> host,
                          std::optional<std::string_view> origin = std::nullopt,
                          std::optional<std::string_view> auth = std::nullopt) {
  if (auto d = check_host_and_origin(a, host, origin)) return d->status;
  auto who = authenticate(a, auth, "local");
  if (auto* d = std::get_if<Denial>(&who)) return d->status;
  return std::nullopt;
}

std::string principal(const McpAccess& a, std::optional<std::string_view> auth) {
  auto who = authenticate(a, auth, "local");
  return std::holds_alternative<Caller>(who) ? std::get<Caller>(who).principal : "(refused)";
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
  auto who = authenticate(a, std::nullopt, "local");
  ASSERT_TRUE(std::holds_alternative<Denial>(who));
  EXPECT_EQ(std::get<Denial>(who).www_authenticate, kBearerChallenge);
}

TEST(McpAccess, PrincipalsOfTokens) {
  McpAccess a;
  EXPECT_EQ(principal(a, std::nullopt), "local");  // no token needed
  a.tokens = {"t1", "t2", "t3"};
  a.principals = {"alice", "bob"};
  EXPECT_EQ(principal(a, "Bearer t1"), "alice");
  EXPECT_EQ(principal(a, "Bearer t2"), "bob");
  EXPECT_EQ(principal(a, "Bearer t3"), "token-3");
  EXPECT_EQ(principal(a, "Bearer t4"), "(refused)");
  auto who = authenticate(a, "Bearer t1", "local");
  EXPECT_TRUE(std::get<Caller>(who).may_write);
}

}  // namespace
}  // namespace hookmcp::transport
