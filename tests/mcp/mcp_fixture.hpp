// The fixture of the MCP server's tests: a real SQLite store in a temporary directory, the
// bus fed by its commit listener, and a session whose sink the test reads.
#pragma once

#include "hookmcp/mcp/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>
#include <thread>

#include "mcp/internal.hpp"
#include "support/temp_dir.hpp"

namespace hookmcp::mcp {

using nlohmann::json;
using std::chrono::milliseconds;

class McpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hookmcp::testing::fresh_test_directory("mcp");
    store::Options o;
    o.path = (dir_ / "events.db").string();
    o.fsync_each_commit = false;
    o.clock = &clock_;
    auto s = store::open_sqlite(o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    bus_ = std::make_shared<bus::Bus>();
    store_->add_commit_listener([bus = bus_](const std::vector<Event>& e) { bus->publish(e); });
  }

  void TearDown() override {
    session_.reset();
    server_.reset();
    store_->close();
    std::filesystem::remove_all(dir_);
  }

  // Starts the server and a session, and initializes it with `version`.
  // `store`: the one the server reads, when not store_ itself.
  json start(ServerOptions options = {}, const std::string& version = "2025-11-25",
             store::Store* store = nullptr) {
    options.version = "1.2.3";
    server_ = std::make_unique<Server>(store ? *store : *store_, bus_, metrics_, options);
    session_ = server_->open_session([this](const json& m) {
      if (before_sink_) before_sink_(m);
      std::lock_guard lock(mu_);
      out_.push_back(m);
      cv_.notify_all();
    });
    json init = request("initialize", {{"protocolVersion", version},
                                       {"capabilities", json::object()},
                                       {"clientInfo", {{"name", "test"}, {"version", "1"}}}});
    session_->receive_json({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    return init;
  }

  // Sends a request and waits for its response.
  json request(const std::string& method, json params = json::object()) {
    int id = next_id_++;
    session_->receive_json(
        {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
    auto m = wait_for([&](const json& m) { return m.contains("id") && m["id"] == id; });
    EXPECT_TRUE(m) << "no response to " << method;
    return m.value_or(json());
  }

  json call(const std::string& tool, json args = json::object()) {
    json r = request("tools/call", {{"name", tool}, {"arguments", std::move(args)}});
    EXPECT_TRUE(r.contains("result")) << r.dump();
    return r["result"];
  }

  // The first message sent so far, or until `timeout`, that satisfies `pred`; it is taken.
  template <typename Pred>
  std::optional<json> wait_for(Pred pred, milliseconds timeout = milliseconds(5000)) {
    std::unique_lock lock(mu_);
    std::optional<json> found;
    cv_.wait_for(lock, timeout, [&] {
      for (auto it = out_.begin(); it != out_.end(); ++it) {
        if (pred(*it)) {
          found = *it;
          out_.erase(it);
          return true;
        }
      }
      return false;
    });
    return found;
  }

  std::optional<json> notification(const std::string& method,
                                   milliseconds timeout = milliseconds(5000)) {
    return wait_for(
        [&](const json& m) { return !m.contains("id") && m.value("method", "") == method; },
        timeout);
  }

  int64_t insert(const std::string& source, const std::string& type, const std::string& body,
                 bool verified = true) {
    NewEvent e;
    e.source = source;
    e.provider = verified ? "github" : "none";
    e.type = type;
    e.delivery_id = "d-" + std::to_string(delivery_++);
    e.received_at_ms = clock_.now_ms();
    e.verified = verified;
    e.headers_json = R"({"Content-Type":"application/json","Authorization":"[redacted]"})";
    e.content_type = "application/json";
    e.body = body;
    std::promise<Result<store::InsertOutcome>> p;
    auto f = p.get_future();
    store_->insert(std::move(e), [&p](Result<store::InsertOutcome> r) { p.set_value(r); });
    auto r = f.get();
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->id : 0;
  }

  // Opens store_ again with `change` made to its options.
  void reopen(const std::function<void(store::Options&)>& change) {
    store_->close();
    store::Options o;
    o.path = (dir_ / "events.db").string();
    o.fsync_each_commit = false;
    o.clock = &clock_;
    o.metrics = &metrics_;
    change(o);
    auto s = store::open_sqlite(o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    store_->add_commit_listener([bus = bus_](const std::vector<Event>& e) { bus->publish(e); });
  }

  static void expect_conforms(const std::string& tool, const json& result) {
    ASSERT_FALSE(result.value("isError", true)) << result.dump();
    auto problem = check_schema(tool_schema(tool + ".output"), result["structuredContent"]);
    EXPECT_FALSE(problem) << *problem << "\n" << result["structuredContent"].dump();
    ASSERT_EQ(result["content"][0]["type"], "text");
  }

  static std::string text_of(const json& result) {
    return result["content"][0]["text"].get<std::string>();
  }

  std::filesystem::path dir_;
  FakeClock clock_{1'780'000'000'000};
  Metrics metrics_;
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<bus::Bus> bus_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<Session> session_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<json> out_;
  // Runs on the sending thread before a message is taken: a test may hold that thread here.
  std::function<void(const json&)> before_sink_;
  int next_id_ = 1;
  int delivery_ = 1;
};

}  // namespace hookmcp::mcp
