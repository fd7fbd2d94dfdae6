// When the database cannot commit (here: the process's file-size limit, set from outside with
// prlimit, stands in for a full disk), intake answers 503 with Retry-After and never a 2xx,
// /healthz says so, and both recover by themselves once writes succeed again. A file the server
// could never write, or one of another program, is refused at start.
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

// `serve` on `db`, as a user other than root when this runs as root (root writes any file):
// `serve` must refuse the file at start, so it is waited for to exit.
RunResult serve_once(const std::string& db, bool as_other_user) {
  std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0", "--db", db};
  if (!as_other_user) return run(hookmcp_binary(), args, {}, std::chrono::seconds(10));
  std::vector<std::string> setpriv = {"--reuid=65534", "--regid=65534", "--clear-groups",
                                      hookmcp_binary()};
  setpriv.insert(setpriv.end(), args.begin(), args.end());
  return run("/usr/bin/setpriv", setpriv, {}, std::chrono::seconds(10));
}

// Bytes 18 and 19 of a SQLite file's header: 1 for a rollback journal, 2 for WAL.
std::string journal_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char header[20] = {};
  in.read(header, sizeof header);
  return std::to_string(header[18]) + "," + std::to_string(header[19]);
}

// A database file the server may not write, in a directory it may: SQLite opens such a file
// read-only without a word, and the server answered 503 to every delivery for as long as it ran.
TEST(StorageFailure, AReadOnlyDatabaseFileIsRefusedAtStart) {
  bool root = ::geteuid() == 0;
  if (root && !std::filesystem::exists("/usr/bin/setpriv")) {
    GTEST_SKIP() << "runs as root, and setpriv is not there to run the server as another user";
  }
  TempDir dir;
  const std::string db = dir.file("events.db");
  {
    SystemClock clock;
    store::Options options;
    options.path = db;
    options.clock = &clock;
    auto store = store::open_sqlite(options);
    ASSERT_TRUE(store) << store.error().message;
  }
  ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);
  ASSERT_EQ(::chmod(db.c_str(), 0444), 0);
  if (root) {
    ASSERT_EQ(::chown(db.c_str(), 65534, 65534), 0);
  }

  auto r = serve_once(db, root);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot write database " + db + ": the file is read-only"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("listening on"), std::string::npos) << r.err;
}

// Another program's SQLite file: refused before anything is written, the journal mode too.
TEST(StorageFailure, AnotherProgramsDatabaseIsRefusedUntouched) {
  TempDir dir;
  const std::string db = dir.file("other.db");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE foo(x); INSERT INTO foo VALUES (1)", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  ASSERT_EQ(journal_bytes(db), "1,1");
  auto size = std::filesystem::file_size(db);

  auto r = serve_once(db, false);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(db + " is not a hookmcp database"), std::string::npos) << r.err;
  EXPECT_EQ(journal_bytes(db), "1,1") << "switched to WAL";
  EXPECT_EQ(std::filesystem::file_size(db), size);
  EXPECT_FALSE(std::filesystem::exists(db + "-wal"));
}

}  // namespace
}  // namespace hookmcp::testing
