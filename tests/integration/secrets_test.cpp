// Secrets never leave the process: not in the log (at debug level), `check-config`, /metrics,
// nor in MCP tool results, whether deliveries are signed, forged, or carry a secret themselves.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/verify/sign.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace hookmcp::testing {
namespace {

using nlohmann::json;

// Distinctive values, so that any copy of one in any output is found.
const std::string kGithubEnvSecret = "gh-env-secret-3c1f9a7e52d84b06";
const std::string kStripeLiteral = "whsec_stripeLiteral8e4d2a91c7b3";
const std::string kSlackLiteral = "slack-literal-5b9e0d3f7a21c846";
const std::string kGitlabToken = "gitlab-token-a7d4e1f09c8b2365";
const std::string kMcpLiteralToken = "mcp-literal-token-6f2b8d0e4a9c1735";
const std::string kMcpEnvToken = "mcp-env-token-91c5e7a3d0f2b648";

std::vector<std::pair<std::string, std::string>> to_pairs(const Headers& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : headers.fields()) out.emplace_back(name, value);
  return out;
}

TEST(Secrets, NeverAppearInLogsCheckConfigMetricsOrToolResults) {
  TempDir dir;
  json config = {
      {"sources",
       {{"github", {{"provider", "github"}, {"secrets", {"env:HOOKMCP_TEST_GITHUB_SECRET"}}}},
        {"stripe", {{"provider", "stripe"}, {"secrets", {kStripeLiteral}}}},
        {"slack", {{"provider", "slack"}, {"secrets", {kSlackLiteral}}}},
        {"gitlab", {{"provider", "gitlab"}, {"secrets", {kGitlabToken}}}}}},
      {"mcp", {{"tokens", {kMcpLiteralToken, "env:HOOKMCP_TEST_MCP_TOKEN"}}}},
      {"log_level", "debug"}};
  std::ofstream(dir.file("config.json")) << config.dump();
  std::map<std::string, std::string> env = {{"HOOKMCP_TEST_GITHUB_SECRET", kGithubEnvSecret},
                                            {"HOOKMCP_TEST_MCP_TOKEN", kMcpEnvToken}};
  std::vector<std::string> common = {"--config", dir.file("config.json"), "--db",
                                     dir.file("events.db")};
  std::string captured;  // everything any output showed

  std::vector<std::string> args = {"check-config"};
  args.insert(args.end(), common.begin(), common.end());
  auto check = run(hookmcp_binary(), args, env);
  EXPECT_EQ(check.exit_code, 0) << check.err;
  captured += check.out + check.err;

  args = {"serve", "--listen", "127.0.0.1:0", "--log-level", "debug"};
  args.insert(args.end(), common.begin(), common.end());
  Process server(hookmcp_binary(), args, env);
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.stderr_text();
  HttpClient client(*port);
  const int64_t now = std::time(nullptr);

  // Signed deliveries, each accepted.
  struct Signed {
    std::string provider, secret, body;
  };
  for (const auto& s : std::vector<Signed>{
           {"github", kGithubEnvSecret, R"({"action":"opened","number":1})"},
           {"stripe", kStripeLiteral, R"({"id":"evt_1","type":"invoice.paid"})"},
           {"slack", kSlackLiteral, R"({"type":"event_callback","event_id":"Ev1"})"},
           {"gitlab", kGitlabToken, R"({"object_kind":"push"})"}}) {
    auto headers = verify::sign({s.provider, s.secret, s.body, now, "push", ""});
    ASSERT_TRUE(headers) << headers.error().message;
    auto r = client.post("/hooks/" + s.provider, s.body, to_pairs(*headers));
    EXPECT_EQ(r.status, 202) << s.provider << ": " << r.body;
    captured += r.body;
  }
  // Forged ones: signed with the wrong secret, or carrying another source's secret in the
  // clear where a signature belongs.
  std::vector<std::vector<std::pair<std::string, std::string>>> forged = {
      {{"X-Hub-Signature-256", "sha256=" + kGithubEnvSecret}, {"X-GitHub-Event", "push"}},
      {{"Stripe-Signature", "t=" + std::to_string(now) + ",v1=" + kStripeLiteral}},
      {{"X-Slack-Request-Timestamp", std::to_string(now)}, {"X-Slack-Signature", kSlackLiteral}},
      {{"X-Gitlab-Token", kGithubEnvSecret}, {"X-Gitlab-Event", "Push Hook"}},
      {{"Authorization", "Bearer " + kMcpLiteralToken}}};
  const char* forged_sources[] = {"github", "stripe", "slack", "gitlab", "github"};
  for (size_t i = 0; i < forged.size(); ++i) {
    auto r =
        client.post(std::string("/hooks/") + forged_sources[i], R"({"forged":true})", forged[i]);
    EXPECT_EQ(r.status, 401) << forged_sources[i] << ": " << r.body;
    captured += r.body;
  }

  // MCP over HTTP: plain requests with each token.
  for (const std::string& token : {kMcpLiteralToken, kMcpEnvToken}) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"},
        {"Accept", "application/json, text/event-stream"},
        {"MCP-Protocol-Version", "2025-06-18"},
        {"Authorization", "Bearer " + token}};
    auto init = client.post("/mcp",
                            json{{"jsonrpc", "2.0"},
                                 {"id", 1},
                                 {"method", "initialize"},
                                 {"params",
                                  {{"protocolVersion", "2025-06-18"},
                                   {"capabilities", json::object()},
                                   {"clientInfo", {{"name", "secrets-test"}, {"version", "1"}}}}}}
                                .dump(),
                            headers);
    ASSERT_EQ(init.status, 200) << init.body;
    captured += init.body;
    headers.emplace_back("Mcp-Session-Id",
                         std::string(init.headers.get("Mcp-Session-Id").value_or("")));
    client.post("/mcp", json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}.dump(),
                headers);
    int id = 2;
    std::vector<json> calls = {{{"name", "list_events"}, {"arguments", json::object()}},
                               {{"name", "list_sources"}, {"arguments", json::object()}},
                               {{"name", "search_events"}, {"arguments", {{"query", "push"}}}}};
    for (int event = 1; event <= 4; ++event) {
      calls.push_back({{"name", "get_event"}, {"arguments", {{"id", event}}}});
    }
    for (const auto& params : calls) {
      auto r = client.post(
          "/mcp",
          json{{"jsonrpc", "2.0"}, {"id", id++}, {"method", "tools/call"}, {"params", params}}
              .dump(),
          headers);
      EXPECT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.body.find("\"isError\":true"), std::string::npos) << r.body;
      captured += r.body;
    }
    auto resources = client.post(
        "/mcp", json{{"jsonrpc", "2.0"}, {"id", id++}, {"method", "resources/list"}}.dump(),
        headers);
    captured += resources.body;
  }
  // A wrong token is refused, and the refusal does not echo it.
  auto refused = client.post("/mcp", R"({"jsonrpc":"2.0","id":1,"method":"ping"})",
                             {{"Content-Type", "application/json"},
                              {"Accept", "application/json, text/event-stream"},
                              {"Authorization", "Bearer " + kGithubEnvSecret}});
  EXPECT_EQ(refused.status, 401);
  captured += refused.body;

  auto metrics = client.get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  captured += metrics.body;
  // The tool results above did show the stored events (so the search below is meaningful).
  EXPECT_NE(captured.find("evt_1"), std::string::npos);

  server.signal(SIGTERM);
  ASSERT_TRUE(server.wait_exit(std::chrono::seconds(20)));
  captured += server.stderr_text() + server.stdout_text();
  EXPECT_NE(server.stderr_text().find("listening on"), std::string::npos);

  for (const std::string& secret : {kGithubEnvSecret, kStripeLiteral, kSlackLiteral, kGitlabToken,
                                    kMcpLiteralToken, kMcpEnvToken}) {
    auto at = captured.find(secret);
    EXPECT_EQ(at, std::string::npos)
        << secret << " leaked: ..."
        << captured.substr(at == std::string::npos ? 0 : (at > 200 ? at - 200 : 0), 400);
  }
}

}  // namespace
}  // namespace hookmcp::testing
