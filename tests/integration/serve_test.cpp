// Starts the real `hookmcp serve` on port 0 with a temporary database and talks HTTP to it.
#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "hookmcp/store/store.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace hookmcp::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class ServeTest : public ::testing::Test {
 protected:
  // Starts the server with `config` (if any) and returns its port.
  int start(const json& config = nullptr, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0", "--db", db_path()};
    if (!config.is_null()) {
      std::ofstream(dir_.file("config.json")) << config.dump();
      args.push_back("--config");
      args.push_back(dir_.file("config.json"));
    }
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<Process>(hookmcp_binary(), args);
    auto port = server_->wait_for_port();
    EXPECT_TRUE(port) << server_->stderr_text();
    return port.value_or(0);
  }

  std::string db_path() const { return dir_.file("events.db"); }

  // Reads an event back from the database file, as a second process would.
  std::optional<Event> read_event(int64_t id) {
    store::Options o;
    o.path = db_path();
    o.clock = &clock_;
    auto s = store::open_sqlite(o);
    EXPECT_TRUE(s) << s.error().message;
    auto e = (*s)->get(id);
    EXPECT_TRUE(e);
    return *e;
  }

  TempDir dir_;
  SystemClock clock_;
  std::unique_ptr<Process> server_;
};

TEST_F(ServeTest, StoresAnUnsignedWebhookByteForByte) {
  int port = start();
  HttpClient client(port);
  std::string body("{\"type\":\"demo.created\"}\r\n\x00\xff tail", 30);
  auto r = client.post("/hooks/demo", body, {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(r.status, 202) << r.body << r.error;
  EXPECT_EQ(json::parse(r.body), json({{"id", 1}, {"duplicate", false}}));
  auto e = read_event(1);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->body, body);
  EXPECT_EQ(e->source, "demo");
  EXPECT_EQ(e->content_type, "application/octet-stream");
}

TEST_F(ServeTest, DuplicateDeliveryAnswers200WithTheSameId) {
  int port = start();
  HttpClient client(port);
  auto first = client.post("/hooks/demo", "{}", {{"X-Delivery-Id", "abc"}});
  auto second = client.post("/hooks/demo", "{\"changed\":1}", {{"X-Delivery-Id", "abc"}});
  EXPECT_EQ(first.status, 202);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(json::parse(second.body), json({{"id", 1}, {"duplicate", true}}));
  EXPECT_FALSE(read_event(2));
}

TEST_F(ServeTest, ConcurrentIdenticalDeliveriesStoredOnce) {
  int port = start();
  std::vector<std::thread> threads;
  std::atomic<int> created{0};
  std::atomic<int> dup{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      HttpClient c(port);
      auto r = c.post("/hooks/demo", "{}", {{"X-Delivery-Id", "same-instant"}});
      (r.status == 202 ? created : dup)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(dup.load(), 7);
  EXPECT_FALSE(read_event(2));
}

TEST_F(ServeTest, BodyOverTheLimitIs413) {
  int port = start(json{{"max_body_bytes", 1024}});
  HttpClient client(port);
  auto r = client.post("/hooks/demo", std::string(2048, 'x'));
  EXPECT_EQ(r.status, 413);
  HttpClient again(port);
  EXPECT_EQ(again.post("/hooks/demo", std::string(1024, 'y')).status, 202);
  EXPECT_FALSE(read_event(2));
}

TEST_F(ServeTest, ChunkedBodyOverTheLimitIs413) {
  int port = start(json{{"max_body_bytes", 100}});
  std::string chunk(80, 'x');
  std::string raw =
      "POST /hooks/demo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "50\r\n" +
      chunk + "\r\n50\r\n" + chunk + "\r\n0\r\n\r\n";
  std::string answer = raw_exchange(port, raw);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
}

TEST_F(ServeTest, GithubSignatureFromTheDocsVerifies) {
  json cfg = {
      {"sources",
       {{"github", {{"provider", "github"}, {"secrets", {"It's a Secret to Everybody"}}}}}}};
  int port = start(cfg);
  HttpClient client(port);
  const std::string good =
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  auto bad = client.post(
      "/hooks/github", "Hello, World!",
      {{"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}, {"X-GitHub-Event", "issues"}});
  EXPECT_EQ(bad.status, 401);
  auto missing = client.post("/hooks/github", "Hello, World!", {{"X-GitHub-Event", "issues"}});
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(client.post("/hooks/unknown", "Hello, World!").status, 404);
  auto ok = client.post("/hooks/github", "Hello, World!",
                        {{"X-Hub-Signature-256", good},
                         {"X-GitHub-Event", "issues"},
                         {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"}});
  ASSERT_EQ(ok.status, 202) << ok.body;
  auto e = read_event(1);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->verified);
  EXPECT_EQ(e->type, "issues");
  EXPECT_EQ(e->delivery_id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  EXPECT_EQ(e->body, "Hello, World!");
}

TEST_F(ServeTest, HealthMetricsAndRoutes) {
  int port = start();
  HttpClient client(port);
  auto health = client.get("/healthz");
  EXPECT_EQ(health.status, 200);
  ASSERT_EQ(client.post("/hooks/demo", "{}").status, 202);
  auto metrics = client.get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers.get("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_NE(metrics.body.find("hookmcp_webhooks_stored_total 1\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("hookmcp_commit_batch_size_count 1\n"), std::string::npos);
  EXPECT_EQ(client.get("/nope").status, 404);
  auto get_hook = client.get("/hooks/demo");
  EXPECT_EQ(get_hook.status, 405);
  EXPECT_EQ(get_hook.headers.get("Allow"), "POST");
}

TEST_F(ServeTest, SigtermStopsGracefullyAndKeepsWhatWasAcknowledged) {
  int port = start();
  HttpClient client(port);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(client.post("/hooks/demo", "{\"n\":" + std::to_string(i) + "}").status, 202);
  }
  server_->signal(SIGTERM);
  auto code = server_->wait_exit(seconds(5));
  ASSERT_TRUE(code) << "did not exit within 5 s";
  EXPECT_EQ(*code, 0);
  EXPECT_TRUE(read_event(20));
}

TEST_F(ServeTest, SigintStopsIdleServerWithOpenConnections) {
  int port = start();
  HttpClient idle(port);
  ASSERT_EQ(idle.get("/healthz").status, 200);  // leaves a kept-alive connection open
  server_->signal(SIGINT);
  auto code = server_->wait_exit(seconds(5));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
}

TEST_F(ServeTest, ListenAddressInUseIsARuntimeFailure) {
  int port = start();
  Process second(hookmcp_binary(), {"serve", "--listen", "127.0.0.1:" + std::to_string(port),
                                    "--db", dir_.file("other.db")});
  auto code = second.wait_exit(seconds(10));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1);
  EXPECT_NE(second.stderr_text().find("cannot listen"), std::string::npos);
}

TEST_F(ServeTest, PublicAddressWithoutSecretsRefusesToStart) {
  auto r = run(hookmcp_binary(), {"serve", "--listen", "0.0.0.0:0", "--db", db_path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--allow-unsigned"), std::string::npos) << r.err;
}

TEST_F(ServeTest, EnvironmentConfiguresListenAndDatabase) {
  server_ =
      std::make_unique<Process>(hookmcp_binary(), std::vector<std::string>{"serve"},
                                std::map<std::string, std::string>{
                                    {"HOOKMCP_LISTEN", "127.0.0.1:0"}, {"HOOKMCP_DB", db_path()}});
  auto port = server_->wait_for_port();
  ASSERT_TRUE(port) << server_->stderr_text();
  HttpClient client(*port);
  EXPECT_EQ(client.post("/hooks/env", "{}").status, 202);
  EXPECT_TRUE(read_event(1));
}

TEST(CheckConfig, PrintsEffectiveSettingsWithSecretsRedacted) {
  TempDir dir;
  std::ofstream(dir.file("c.json")) << R"({"sources": {"gh": {"provider": "github",
      "secrets": ["super-secret-value", "env:GH_SECRET"]}}})";
  auto r =
      run(hookmcp_binary(), {"check-config", "--config", dir.file("c.json"), "--db", "/tmp/x.db"},
          {{"GH_SECRET", "env-secret-value"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["database"], "/tmp/x.db");
  EXPECT_EQ(j["listen"], "127.0.0.1:8787");
  EXPECT_EQ(r.out.find("super-secret-value"), std::string::npos);
  EXPECT_EQ(r.out.find("env-secret-value"), std::string::npos);
}

TEST(CheckConfig, InvalidConfigExits2NamingTheField) {
  TempDir dir;
  std::ofstream(dir.file("c.json")) << R"({"sources": {"gh": {"provider": "github"}}})";
  auto r = run(hookmcp_binary(), {"check-config", "--config", dir.file("c.json")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("sources.gh.secrets"), std::string::npos) << r.err;
  auto bad_flag = run(hookmcp_binary(), {"check-config", "--listen", "nowhere"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.err.find("--listen"), std::string::npos) << bad_flag.err;
  auto unknown = run(hookmcp_binary(), {"serve", "--bogus"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("--bogus"), std::string::npos);
}

TEST(Cli, VersionAndHelp) {
  auto v = run(hookmcp_binary(), {"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("hookmcp ", 0), 0u);
  auto h = run(hookmcp_binary(), {"serve", "--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("--listen"), std::string::npos);
}

}  // namespace
}  // namespace hookmcp::testing
