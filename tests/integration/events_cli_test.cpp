// `hookmcp events ...` against the database of a running `hookmcp serve`, as a person at a
// terminal (or a script) would use it.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace hookmcp::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class EventsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Process>(
        hookmcp_binary(),
        std::vector<std::string>{"serve", "--listen", "127.0.0.1:0", "--db", db_path()});
    auto port = server_->wait_for_port();
    ASSERT_TRUE(port) << server_->stderr_text();
    client_ = std::make_unique<HttpClient>(*port);
  }

  std::string db_path() const { return dir_.file("events.db"); }

  // POSTs a webhook to /hooks/{source} and returns the stored event's id.
  int64_t post(const std::string& source, const std::string& body,
               std::vector<std::pair<std::string, std::string>> headers = {}) {
    if (headers.empty()) headers.emplace_back("Content-Type", "application/json");
    auto r = client_->post("/hooks/" + source, body, headers);
    EXPECT_EQ(r.status, 202) << r.body << r.error;
    auto doc = json::parse(r.body, nullptr, false);
    return doc.is_object() ? doc.value("id", int64_t{0}) : 0;
  }

  RunResult events(std::vector<std::string> args) {
    args.insert(args.begin(), "events");
    args.insert(args.begin() + 2, {"--db", db_path()});
    return run(hookmcp_binary(), args);
  }

  json events_json(std::vector<std::string> args) {
    args.push_back("--json");
    auto r = events(std::move(args));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto doc = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(doc.is_object()) << r.out;
    return doc;
  }

  static std::vector<int64_t> ids(const json& doc) {
    std::vector<int64_t> out;
    for (const auto& e : doc.value("events", json::array())) out.push_back(e.value("id", 0));
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Process> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(EventsCliTest, ListPrintsAnAlignedTableNewestFirst) {
  post("github", R"({"action":"opened","number":7})",
       {{"X-Event-Type", "pull_request"}, {"X-Delivery-Id", "d-1"}});
  post("demo", R"({"type":"demo.created"})");
  post("demo", R"({"type":"demo.deleted"})");

  auto r = events({"list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 4u) << r.out;
  EXPECT_NE(rows[0].find("ID"), std::string::npos);
  EXPECT_NE(rows[0].find("TYPE/ACTION"), std::string::npos);
  EXPECT_NE(rows[0].find("VERIFIED"), std::string::npos);
  EXPECT_NE(rows[1].find("demo.deleted"), std::string::npos) << r.out;
  EXPECT_NE(rows[3].find("pull_request/opened"), std::string::npos) << r.out;
  // Every row's SOURCE column starts where the header's does.
  size_t source_col = rows[0].find("SOURCE");
  EXPECT_EQ(rows[1].find("demo"), source_col);
  EXPECT_EQ(rows[3].find("github"), source_col);
}

TEST_F(EventsCliTest, ListJsonHasTheSummaryFields) {
  int64_t id = post("demo", R"({"type":"demo.created"})", {{"X-Delivery-Id", "abc"}});
  json doc = events_json({"list"});
  ASSERT_EQ(doc["events"].size(), 1u);
  const json& e = doc["events"][0];
  EXPECT_EQ(e["id"], id);
  EXPECT_EQ(e["source"], "demo");
  EXPECT_EQ(e["provider"], "none");
  EXPECT_EQ(e["type"], "demo.created");
  EXPECT_EQ(e["delivery_id"], "abc");
  EXPECT_EQ(e["verified"], false);
  EXPECT_EQ(e["size"], 23);
  EXPECT_EQ(e["status"], "pending");
  EXPECT_TRUE(std::regex_match(e["received_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

TEST_F(EventsCliTest, ListFilters) {
  int64_t pr = post("github", R"({"action":"opened"})", {{"X-Event-Type", "pull_request"}});
  int64_t closed = post("github", R"({"action":"closed"})", {{"X-Event-Type", "pull_request"}});
  int64_t push = post("github", R"({"ref":"main"})", {{"X-Event-Type", "push"}});
  int64_t demo = post("demo", R"({"type":"demo.created"})");

  EXPECT_EQ(ids(events_json({"list", "--source", "github"})),
            (std::vector<int64_t>{push, closed, pr}));
  EXPECT_EQ(ids(events_json({"list", "--type", "pull_request", "--action", "opened"})),
            std::vector<int64_t>{pr});
  EXPECT_EQ(ids(events_json({"list", "--limit", "2"})), (std::vector<int64_t>{demo, push}));
  EXPECT_EQ(ids(events_json({"list", "--since", "1h", "--source", "demo"})),
            std::vector<int64_t>{demo});
  EXPECT_EQ(ids(events_json({"list", "--since", "2000-01-01T00:00:00Z", "--until", "7d"})),
            std::vector<int64_t>{});
  EXPECT_EQ(ids(events_json({"list", "--until", "2999-01-01T00:00:00.5+02:00", "--type", "push"})),
            std::vector<int64_t>{push});
  EXPECT_EQ(ids(events_json({"list", "--since", "2999-01-01 00:00:00", "--type", "push"})),
            std::vector<int64_t>{});
  EXPECT_EQ(ids(events_json({"list", "--since", "2000-01-01", "--type", "push"})),
            std::vector<int64_t>{push});
  EXPECT_EQ(ids(events_json({"list", "--status", "acked"})), std::vector<int64_t>{});
  EXPECT_EQ(ids(events_json({"list", "--status", "pending", "--source", "demo"})),
            std::vector<int64_t>{demo});
}

TEST_F(EventsCliTest, EmptyListSaysHowToSendAnEvent) {
  post("demo", "{}");
  auto r = events({"list", "--source", "nothing-here"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("no events match"), std::string::npos) << r.err;
}

TEST_F(EventsCliTest, ShowPrintsSummaryHeadersAndIndentedJson) {
  int64_t id = post("github", R"({"action":"opened","pull_request":{"title":"Fix it"}})",
                    {{"X-Event-Type", "pull_request"},
                     {"Content-Type", "application/json"},
                     {"Authorization", "Bearer secret-token"}});
  auto r = events({"show", std::to_string(id)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Event " + std::to_string(id)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pull_request"), std::string::npos);
  EXPECT_NE(r.out.find("X-Event-Type: pull_request"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[redacted]"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("secret-token"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  \"pull_request\": {\n    \"title\": \"Fix it\""), std::string::npos)
      << r.out;

  json doc = events_json({"show", std::to_string(id)});
  EXPECT_EQ(doc["id"], id);
  EXPECT_EQ(doc["payload_encoding"], "json");
  EXPECT_EQ(doc["payload"]["pull_request"]["title"], "Fix it");
  EXPECT_EQ(doc["headers"]["X-Event-Type"], "pull_request");
  EXPECT_EQ(doc["content_type"], "application/json");
}

TEST_F(EventsCliTest, ShowTextAndBinaryBodies) {
  int64_t text = post("demo", "hello\nworld\x1b[31m", {{"Content-Type", "text/plain"}});
  std::string bytes("\x00\x01\x02\xff\xfe binary", 12);
  int64_t binary = post("demo", bytes, {{"Content-Type", "application/octet-stream"}});

  auto t = events({"show", std::to_string(text)});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("hello\nworld\\x1b[31m"), std::string::npos) << t.out;  // no raw escape
  EXPECT_EQ(events_json({"show", std::to_string(text)})["payload_encoding"], "text");

  auto b = events({"show", std::to_string(binary)});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.out.find("binary body, 12 bytes"), std::string::npos) << b.out;
  json doc = events_json({"show", std::to_string(binary)});
  EXPECT_EQ(doc["payload_encoding"], "base64");
  EXPECT_EQ(doc["payload"], "AAEC//4gYmluYXJ5");
}

TEST_F(EventsCliTest, ShowUnknownIdIsARuntimeFailure) {
  post("demo", "{}");
  auto r = events({"show", "99"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no event 99"), std::string::npos) << r.err;
}

TEST_F(EventsCliTest, TailPrintsTheBacklogThenEachNewEvent) {
  for (int i = 0; i < 12; ++i) post("demo", "{\"type\":\"old\",\"n\":" + std::to_string(i) + "}");
  Process tail(hookmcp_binary(), {"events", "tail", "--db", db_path(), "--json"});
  // The last 10 of 12: ids 3 to 12.
  ASSERT_TRUE(tail.wait_for_stdout("\"id\":12", seconds(10))) << tail.stderr_text();
  std::string backlog = tail.stdout_text();
  EXPECT_EQ(backlog.find("\"id\":2,"), std::string::npos) << backlog;
  EXPECT_NE(backlog.find("\"id\":3,"), std::string::npos) << backlog;

  int64_t id = post("github", R"({"action":"opened"})", {{"X-Event-Type", "pull_request"}});
  ASSERT_TRUE(tail.wait_for_stdout("\"id\":" + std::to_string(id), seconds(10)))
      << tail.stdout_text() << tail.stderr_text();
  std::istringstream lines(tail.stdout_text());
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    auto doc = json::parse(line, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << "not one JSON object per line: " << line;
    EXPECT_EQ(doc["id"], 3 + count);
  }
  EXPECT_EQ(count, 11);

  tail.signal(SIGINT);
  EXPECT_EQ(tail.wait_exit(seconds(5)), 0);
}

TEST_F(EventsCliTest, TailTableFollowsWithFiltersAndStopsOnSigterm) {
  post("demo", R"({"type":"before"})");
  Process tail(hookmcp_binary(), {"events", "tail", "--db", db_path(), "--source", "github"});
  ASSERT_TRUE(tail.wait_for_stderr("following", seconds(10))) << tail.stderr_text();
  post("demo", R"({"type":"ignored.by.filter"})");
  post("github", R"({"ref":"main"})", {{"X-Event-Type", "push"}});
  ASSERT_TRUE(tail.wait_for_stdout("push", seconds(10))) << tail.stdout_text();
  EXPECT_EQ(tail.stdout_text().find("ignored.by.filter"), std::string::npos);
  EXPECT_EQ(tail.stdout_text().find("before"), std::string::npos);
  EXPECT_EQ(tail.stdout_text().rfind("ID", 0), 0u) << tail.stdout_text();
  tail.signal(SIGTERM);
  EXPECT_EQ(tail.wait_exit(seconds(5)), 0);
}

TEST_F(EventsCliTest, SearchFindsWordsInBodiesBestMatchFirst) {
  int64_t refund =
      post("stripe", R"({"type":"charge.refunded","reason":"customer asked for a refund"})");
  post("stripe", R"({"type":"charge.succeeded","note":"nothing to see"})");
  int64_t push =
      post("github", R"({"ref":"main","message":"refund flow fixed"})", {{"X-Event-Type", "push"}});

  auto r = events({"search", "refund"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("MATCH"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("«refund»"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("charge.succeeded"), std::string::npos) << r.out;

  json doc = events_json({"search", "refund"});
  auto found = ids(doc);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<int64_t>{refund, push}));
  EXPECT_NE(doc["events"][0]["snippet"].get<std::string>().find("«"), std::string::npos);
  EXPECT_EQ(ids(events_json({"search", "refund", "--source", "github"})),
            std::vector<int64_t>{push});
  EXPECT_EQ(ids(events_json({"search", "charge.refunded"})), std::vector<int64_t>{refund});

  auto none = events({"search", "zebra"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_NE(none.err.find("no events match"), std::string::npos) << none.err;
  auto empty = events({"search", "\"\""});
  EXPECT_EQ(empty.exit_code, 2) << empty.err;
}

TEST_F(EventsCliTest, ConfigFileNamesTheDatabaseAndItsSecretsAreNotNeeded) {
  int64_t id = post("demo", "{}");
  // A person reading events need not hold the webhook secrets the server was started with.
  std::ofstream(dir_.file("config.json"))
      << json{{"database", db_path()},
              {"sources",
               {{"github", {{"provider", "github"}, {"secrets", {"env:UNSET_FOR_THIS_TEST"}}}},
                {"billing", {{"provider", "standard"}, {"secrets", {"env:UNSET_FOR_THIS_TEST"}}}}}}}
             .dump();
  auto r = run(hookmcp_binary(), {"events", "list", "--json", "--config", dir_.file("config.json")},
               {{"UNSET_FOR_THIS_TEST", ""}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ids(json::parse(r.out)), std::vector<int64_t>{id});
  auto env = run(hookmcp_binary(), {"events", "list", "--json"}, {{"HOOKMCP_DB", db_path()}});
  ASSERT_EQ(env.exit_code, 0) << env.err;
  EXPECT_EQ(ids(json::parse(env.out)), std::vector<int64_t>{id});
}

TEST_F(EventsCliTest, HelpForEveryCommand) {
  for (const char* command : {"list", "show", "tail", "search"}) {
    auto r = run(hookmcp_binary(), {"events", command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_NE(r.out.find("Examples:"), std::string::npos) << command << r.out;
    EXPECT_NE(r.out.find("--db"), std::string::npos) << command;
  }
  auto overview = run(hookmcp_binary(), {"events", "--help"});
  EXPECT_EQ(overview.exit_code, 0);
  EXPECT_NE(overview.out.find("tail"), std::string::npos);
  auto top = run(hookmcp_binary(), {"--help"});
  EXPECT_NE(top.out.find("events"), std::string::npos);
}

// Read in a terminal: no line past 80 columns, and a paragraph's lines filled, not broken early.
TEST_F(EventsCliTest, HelpFitsEightyColumns) {
  for (const char* command : {"--help", "list", "show", "tail", "search"}) {
    std::vector<std::string> args = {"events", command};
    if (std::string(command) != "--help") args.push_back("--help");
    auto r = run(hookmcp_binary(), args);
    ASSERT_EQ(r.exit_code, 0) << command;
    std::istringstream lines(r.out);
    std::string line;
    std::string previous;
    while (std::getline(lines, line)) {
      // Columns, not bytes: « and » are two bytes each.
      size_t columns = 0;
      for (unsigned char c : line) columns += (c & 0xC0) != 0x80;
      EXPECT_LE(columns, 80u) << command << ": " << line;
      // A prose line followed by more prose whose first word would have fitted on it.
      if (!previous.empty() && previous[0] != ' ' && !line.empty() && line[0] != ' ') {
        std::string first_word = line.substr(0, line.find(' '));
        EXPECT_GT(previous.size() + 1 + first_word.size(), 80u)
            << command << ": \"" << previous << "\" breaks early";
      }
      previous = line;
    }
  }
  auto search = run(hookmcp_binary(), {"events", "search", "--help"});
  EXPECT_NE(search.out.find("QUERY is words that must all appear"), std::string::npos);
  auto tail = run(hookmcp_binary(), {"events", "tail", "--help"});
  EXPECT_EQ(tail.out.find("--until VALUE"), std::string::npos) << tail.out;
}

TEST_F(EventsCliTest, BadArgumentsExit2NamingTheProblem) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"events"}, "Usage"},
      {{"events", "frobnicate"}, "unknown command \"frobnicate\""},
      {{"events", "list", "--bogus"}, "unknown option --bogus"},
      {{"events", "list", "--limit", "0"}, "--limit"},
      {{"events", "list", "--limit", "201"}, "--limit"},
      {{"events", "list", "--since", "yesterday"}, "--since"},
      {{"events", "list", "--until", "2026-13-01T00:00:00Z"}, "--until"},
      {{"events", "list", "--status", "maybe"}, "--status"},
      {{"events", "list", "extra"}, "unexpected argument"},
      {{"events", "show"}, "missing the event ID"},
      {{"events", "show", "abc"}, "ID"},
      {{"events", "search"}, "missing the search QUERY"},
      // tail follows what is received from now on: a past --until would print nothing, ever.
      {{"events", "tail", "--until", "1h"}, "--until does not go with tail"},
      {{"events", "tail", "--until=2026-01-01T00:00:00Z"}, "hookmcp events list --until"},
  };
  for (const auto& c : cases) {
    auto args = c.args;
    args.insert(args.end(), {"--db", db_path()});
    if (c.args.size() == 1) args = c.args;
    auto r = run(hookmcp_binary(), args);
    EXPECT_EQ(r.exit_code, 2) << c.args.back() << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

TEST(EventsCliMissingDatabase, IsAClearErrorAndCreatesNothing) {
  TempDir dir;
  std::string path = dir.file("missing/events.db");
  for (const char* command : {"list", "tail", "search"}) {
    std::vector<std::string> args = {"events", command, "--db", path};
    if (std::string(command) == "search") args.push_back("anything");
    auto r = run(hookmcp_binary(), args);
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("hookmcp serve"), std::string::npos) << r.err;
  }
  auto env = run(hookmcp_binary(), {"events", "show", "1"}, {{"HOOKMCP_DB", path}});
  EXPECT_EQ(env.exit_code, 1);
  EXPECT_NE(env.err.find(path), std::string::npos) << env.err;
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing")));
}

TEST(EventsCliMissingDatabase, ANonDatabaseFileIsRefused) {
  TempDir dir;
  std::ofstream(dir.file("notes.db")) << "just some text, not SQLite at all, long enough to look";
  auto r = run(hookmcp_binary(), {"events", "list", "--db", dir.file("notes.db")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("notes.db"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hookmcp::testing
