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

}  // namespace
}  // namespace hookmcp::testing
