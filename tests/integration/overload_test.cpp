// Overload and slow clients against the real `hookmcp serve`: slow senders are cut off by the
// header and body timeouts while others are served, uploads past the in-flight byte budget get
// 503 with Retry-After at once, and an SSE consumer that stops reading is cut off without
// holding up another session.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace hookmcp::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// A plain TCP connection, for clients that misbehave on purpose.
class RawConnection {
 public:
  // `receive_buffer`: a small kernel receive buffer, for a client that stops reading.
  explicit RawConnection(int port, std::optional<int> receive_buffer = std::nullopt) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &*receive_buffer, sizeof *receive_buffer);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads what has arrived within `wait`; false once the server has closed the connection.
  bool pump(milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return true;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    received_.append(buf, static_cast<size_t>(n));
    return true;
  }
  // Reads until `text` arrived or the deadline; false if it did not.
  bool read_until(const std::string& text, milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (received_.find(text) == std::string::npos) {
      if (Clock::now() > deadline || !pump(milliseconds(100))) {
        return received_.find(text) != std::string::npos;
      }
    }
    return true;
  }
  // Reads until the server closes the connection; false if it is still open at the deadline.
  bool read_until_closed(milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (!pump(milliseconds(100))) return true;
    }
    return false;
  }
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

class OverloadTest : public ::testing::Test {
 protected:
  int start(const json& config) {
    std::ofstream(dir_.file("config.json")) << config.dump();
    server_ = std::make_unique<Process>(
        hookmcp_binary(),
        std::vector<std::string>{"serve", "--listen", "127.0.0.1:0", "--db", dir_.file("events.db"),
                                 "--config", dir_.file("config.json"), "--log-level", "warn"});
    auto port = server_->wait_for_port();
    EXPECT_TRUE(port) << server_->stderr_text();
    return port.value_or(0);
  }

  static std::optional<int64_t> metric(HttpClient& client, const std::string& name) {
    auto r = client.get("/metrics");
    auto at = r.body.find("\n" + name + " ");
    if (at == std::string::npos) return std::nullopt;
    return std::stoll(r.body.substr(at + name.size() + 2));
  }

  TempDir dir_;
  std::unique_ptr<Process> server_;
};

// Sends `head`, then `dribble` one byte every 100 ms until the server closes the connection.
// Returns whether it was cut off before the deadline.
bool dribble_until_cut_off(int port, const std::string& head, milliseconds deadline) {
  RawConnection conn(port);
  if (!conn.connected() || !conn.send(head)) return false;
  auto end = Clock::now() + deadline;
  while (Clock::now() < end) {
    if (!conn.send("a")) return true;
    // The client's pace: one byte, then up to 100 ms watching for the server to hang up.
    if (!conn.pump(milliseconds(100))) return true;
  }
  return false;
}

TEST_F(OverloadTest, SlowHeadersAndBodiesAreCutOffWhileOthersAreServed) {
  int port = start({{"sources", {{"demo", {{"provider", "none"}}}}},
                    {"http", {{"header_timeout_s", 2}, {"body_timeout_s", 2}}}});
  constexpr int kSlowClients = 4;
  std::atomic<int> slow_running{2 * kSlowClients};
  std::atomic<int> cut_off{0};
  std::vector<std::thread> slow;
  for (int i = 0; i < kSlowClients; ++i) {
    // Slowloris: the headers never end.
    slow.emplace_back([&] {
      if (dribble_until_cut_off(
              port, "POST /hooks/demo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", seconds(60))) {
        ++cut_off;
      }
      --slow_running;
    });
    // Complete headers, then the body a byte at a time.
    slow.emplace_back([&, i] {
      std::string head =
          "POST /hooks/demo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
          "X-Delivery-Id: slow-" +
          std::to_string(i) + "\r\n\r\n";
      if (dribble_until_cut_off(port, head, seconds(60))) ++cut_off;
      --slow_running;
    });
  }

  // Meanwhile, other clients are served as usual.
  HttpClient client(port);
  int served_meanwhile = 0;
  for (int i = 0; slow_running.load() > 0; ++i) {
    auto r = client.post("/hooks/demo", R"({"n":)" + std::to_string(i) + "}",
                         {{"X-Delivery-Id", "fast-" + std::to_string(i)}});
    ASSERT_EQ(r.status, 202) << r.error << r.body;
    if (slow_running.load() > 0) ++served_meanwhile;
  }
  for (auto& t : slow) t.join();
  EXPECT_EQ(cut_off.load(), 2 * kSlowClients);
  EXPECT_GT(served_meanwhile, 0);
  EXPECT_EQ(client.get("/healthz").status, 200);
}

