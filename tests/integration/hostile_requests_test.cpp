// Hostile and malformed requests against the real `hookmcp serve`, as raw bytes
// over TCP: each test is one way a client, a proxy or a web page could get past
// what the listener and intake check.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace hookmcp::testing {
namespace {

using nlohmann::json;

// One HTTP response as raw_exchange saw it.
struct Answer {
  int status = 0;
  std::string head;
  std::string body;
  size_t responses = 0;  // status lines seen: more than one means a request was smuggled
};

Answer parse_answer(const std::string& raw) {
  Answer a;
  for (size_t at = 0; (at = raw.find("HTTP/1.", at)) != std::string::npos; ++at) {
    if (at == 0 || raw.compare(at - 2, 2, "\r\n") == 0 || raw[at - 1] == '}') ++a.responses;
  }
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return a;
  a.status = std::stoi(raw.substr(9, 3));
  auto end = raw.find("\r\n\r\n");
  a.head = raw.substr(0, end);
  if (end != std::string::npos) a.body = raw.substr(end + 4);
  return a;
}

std::string error_of(const Answer& a) {
  json body = json::parse(a.body, nullptr, false);
  return body.is_object() ? body.value("error", "") : "";
}

class HostileRequestsTest : public ::testing::Test {
 protected:
  void start(const json& config = nullptr) {
    std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0", "--db",
                                     dir_.file("events.db")};
    if (!config.is_null()) {
      std::ofstream(dir_.file("config.json")) << config.dump();
      args.push_back("--config");
      args.push_back(dir_.file("config.json"));
    }
    server_ = std::make_unique<Process>(hookmcp_binary(), args);
    port_ = server_->wait_for_port().value_or(0);
    ASSERT_NE(port_, 0) << server_->stderr_text();
    host_ = "127.0.0.1:" + std::to_string(port_);
  }

  Answer exchange(const std::string& bytes) { return parse_answer(raw_exchange(port_, bytes)); }

  // A POST to `target` with these extra header lines, closing after the answer.
  Answer post(const std::string& target, const std::string& body,
              const std::string& extra_headers = "") {
    return exchange("POST " + target + " HTTP/1.1\r\nHost: " + host_ +
                    "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n" + extra_headers + "\r\n" + body);
  }

  std::optional<int64_t> metric(const std::string& name) {
    HttpClient client(port_);
    auto r = client.get("/metrics");
    auto at = r.body.find("\n" + name + " ");
    if (at == std::string::npos) return std::nullopt;
    return std::stoll(r.body.substr(at + name.size() + 2));
  }

  int64_t stored() { return metric("hookmcp_webhooks_stored_total").value_or(-1); }
  int64_t rejected(const std::string& reason) {
    return metric("hookmcp_webhooks_rejected_total{reason=\"" + reason + "\"}").value_or(-1);
  }

  TempDir dir_;
  std::unique_ptr<Process> server_;
  int port_ = 0;
  std::string host_;
};

// A signature header sent twice is refused even when its first copy verifies
// (README).
TEST_F(HostileRequestsTest, RepeatedSignatureHeaderIsRefusedNamingIt) {
  start(json{{"sources",
              {{"gh", {{"provider", "github"}, {"secrets", {"It's a Secret to Everybody"}}}}}}});
  const std::string good =
      "X-Hub-Signature-256: "
      "sha256="
      "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\r\n";
  auto twice = post("/hooks/gh", "Hello, World!",
                    good + "x-hub-signature-256: sha256=" + std::string(64, '0') + "\r\n");
  EXPECT_EQ(twice.status, 401) << twice.body;
  EXPECT_NE(error_of(twice).find("X-Hub-Signature-256"), std::string::npos) << twice.body;
  EXPECT_EQ(post("/hooks/gh", "Hello, World!", good + good).status, 401);
  EXPECT_EQ(stored(), 0);
  EXPECT_EQ(post("/hooks/gh", "Hello, World!", good).status, 202);
}

// "." and ".." are not source names, however they are written.
TEST_F(HostileRequestsTest, DotSegmentsAreNotSources) {
  start();
  for (const char* target : {"/hooks/..", "/hooks/.", "/hooks/%2e%2e", "/hooks/%2E%2E",
                             "/hooks/.%2e", "/hooks/%2e", "/hooks/../x", "/hooks/%2e%2e%2fx"}) {
    auto a = post(target, "{}");
    EXPECT_EQ(a.status, 404) << target << a.head;
    EXPECT_NE(error_of(a).find("source name"), std::string::npos) << target << a.body;
  }
  EXPECT_EQ(stored(), 0);
  EXPECT_EQ(rejected("unknown_source"), 8);
}

