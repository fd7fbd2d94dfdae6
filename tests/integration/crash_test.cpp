// kill -9 under load: every delivery that got a 2xx must be in the database after a restart,
// exactly once and byte for byte.
#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "hookmcp/store/store.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace hookmcp::testing {
namespace {

constexpr int kKills = 20;
constexpr int kClients = 8;

TEST(Crash, KillNineLosesNothingAcknowledged) {
  TempDir dir;
  const std::string db = dir.file("events.db");
  std::mt19937 rng(12345);
  std::map<std::string, std::string> acknowledged;  // delivery id -> body
  std::mutex mu;
  int sequence = 0;

  for (int round = 0; round < kKills; ++round) {
    Process server(hookmcp_binary(),
                   {"serve", "--listen", "127.0.0.1:0", "--db", db, "--log-level", "warn"});
    auto port = server.wait_for_port();
    ASSERT_TRUE(port) << server.stderr_text();

    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        HttpClient client(*port);
        for (int i = 0; !stop.load(); ++i) {
          std::string id =
              "r" + std::to_string(round) + "-c" + std::to_string(c) + "-" + std::to_string(i);
          std::string body =
              "{\"delivery\":\"" + id + "\",\"pad\":\"" + std::string(100 + i % 900, 'p') + "\"}";
          auto r = client.post("/hooks/crash", body, {{"X-Delivery-Id", id}});
          if (r.status == 202 || r.status == 200) {
            std::lock_guard lock(mu);
            acknowledged[id] = body;
          }
          if (r.status == 0) break;  // the server is gone
        }
      });
    }
    // Let some deliveries through, then kill at a random moment.
    size_t target = 50 + rng() % 400;
    {
      std::lock_guard lock(mu);
      target += acknowledged.size();
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (acknowledged.size() >= target) break;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no progress under load";
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
    }
    server.signal(SIGKILL);
    stop = true;
    for (auto& t : clients) t.join();
    ASSERT_EQ(server.wait_exit(std::chrono::seconds(5)), 128 + SIGKILL);
    ++sequence;
  }

  // Everything acknowledged is there, once, byte for byte.
  SystemClock clock;
  store::Options options;
  options.path = db;
  options.clock = &clock;
  auto store = store::open_sqlite(options);
  ASSERT_TRUE(store) << store.error().message;
  store::EventFilter all;
  all.limit = 10'000'000;
  auto events = (*store)->list(all);
  ASSERT_TRUE(events);
  std::map<std::string, int64_t> stored;
  for (const auto& e : *events) {
    EXPECT_TRUE(stored.emplace(e.delivery_id, e.id).second) << "stored twice: " << e.delivery_id;
  }
  size_t checked = 0;
  for (const auto& [id, body] : acknowledged) {
    auto it = stored.find(id);
    ASSERT_NE(it, stored.end()) << "acknowledged but lost: " << id;
    auto e = (*store)->get(it->second);
    ASSERT_TRUE(e && *e);
    EXPECT_EQ((*e)->body, body);
    ++checked;
  }
  EXPECT_EQ(sequence, kKills);
  EXPECT_GT(checked, static_cast<size_t>(kKills * 50));
  std::printf("kills survived: %d, acknowledged deliveries checked: %zu, rows stored: %zu\n",
              sequence, checked, stored.size());
}

}  // namespace
}  // namespace hookmcp::testing