TEST_F(OverloadTest, UploadsBeyondTheInFlightBudgetGet503WithRetryAfter) {
  // Room for two 400 kB bodies being read at once; a body timeout long enough that every
  // refusal below comes from the budget, not from a timeout.
  int port = start({{"sources", {{"demo", {{"provider", "none"}}}}},
                    {"max_pending_bytes", 1 << 20},
                    {"http", {{"body_timeout_s", 120}}}});
  constexpr int kBody = 400'000;
  auto head = [](const std::string& id) {
    return "POST /hooks/demo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
           std::to_string(kBody) + "\r\nX-Delivery-Id: " + id + "\r\n\r\n";
  };
  // Four uploads that send their headers, then hold. (Headers alone: a refused upload with
  // unread body bytes would see its connection reset rather than read the 503.)
  std::vector<std::unique_ptr<RawConnection>> uploads;
  for (int i = 0; i < 4; ++i) {
    uploads.push_back(std::make_unique<RawConnection>(port));
    ASSERT_TRUE(uploads.back()->send(head("held-" + std::to_string(i))));
  }
  // Two fit in the budget and wait for the rest of their body; the other two are refused at once.
  int refused = 0;
  auto deadline = Clock::now() + seconds(30);
  while (refused < 2 && Clock::now() < deadline) {
    refused = 0;
    for (auto& u : uploads) {
      u->pump(milliseconds(20));
      if (u->received().find("HTTP/1.1 503") != std::string::npos) ++refused;
    }
  }
  ASSERT_EQ(refused, 2);
  for (auto& u : uploads) {
    if (u->received().empty()) continue;
    ASSERT_TRUE(u->read_until("\r\n\r\n", seconds(10)));
    EXPECT_NE(u->received().find("\r\nRetry-After: 1\r\n"), std::string::npos) << u->received();
  }

  // One more, while the budget is still taken: refused before it sends its body.
  RawConnection late(port);
  ASSERT_TRUE(late.send(head("late")));
  ASSERT_TRUE(late.read_until("\r\n\r\n", seconds(10))) << late.received();
  EXPECT_EQ(late.received().rfind("HTTP/1.1 503", 0), 0u) << late.received();
  EXPECT_NE(late.received().find("\r\nRetry-After: 1\r\n"), std::string::npos);
  HttpClient client(port);
  EXPECT_EQ(metric(client, "hookmcp_webhooks_rejected_total{reason=\"overloaded\"}"), 3);

  // The held uploads give up; their budget comes back and a large upload goes through.
  uploads.clear();
  std::string body = R"({"pad":")" + std::string(kBody - 10, 'p') + "\"}";
  int status = 0;
  for (int i = 0; status != 202 && Clock::now() < deadline + seconds(30); ++i) {
    HttpClient retry(port);
    status =
        retry.post("/hooks/demo", body, {{"X-Delivery-Id", "after-" + std::to_string(i)}}).status;
    // 0: refused before the body was read, the connection was reset under it.
    ASSERT_TRUE(status == 202 || status == 503 || status == 0) << status;
  }
  EXPECT_EQ(status, 202);
}

// One MCP session over Streamable HTTP, with plain HTTP requests.
class McpSession {
 public:
  explicit McpSession(int port) : client_(port) {
    auto init = call("initialize", {{"protocolVersion", "2025-06-18"},
                                    {"capabilities", json::object()},
                                    {"clientInfo", {{"name", "overload-test"}, {"version", "1"}}}});
    EXPECT_EQ(init.status, 200) << init.body;
    id_ = std::string(init.headers.get("Mcp-Session-Id").value_or(""));
    EXPECT_FALSE(id_.empty());
    auto note = post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    EXPECT_EQ(note.status, 202) << note.body;
  }
  HttpResponse call(const std::string& method, const json& params) {
    return post({{"jsonrpc", "2.0"}, {"id", ++next_id_}, {"method", method}, {"params", params}});
  }
  // The request that opens this session's standalone stream (GET /mcp).
  std::string stream_request() const {
    return "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
           "MCP-Protocol-Version: 2025-06-18\r\nMcp-Session-Id: " +
           id_ + "\r\n\r\n";
  }

