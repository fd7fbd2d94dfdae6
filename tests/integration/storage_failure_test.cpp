// When the database cannot commit (here: the process's file-size limit, set from outside with
// prlimit, stands in for a full disk), intake answers 503 with Retry-After and never a 2xx,
// /healthz says so, and both recover by themselves once writes succeed again.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "hookmcp/store/store.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace hookmcp::testing {
namespace {

// Sets the soft limit only, so that it can be raised again without privileges.
bool set_file_size_limit(pid_t pid, rlim_t bytes) {
  rlimit current{};
  if (prlimit(pid, RLIMIT_FSIZE, nullptr, &current) != 0) return false;
  rlimit limit{std::min(bytes, current.rlim_max), current.rlim_max};
  return prlimit(pid, RLIMIT_FSIZE, &limit, nullptr) == 0;
}

// Polls `check` until it holds or the deadline passes.
template <typename F>
bool eventually(F check, std::chrono::seconds timeout = std::chrono::seconds(15)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(StorageFailure, DiskFullIs503ThenRecovers) {
  TempDir dir;
  Process server(hookmcp_binary(), {"serve", "--listen", "127.0.0.1:0", "--db",
                                    dir.file("events.db"), "--log-level", "error"});
  auto port = server.wait_for_port();
  ASSERT_TRUE(port) << server.stderr_text();
  HttpClient client(*port);
  ASSERT_EQ(client.post("/hooks/disk", "{\"n\":0}").status, 202);

  // No write past the first 4 KiB of any file: every commit now fails.
  ASSERT_TRUE(set_file_size_limit(server.pid(), 4096));
  std::string big(64 * 1024, 'x');
  for (int i = 1; i <= 5; ++i) {
    auto r =
        client.post("/hooks/disk", "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + big + "\"}");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_TRUE(r.headers.get("Retry-After").has_value());
  }
  EXPECT_EQ(client.get("/healthz").status, 503);

  // Space returns: the server notices by itself.
  ASSERT_TRUE(set_file_size_limit(server.pid(), RLIM_INFINITY));
  EXPECT_TRUE(eventually([&] { return client.get("/healthz").status == 200; }));
  auto after = client.post("/hooks/disk", "{\"n\":6}");
  EXPECT_EQ(after.status, 202) << after.body;

  server.signal(SIGTERM);
  ASSERT_EQ(server.wait_exit(std::chrono::seconds(5)), 0);
  // Only the two acknowledged events are stored.
  SystemClock clock;
  store::Options options;
  options.path = dir.file("events.db");
  options.clock = &clock;
  auto store = store::open_sqlite(options);
  ASSERT_TRUE(store) << store.error().message;
  store::EventFilter all;
  all.limit = 100;
  auto events = (*store)->list(all);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  for (const auto& e : *events) EXPECT_EQ(e.size, 7) << "a refused delivery was stored";
}

}  // namespace
}  // namespace hookmcp::testing
