// Fills a database with N varied events through the store, as intake would, for the query
// benchmarks (bench/queries.mjs). Durability normal and large groups, since only the end
// state matters here.
//
// Usage: fill_store DB_PATH EVENTS
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>

#include "hookmcp/store/store.hpp"

namespace {

struct Kind {
  const char* source;
  const char* provider;
  const char* type;
  const char* action;
};

constexpr Kind kKinds[] = {
    {"github", "github", "push", ""},
    {"github", "github", "pull_request", "opened"},
    {"github", "github", "pull_request", "closed"},
    {"github", "github", "issues", "opened"},
    {"github", "github", "workflow_run", "completed"},
    {"stripe", "stripe", "payment_intent.succeeded", ""},
    {"stripe", "stripe", "invoice.paid", ""},
    {"stripe", "stripe", "customer.subscription.updated", ""},
    {"slack", "slack", "message", ""},
    {"slack", "slack", "app_mention", ""},
    {"ci", "hmac", "build.finished", ""},
};

constexpr const char* kWords[] = {
    "deploy",    "flaky",   "refund",  "invoice",  "timeout",  "release", "rollback", "customer",
    "migration", "webhook", "latency", "database", "checkout", "review",  "merge",    "incident"};

std::string body(int i, const Kind& k) {
  std::string text;
  for (int w = 0; w < 24; ++w) {
    text += kWords[(i * 7 + w * 13) % 16];
    text += ' ';
    text += std::to_string((i * 31 + w) % 997);
    text += ' ';
  }
  return std::string(R"({"type":")") + k.type + R"(","action":")" + k.action + R"(","id":"evt_)" +
         std::to_string(i) + R"(","text":")" + text +
         R"(","repository":{"full_name":"acme/widgets"}})";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DB_PATH EVENTS\n", argv[0]);
    return 2;
  }
  hookmcp::SystemClock clock;
  hookmcp::store::Options options;
  options.path = argv[1];
  options.fsync_each_commit = false;
  options.max_batch = 4096;
  options.clock = &clock;
  auto store = hookmcp::store::open_sqlite(options);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  const int events = std::atoi(argv[2]);
  const int64_t start_ms = clock.now_ms() - int64_t{events} * 10;
  constexpr int kWindow = 4096;  // events in flight at once
  for (int i = 0; i < events; i += kWindow) {
    std::vector<std::future<void>> done;
    for (int j = i; j < std::min(events, i + kWindow); ++j) {
      const Kind& k = kKinds[j % (sizeof kKinds / sizeof kKinds[0])];
      hookmcp::NewEvent e;
      e.source = k.source;
      e.provider = k.provider;
      e.type = k.type;
      e.action = k.action;
      e.delivery_id = "fill-" + std::to_string(j);
      e.received_at_ms = start_ms + int64_t{j} * 10;
      e.verified = true;
      e.headers_json = R"({"Content-Type":"application/json"})";
      e.content_type = "application/json";
      e.body = body(j, k);
      auto p = std::make_shared<std::promise<void>>();
      done.push_back(p->get_future());
      (*store)->insert(std::move(e), [p](auto) { p->set_value(); });
    }
    for (auto& f : done) f.wait();
  }
  (*store)->close();
  std::printf("filled %s with %d events\n", argv[1], events);
  return 0;
}
