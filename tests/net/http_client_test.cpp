#include "hookmcp/net/http_client.hpp"

#include <gtest/gtest.h>

namespace hookmcp::net {
namespace {

TEST(ParseUrl, AcceptsWhatSendIsGiven) {
  struct Case {
    const char* text;
    const char* scheme;
    const char* host;
    uint16_t port;
    const char* target;
  };
  const Case cases[] = {
      {"http://127.0.0.1:8787/hooks/github", "http", "127.0.0.1", 8787, "/hooks/github"},
      {"http://localhost", "http", "localhost", 80, "/"},
      {"https://hooks.example.com/in?token=1", "https", "hooks.example.com", 443, "/in?token=1"},
      {"http://example.com?q=1", "http", "example.com", 80, "/?q=1"},
      {"http://[::1]:9000/x", "http", "::1", 9000, "/x"},
      {"https://[2001:db8::1]/", "https", "2001:db8::1", 443, "/"},
      {"http://h:1/a#fragment", "http", "h", 1, "/a"},
  };
  for (const auto& c : cases) {
    auto url = parse_url(c.text);
    ASSERT_TRUE(url) << c.text << ": " << url.error().message;
    EXPECT_EQ(url->scheme, c.scheme) << c.text;
    EXPECT_EQ(url->host, c.host) << c.text;
    EXPECT_EQ(url->port, c.port) << c.text;
    EXPECT_EQ(url->target, c.target) << c.text;
  }
}

TEST(ParseUrl, RefusesWithAReason) {
  for (const char* text :
       {"", "127.0.0.1:8787/hooks", "ftp://example.com/", "http://", "http://:80/", "http://host:/",
        "http://host:0/", "http://host:65536/", "http://host:8o/", "http://[::1/", "http://[::1]x/",
        "http://user:pw@host/"}) {
    auto url = parse_url(text);
    ASSERT_FALSE(url) << text;
    EXPECT_EQ(url.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(url.error().message.find("URL"), std::string::npos) << text;
  }
}

TEST(HttpRequest, UnreachableIsAnIoError) {
  ClientRequest r;
  r.url = "http://127.0.0.1:1/";
  r.body = "{}";
  auto res = http_request(r);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ErrorCode::kIo);
  EXPECT_NE(res.error().message.find("127.0.0.1:1"), std::string::npos) << res.error().message;
}

TEST(ClientResponse, StatusLine) {
  ClientResponse r;
  r.status = 202;
  r.reason = "Accepted";
  EXPECT_EQ(r.status_line(), "HTTP/1.1 202 Accepted");
  r.version = 10;
  r.reason.clear();
  EXPECT_EQ(r.status_line(), "HTTP/1.0 202");
}

}  // namespace
}  // namespace hookmcp::net
