// What the full-text index costs the writer, on the same machine and payloads.
//
// Usage: store_fts DIR EVENTS BATCH [full|normal]
//   EVENTS events of a ~2 KB GitHub-like JSON payload, BATCH senders at a time (each batch
//   waits for its answers). Prints events/s and the mean insert-to-answer latency without the
//   index, with indexing inside each commit (a trigger), and as shipped (the writer indexes
//   after answering).
// Usage: store_fts DIR search [WORDS]
//   One event whose body repeats a word WORDS times (default 40,000: 240 KB) among 1,000 of the
//   payload above: the time of a search for that word, which the excerpt's bounds keep flat,
//   and of one for a word of every payload, 10 of each.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>

#include "hookmcp/store/store.hpp"

namespace {

using hookmcp::NewEvent;

std::string payload(int i) {
  // Varied words, as real payloads have: a fixed body would index one set of terms only.
  std::string body = R"({"ref":"refs/heads/feature-)" + std::to_string(i) +
                     R"(","repository":{"full_name":"acme/widgets","private":false},"commits":[)";
  for (int c = 0; c < 12; ++c) {
    body += R"({"id":")" + std::to_string(i * 131 + c * 7919) +
            R"(","message":"Fix flaky deploy step )" + std::to_string(i % 97) + " in module m" +
            std::to_string(c * i % 503) + R"( after review by user)" + std::to_string(i % 41) +
            R"(","author":{"name":"Dev )" + std::to_string(c) +
            R"(","email":"dev@example.com"},"added":["src/a.cc"],"modified":["README.md"]},)";
  }
  body.back() = ']';
  body += R"(,"pusher":{"name":"octocat"}})";
  return body;
}

enum class Mode { kNoIndex, kInline, kShipped };

struct Numbers {
  double events_per_s;
  double mean_latency_ms;  // insert() to its answer
};

Numbers run(const std::string& path, int events, int batch, bool fsync, Mode mode) {
  std::filesystem::remove(path);
  hookmcp::SystemClock clock;
  hookmcp::store::Options o;
  o.path = path;
  o.fsync_each_commit = fsync;
  o.clock = &clock;
  {
    auto store = hookmcp::store::open_sqlite(o);  // creates and migrates
    if (!store) std::exit(1);
    (*store)->close();
  }
  if (mode != Mode::kShipped) {
    // The writer indexes ids above meta.fts_through: past every id, it indexes nothing.
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "UPDATE meta SET value = '9000000000000000000' WHERE key = 'fts_through'",
                 nullptr, nullptr, nullptr);
    if (mode == Mode::kInline) {
      // Indexing inside each commit, as a trigger would do it.
      sqlite3_exec(db,
                   "CREATE TRIGGER bench_inline AFTER INSERT ON events BEGIN "
                   "INSERT INTO events_fts(rowid, source, type, action, body) "
                   "VALUES (new.id, new.source, new.type, new.action, new.body); END",
                   nullptr, nullptr, nullptr);
    }
    sqlite3_close(db);
  }
  auto store = hookmcp::store::open_sqlite(o);
  if (!store) std::exit(1);
  std::vector<std::string> bodies;
  for (int i = 0; i < 256; ++i) bodies.push_back(payload(i));
  double latency_sum_ms = 0;
  auto start = std::chrono::steady_clock::now();
  for (int done = 0; done < events; done += batch) {
    std::vector<std::future<double>> waits;
    for (int i = done; i < std::min(events, done + batch); ++i) {
      NewEvent e;
      e.source = "github";
      e.provider = "github";
      e.type = "push";
      e.delivery_id = "d" + std::to_string(i);
      e.received_at_ms = clock.now_ms();
      e.verified = true;
      e.headers_json = R"({"X-GitHub-Event":"push"})";
      e.content_type = "application/json";
      e.body = bodies[static_cast<size_t>(i) % bodies.size()];
      auto p = std::make_shared<std::promise<double>>();
      waits.push_back(p->get_future());
      auto queued = std::chrono::steady_clock::now();
      (*store)->insert(std::move(e), [p, queued](hookmcp::Result<hookmcp::store::InsertOutcome>) {
        p->set_value(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - queued)
                .count());
      });
    }
    for (auto& w : waits) latency_sum_ms += w.get();
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  (*store)->close();
  return {events / s, latency_sum_ms / events};
}

int search(const std::string& dir, int words) {
  std::string path = dir + "/store_fts_search.db";
  std::filesystem::remove(path);
  hookmcp::SystemClock clock;
  hookmcp::store::Options o;
  o.path = path;
  o.fsync_each_commit = false;
  o.clock = &clock;
  auto store = hookmcp::store::open_sqlite(o);
  if (!store) return 1;
  std::promise<void> last;
  for (int i = 0; i <= 1000; ++i) {
    NewEvent e;
    e.source = "github";
    e.provider = "github";
    e.type = "push";
    e.delivery_id = "d" + std::to_string(i);
    e.received_at_ms = clock.now_ms();
    e.headers_json = "{}";
    if (i == 500) {
      e.body = R"({"log":")";
      for (int w = 0; w < words; ++w) e.body += "spam ";
      e.body += R"("})";
    } else {
      e.body = payload(i);
    }
    (*store)->insert(std::move(e), [&last, i](hookmcp::Result<hookmcp::store::InsertOutcome>) {
      if (i == 1000) last.set_value();
    });
  }
  last.get_future().wait();
  for (const char* query : {"spam", "deploy"}) {
    (void)(*store)->search(query, {}, 0);  // waits for the index
    constexpr int kRepeats = 10;
    auto start = std::chrono::steady_clock::now();
    size_t hits = 0;
    for (int r = 0; r < kRepeats; ++r) {
      auto page = (*store)->search(query, {}, 0);
      if (!page) {
        std::fprintf(stderr, "search %s: %s\n", query, page.error().message.c_str());
        return 1;
      }
      hits = page->hits.size();
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count() /
                kRepeats;
    std::printf("search \"%s\" (%zu hits on the page): %.2f ms\n", query, hits, ms);
  }
  (*store)->close();
  std::filesystem::remove(path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[2]) == "search") {
    std::filesystem::create_directories(argv[1]);
    return search(argv[1], argc >= 4 ? std::atoi(argv[3]) : 40'000);
  }
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s DIR EVENTS BATCH [full|normal]\n       %s DIR search [WORDS]\n",
                 argv[0], argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  int events = std::atoi(argv[2]);
  int batch = std::max(1, std::atoi(argv[3]));
  bool fsync = argc < 5 || std::string(argv[4]) == "full";
  std::filesystem::create_directories(dir);
  std::string path = dir + "/store_fts.db";
  std::printf("payload %zu bytes, %d senders at a time, durability %s\n", payload(1).size(), batch,
              fsync ? "full" : "normal");
  const std::pair<Mode, const char*> modes[] = {{Mode::kNoIndex, "no full-text index       "},
                                                {Mode::kInline, "indexed inside the commit"},
                                                {Mode::kShipped, "indexed after the answer "}};
  for (const auto& [mode, name] : modes) {
    Numbers n = run(path, events, batch, fsync, mode);
    std::printf("%s  %7.0f events/s  mean latency %.2f ms\n", name, n.events_per_s,
                n.mean_latency_ms);
  }
  std::filesystem::remove(path);
  return 0;
}