 private:
  HttpResponse post(const json& message) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"},
        {"Accept", "application/json, text/event-stream"},
        {"MCP-Protocol-Version", "2025-06-18"}};
    if (!id_.empty()) headers.emplace_back("Mcp-Session-Id", id_);
    return client_.post("/mcp", message.dump(), headers);
  }

  HttpClient client_;
  std::string id_;
  int next_id_ = 0;
};

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

TEST_F(OverloadTest, StalledSseConsumerIsCutOffWhileAnotherSessionKeepsReceiving) {
  int port = start({{"sources", {{"demo", {{"provider", "none"}}}}}, {"durability", "normal"}});
  McpSession stalled_session(port);
  McpSession live_session(port);
  for (auto* s : {&stalled_session, &live_session}) {
    auto r = s->call("resources/subscribe", {{"uri", "hookmcp://events"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // A consumer that never reads, with a small receive buffer so that its queue fills.
  RawConnection stalled(port, 4096);
  ASSERT_TRUE(stalled.send(stalled_session.stream_request()));
  // A consumer that keeps reading, on its own thread.
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;         // guarded by mu
  size_t live_updates = 0;   // guarded by mu
  bool live_closed = false;  // guarded by mu
  bool live_open = false;    // guarded by mu: the stream's response head arrived
  std::thread reader([&] {
    RawConnection live(port);
    bool open = live.send(live_session.stream_request());
    while (open) {
      open = live.pump(milliseconds(50));
      std::lock_guard lock(mu);
      live_open = live.received().find("\r\n\r\n") != std::string::npos;
      live_updates = count(live.received(), "notifications/resources/updated");
      if (stop) break;
      cv.notify_all();
    }
    std::lock_guard lock(mu);
    live_closed = !open;
    cv.notify_all();
  });

  {
    // The server attaches the stream before it answers: from then on, it gets every update.
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(30), [&] { return live_open || live_closed; }));
    ASSERT_FALSE(live_closed);
  }

  // Webhooks with long event types: every one is a resource update and a channel message of
  // over 20 KB on each session's standalone stream, so that the stalled one overflows well
  // within its 30 s write timeout even on a loaded machine.
  HttpClient producer(port);
  const std::string type(12000, 't');
  int64_t dropped = 0;
  int sent = 0;
  auto deadline = Clock::now() + seconds(180);
  while (dropped == 0 && Clock::now() < deadline) {
    for (int i = 0; i < 50; ++i, ++sent) {
      auto r = producer.post("/hooks/demo", R"({"n":)" + std::to_string(sent) + "}",
                             {{"X-Event-Type", type}, {"X-Delivery-Id", std::to_string(sent)}});
      ASSERT_EQ(r.status, 202) << r.body;
    }
    dropped = metric(producer, "hookmcp_notifications_dropped_total").value_or(0);
  }
  ASSERT_GT(dropped, 0) << "no notification dropped after " << sent << " webhooks";

  // The stalled consumer was cut off: once it reads what was buffered, the stream ends.
  EXPECT_TRUE(stalled.read_until_closed(seconds(60)));

  // The other session still gets every update, including one sent after the cut-off.
  auto r = producer.post("/hooks/demo", R"({"n":"last"})", {{"X-Delivery-Id", "last"}});
  ASSERT_EQ(r.status, 202);
  ++sent;
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, seconds(60),
                [&] { return live_closed || live_updates >= static_cast<size_t>(sent); });
    EXPECT_FALSE(live_closed);
    EXPECT_EQ(live_updates, static_cast<size_t>(sent));
    stop = true;
  }
  reader.join();
  EXPECT_EQ(metric(producer, "hookmcp_notifications_dropped_total"), dropped);
}

}  // namespace
}  // namespace hookmcp::testing
