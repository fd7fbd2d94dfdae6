// The listener in this process, with a real store, intake and MCP server behind it, for what
// the binary cannot be made to do from outside: a random source that fails.
#include "hookmcp/transport/http_server.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "hookmcp/bus/bus.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/random.hpp"
#include "hookmcp/net/http_client.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::transport {
namespace {

namespace fs = std::filesystem;
using net::ClientRequest;
using net::ClientResponse;
using net::http_request;

bool failing_source(unsigned char*, std::size_t) { return false; }

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir_template = (fs::temp_directory_path() / "http-server-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir_template.data()), nullptr);
    dir_ = dir_template;
    cfg_.database = (dir_ / "events.db").string();
    store::Options options;
    options.path = cfg_.database;
    options.fsync_each_commit = false;
    options.clock = &clock_;
    options.metrics = &metrics_;
    auto opened = store::open_sqlite(options);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
    mcp_ = std::make_unique<mcp::Server>(*store_, std::make_shared<bus::Bus>(), metrics_,
                                         mcp::ServerOptions{});
    intake_ = std::make_unique<intake::Intake>(cfg_, *store_, clock_, metrics_);
    HttpOptions http;
    http.listen = {"127.0.0.1", 0};
    http.io_threads = 1;
    http.mcp = mcp_.get();
    auto started = HttpServer::start(
        http, *intake_, [this] { return store_->unhealthy_reason(); }, metrics_);
    ASSERT_TRUE(started.ok()) << started.error().message;
    server_ = std::move(*started);

    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
    previous_logger_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", log_));
  }

  void TearDown() override {
    set_random_source_for_testing(nullptr);
    if (previous_logger_) spdlog::set_default_logger(previous_logger_);
    if (server_) server_->stop(std::chrono::milliseconds(1000));
    if (store_) store_->close();
    server_.reset();
    mcp_.reset();
    intake_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  ClientResponse request(const std::string& method, const std::string& path,
                         const std::string& body = "") {
    ClientRequest req;
    req.method = method;
    req.url = server_->url() + path;
    req.body = body;
    req.headers.add("Content-Type", "application/json");
    req.headers.add("Accept", "application/json, text/event-stream");
    auto res = http_request(req);
    EXPECT_TRUE(res.ok()) << res.error().message;
    return res.ok() ? *res : ClientResponse{};
  }

  bool logged(const std::string& text) {
    for (const auto& line : log_->last_formatted()) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  fs::path dir_;
  config::Config cfg_;
  SystemClock clock_;
  Metrics metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<mcp::Server> mcp_;
  std::unique_ptr<intake::Intake> intake_;
  std::unique_ptr<HttpServer> server_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
  std::shared_ptr<spdlog::logger> previous_logger_;
};

const char* kInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
    R"("capabilities":{},"clientInfo":{"name":"test","version":"1"}}})";

// A session id is a capability: when no random bytes can be had, no session is opened and no id
// (which would be made of whatever memory held) is handed out.
TEST_F(HttpServerTest, NoSessionWithoutRandomBytes) {
  set_random_source_for_testing(&failing_source);

  ClientResponse post = request("POST", "/mcp", kInitialize);
  EXPECT_EQ(post.status, 500) << post.body;
  EXPECT_FALSE(post.headers.contains("Mcp-Session-Id"));
  auto body = nlohmann::json::parse(post.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << post.body;
  EXPECT_EQ(body["error"]["code"], -32603);
  EXPECT_EQ(post.body.find("sessionId"), std::string::npos);

  // The legacy transport hands its id out in the stream's first event: it opens nothing either.
  ClientResponse sse = request("GET", "/sse");
  EXPECT_EQ(sse.status, 500) << sse.body;
  EXPECT_EQ(sse.body.find("sessionId"), std::string::npos);

  EXPECT_EQ(metrics_.mcp_sessions.value(), 0);
  EXPECT_TRUE(logged("MCP session not opened"));

  // With random bytes again, initialize opens a session with a 128-bit id.
  set_random_source_for_testing(nullptr);
  ClientResponse again = request("POST", "/mcp", kInitialize);
  EXPECT_EQ(again.status, 200) << again.body;
  auto id = again.headers.get("Mcp-Session-Id");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->size(), 32u);
  EXPECT_EQ(metrics_.mcp_sessions.value(), 1);
}

TEST_F(HttpServerTest, HealthzAsksTheCallback) {
  EXPECT_EQ(request("GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace hookmcp::transport