// An Origin is scheme://host[:port] and nothing more: what follows a loopback
// name makes it another site's.
TEST_F(HostileRequestsTest, LookalikeOriginsAreRefusedOnMcp) {
  start();
  const std::string initialize =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
      R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";
  const std::string mcp_headers =
      "Content-Type: application/json\r\nAccept: "
      "application/json, text/event-stream\r\n";
  for (const std::string& origin :
       {"http://" + host_ + "@evil.example", "http://" + host_ + ".evil.example",
        std::string("http://[::1].evil.example"), "http://user@" + host_}) {
    auto a = post("/mcp", initialize, mcp_headers + "Origin: " + origin + "\r\n");
    EXPECT_EQ(a.status, 403) << origin << ": " << a.head << a.body;
  }
  auto local = post("/mcp", initialize, mcp_headers + "Origin: http://" + host_ + "\r\n");
  EXPECT_EQ(local.status, 200) << local.head << local.body;
}

// Zero-config intake takes unsigned deliveries: no page on another site may
// post them through the user's browser. Real senders send no Origin.
TEST_F(HostileRequestsTest, UnsignedSourcesRefuseOtherSitesPages) {
  start();
  auto page = post("/hooks/demo", "{}", "Origin: https://evil.example\r\n");
  EXPECT_EQ(page.status, 403) << page.head;
  EXPECT_NE(error_of(page).find("unsigned"), std::string::npos) << page.body;
  EXPECT_NE(error_of(page).find("Origin"), std::string::npos) << page.body;
  auto lookalike = post("/hooks/demo", "{}", "Origin: http://" + host_ + "@evil.example\r\n");
  EXPECT_EQ(lookalike.status, 403) << lookalike.body;
  auto suffixed = post("/hooks/demo", "{}", "Origin: http://[::1].evil.example\r\n");
  EXPECT_EQ(suffixed.status, 403) << suffixed.body;
  auto rebound = exchange(
      "POST /hooks/demo HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n"
      "Content-Length: 2\r\n\r\n{}");
  EXPECT_EQ(rebound.status, 403) << rebound.body;
  EXPECT_NE(error_of(rebound).find("Host"), std::string::npos) << rebound.body;
  EXPECT_EQ(stored(), 0);
  EXPECT_EQ(rejected("origin"), 4);

  EXPECT_EQ(post("/hooks/demo", "{}").status, 202);
  EXPECT_EQ(post("/hooks/demo", "{\"a\":1}", "Origin: http://localhost:3000\r\n").status, 202);
  EXPECT_EQ(stored(), 2);
}

TEST_F(HostileRequestsTest, ConfiguredUnsignedSourceRefusesOtherSitesAndSignedOnesDoNot) {
  start(json{{"sources",
              {{"dev", {{"provider", "none"}}},
               {"gh", {{"provider", "github"}, {"secrets", {"It's a Secret to Everybody"}}}}}}});
  EXPECT_EQ(post("/hooks/dev", "{}", "Origin: https://evil.example\r\n").status, 403);
  auto signed_ok = post("/hooks/gh", "Hello, World!",
                        "Origin: https://evil.example\r\nX-Hub-Signature-256: "
                        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
                        "\r\n");
  EXPECT_EQ(signed_ok.status, 202) << signed_ok.body;
}

// Whether the server said it closes the connection after this answer.
bool closes(const Answer& a) {
  for (const char* form : {"\r\nConnection: close", "\r\nconnection: close"}) {
    if (a.head.find(form) != std::string::npos) return true;
  }
  return false;
}

// RFC 9112 6.1 and 6.3: a body whose length cannot be known is refused with the
// connection, so that no byte of it is read as the next request. Each body
// below holds a whole second POST.
TEST_F(HostileRequestsTest, TransferEncodingOtherThanChunkedIsRefusedAndTheBodyNeverParsed) {
  start();
  const std::string smuggled =
      "POST /hooks/smuggled HTTP/1.1\r\nHost: " + host_ + "\r\nContent-Length: 2\r\n\r\n{}";
  const std::string chunked_smuggled = [&] {
    char size[16];
    std::snprintf(size, sizeof size, "%zx", smuggled.size());
    return std::string(size) + "\r\n" + smuggled + "\r\n0\r\n\r\n";
  }();
  struct Case {
    std::string headers;
    std::string body;
    int status;
  };
  const Case cases[] = {
      {"Transfer-Encoding: gzip\r\n", smuggled, 400},
      {"Transfer-Encoding: xchunked\r\n", smuggled, 400},
      {"Transfer-Encoding: chunked, chunked\r\n", chunked_smuggled, 400},
      {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", chunked_smuggled, 400},
      {"Transfer-Encoding: chunked, gzip\r\n", smuggled, 400},
      {"Transfer-Encoding: identity\r\n", smuggled, 400},
      {"Transfer-Encoding: chunked;x=1\r\n", chunked_smuggled, 400},
      {"Transfer-Encoding: \r\n", smuggled, 400},
      {"Transfer-Encoding: gzip\r\nContent-Length: " + std::to_string(smuggled.size()) + "\r\n",
       smuggled, 400},
      {"Content-Length: " + std::to_string(chunked_smuggled.size()) +
           "\r\nTransfer-Encoding: chunked\r\n",
       chunked_smuggled, 400},
      {"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", chunked_smuggled, 400},
      // Framed, but in a coding hookmcp cannot undo: 501 (RFC 9112 6.1).
      {"Transfer-Encoding: gzip, chunked\r\n", chunked_smuggled, 501},
      {"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", chunked_smuggled, 501},
  };
  for (const auto& c : cases) {
    // Keep-alive, as a proxy's shared connection would be.
    auto a = exchange("POST /hooks/demo HTTP/1.1\r\nHost: " + host_ + "\r\n" + c.headers + "\r\n" +
                      c.body);
    EXPECT_EQ(a.status, c.status) << c.headers << a.head;
    EXPECT_EQ(a.responses, 1u) << c.headers << a.head << a.body;
    EXPECT_TRUE(closes(a)) << c.headers << a.head;
    EXPECT_FALSE(error_of(a).empty()) << c.headers << a.body;
  }
  // HTTP/1.0 has no chunked coding: a Transfer-Encoding there means broken
  // framing.
  auto old = exchange("POST /hooks/demo HTTP/1.0\r\nHost: " + host_ +
                      "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_smuggled);
  EXPECT_EQ(old.status, 400) << old.head;
  EXPECT_EQ(old.responses, 1u);

  EXPECT_EQ(stored(), 0);
  EXPECT_EQ(rejected("bad_request"), static_cast<int64_t>(std::size(cases)) + 1);
  // What is framed right still goes through, chunked included.
  auto ok =
      exchange("POST /hooks/demo HTTP/1.1\r\nHost: " + host_ +
               "\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_smuggled);
  EXPECT_EQ(ok.status, 202) << ok.head << ok.body;
  EXPECT_EQ(stored(), 1);
  // Field lines of one name are one list (RFC 9110 5.3): an empty element on one line and
  // chunked on the next is chunked alone.
  auto split = exchange("POST /hooks/demo HTTP/1.1\r\nHost: " + host_ +
                        "\r\nConnection: close\r\nTransfer-Encoding: ,\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n8\r\n{\"n\": 2}\r\n0\r\n\r\n");
  EXPECT_EQ(split.status, 202) << split.head << split.body;
  EXPECT_EQ(stored(), 2);
}

// Malformed requests get a status, a short JSON error and Connection: close,
// and are counted as hookmcp_webhooks_rejected_total{reason="bad_request"}.
TEST_F(HostileRequestsTest, MalformedRequestsAreAnsweredClosedAndCounted) {
  start(json{{"max_body_bytes", 1000}});
  const std::string host = "Host: " + host_ + "\r\n";
  std::string many_fields;
  for (int i = 0; i < 101; ++i) many_fields += "X-F" + std::to_string(i) + ": v\r\n";
  std::string ten_thousand_fields;
  for (int i = 0; i < 10000; ++i) ten_thousand_fields += "X-F" + std::to_string(i) + ": v\r\n";
  struct Case {
    const char* name;
    std::string bytes;
    int status;
  };
  const std::vector<Case> cases = {
      {"garbage request line", "GARBAGE\r\n\r\n", 400},
      {"request line without version", "GET /healthz\r\n" + host + "\r\n", 400},
      {"lowercase version", "GET /healthz http/1.1\r\n" + host + "\r\n", 400},
      {"space in target", "GET /health z HTTP/1.1\r\n" + host + "\r\n", 400},
      {"NUL in target", std::string("GET /health\0z HTTP/1.1\r\n", 25) + host + "\r\n", 400},
      {"HTTP/9.9", "GET /healthz HTTP/9.9\r\n" + host + "\r\n", 505},
      {"HTTP/2.0", "GET /healthz HTTP/2.0\r\n" + host + "\r\n", 505},
      {"HTTP/0.9", "GET /healthz HTTP/0.9\r\n" + host + "\r\n", 505},
      {"1 MB header line",
       "GET /healthz HTTP/1.1\r\n" + host + "X-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n",
       431},
      {"10,000 header fields", "GET /healthz HTTP/1.1\r\n" + host + ten_thousand_fields + "\r\n",
       431},
      {"101 header fields", "GET /healthz HTTP/1.1\r\n" + host + many_fields + "\r\n", 431},
      {"field without colon", "GET /healthz HTTP/1.1\r\n" + host + "Broken\r\n\r\n", 400},
      {"space before colon", "GET /healthz HTTP/1.1\r\n" + host + "X-A : b\r\n\r\n", 400},
      {"two Content-Length",
       "POST /hooks/demo HTTP/1.1\r\n" + host + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
       400},
      {"two different Content-Length",
       "POST /hooks/demo HTTP/1.1\r\n" + host + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
       400},
      {"Content-Length list",
       "POST /hooks/demo HTTP/1.1\r\n" + host + "Content-Length: 2, 2\r\n\r\n{}", 400},
      {"negative Content-Length",
       "POST /hooks/demo HTTP/1.1\r\n" + host + "Content-Length: -2\r\n\r\n{}", 400},
      {"Content-Length overflows",
       "POST /hooks/demo HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999999\r\n\r\n{}",
       400},
      {"Content-Length not a number",
       "POST /hooks/demo HTTP/1.1\r\n" + host + "Content-Length: 2x\r\n\r\n{}", 400},
      {"Content-Length over the limit",
       "POST /hooks/demo HTTP/1.1\r\n" + host + "Content-Length: 1000000000000\r\n\r\n{}", 413},
      {"bad chunk size",
       "POST /hooks/demo HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
       400},
      {"negative chunk size",
       "POST /hooks/demo HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n",
       400},
      {"huge chunk size",
       "POST /hooks/demo HTTP/1.1\r\n" + host +
           "Transfer-Encoding: "
           "chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
       400},
      {"chunk without CRLF",
       "POST /hooks/demo HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
       400},
      {"HTTP/1.1 without Host", "GET /healthz HTTP/1.1\r\n\r\n", 400},
      {"two Host", "GET /healthz HTTP/1.1\r\n" + host + host + "\r\n", 400},
      {"two Host, one of them foreign",
       "GET /healthz HTTP/1.1\r\n" + host + "Host: evil.example\r\n\r\n", 400},
      {"Host with a path", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1/x\r\n\r\n", 400},
      {"Host with a port and more",
       "GET /healthz HTTP/1.1\r\nHost: " + host_ + ".evil.example\r\n\r\n", 400},
      {"Host with userinfo", "GET /healthz HTTP/1.1\r\nHost: u@127.0.0.1\r\n\r\n", 400},
      {"absolute-form with userinfo",
       "GET http://u@" + host_ + "/healthz HTTP/1.1\r\n" + host + "\r\n", 400},
      {"absolute-form of another scheme",
       "GET ftp://" + host_ + "/healthz HTTP/1.1\r\n" + host + "\r\n", 400},
  };
  int64_t bad_requests = 0;
  for (const auto& c : cases) {
    auto a = exchange(c.bytes);
    EXPECT_EQ(a.status, c.status) << c.name << ": " << a.head;
    EXPECT_TRUE(closes(a)) << c.name << ": " << a.head;
    EXPECT_FALSE(error_of(a).empty()) << c.name << ": " << a.body;
    EXPECT_LT(a.body.size(), 200u) << c.name;
    if (c.status != 413) ++bad_requests;
  }
  EXPECT_EQ(rejected("bad_request"), bad_requests);
  EXPECT_EQ(rejected("too_large"), 1);
  // The limits in force, as README's Limits names them.
  EXPECT_EQ(metric("hookmcp_limit{name=\"max_header_bytes\"}"), 16 * 1024);
  EXPECT_EQ(metric("hookmcp_limit{name=\"max_header_fields\"}"), 100);
  EXPECT_EQ(stored(), 0);
  // An HTTP/1.0 request may leave Host out.
  auto old = exchange("GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(old.status, 200) << old.head;
}

// RFC 9112 3.2.2: the absolute form is accepted, routed by its path, and its
// authority stands for Host, with the same checks.
TEST_F(HostileRequestsTest, AbsoluteFormTargetIsRoutedByItsPathAndCheckedByItsAuthority) {
  start();
  auto a = exchange("POST http://" + host_ + "/hooks/absolute?x=1 HTTP/1.1\r\nHost: " + host_ +
                    "\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(a.status, 202) << a.head << a.body;
  auto health = exchange("GET HTTP://" + host_ + " HTTP/1.1\r\nHost: " + host_ +
                         "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(health.status, 404) << health.head;  // the path is "/"
  EXPECT_EQ(stored(), 1);
  // The target's authority, not the Host field, is what the allow-list sees.
  auto foreign = exchange("POST http://evil.example/hooks/absolute HTTP/1.1\r\nHost: " + host_ +
                          "\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(foreign.status, 403) << foreign.head << foreign.body;
  auto mcp = exchange("POST http://evil.example/mcp HTTP/1.1\r\nHost: " + host_ +
                      "\r\nConnection: close\r\nContent-Type: application/json\r\n"
                      "Content-Length: 2\r\n\r\n{}");
  EXPECT_EQ(mcp.status, 403) << mcp.head << mcp.body;
  EXPECT_EQ(stored(), 1);
}

}  // namespace
}  // namespace hookmcp::testing
