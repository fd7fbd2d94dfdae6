#include "hookmcp/triggers/triggers.hpp"

#include <gtest/gtest.h>

#include "../../src/triggers/command.hpp"

namespace hookmcp::triggers {
namespace {

using nlohmann::json;

TEST(Glob, StarsStandForAnyRun) {
  EXPECT_TRUE(glob_match("invoice.*", "invoice.paid"));
  EXPECT_TRUE(glob_match("invoice.*", "invoice."));
  EXPECT_FALSE(glob_match("invoice.*", "invoices.paid"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYbc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYYb"));
  EXPECT_TRUE(glob_match("pull_request", "pull_request"));
  EXPECT_FALSE(glob_match("pull_request", "pull_request_review"));
  // No backtracking blow-up.
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

Event event(std::string source, std::string type, std::string body) {
  Event e;
  e.id = 7;
  e.source = std::move(source);
  e.type = std::move(type);
  e.action = "opened";
  e.body = std::move(body);
  return e;
}

TEST(Match, SummaryThenPayload) {
  config::TriggerMatch m;
  m.source = "git*";
  m.type = "pull_request";
  m.payload = {{"/action", "open*"}, {"/number", 7}};
  Match match(m);
  EXPECT_TRUE(match.could_match(event("github", "pull_request", "")));
  EXPECT_FALSE(match.could_match(event("stripe", "pull_request", "")));
  EXPECT_TRUE(match.matches(event("github", "pull_request", R"({"action":"opened","number":7})")));
  EXPECT_FALSE(match.matches(event("github", "pull_request", R"({"action":"closed","number":7})")));
  EXPECT_FALSE(
      match.matches(event("github", "pull_request", R"({"action":"opened","number":"7"})")));
  EXPECT_FALSE(match.matches(event("github", "pull_request", "not json")));
  EXPECT_FALSE(match.exact_source());
  config::TriggerMatch huge;
  huge.payload = {{"/list/99999999999999999999999", 1}};
  EXPECT_FALSE(Match(huge).matches(event("x", "", R"({"list":[1,2]})")));
  // Notices never match, whatever the trigger asks.
  Match any({});
  EXPECT_TRUE(any.matches(event("x", "", "")));
  EXPECT_FALSE(any.could_match(event(kNoticeSource, "trigger.notify", "{}")));
}

TEST(FillMessage, TheSendersWordsAreMarked) {
  json values;
  auto e = event("pd", "incident", R"({"incident":{"title":"DB\ndown","n":3}})");
  EXPECT_EQ(fill_message("{{source}}/{{type}}/{{action}} #{{id}}: {{payload./incident/title}} "
                         "({{payload./incident/n}}, {{payload./missing}})",
                         e, &values),
            "pd/incident/opened #7: \u00abDB down\u00bb (\u00ab3\u00bb, \u00ab\u00bb)");
  EXPECT_EQ(values["payload./incident/title"], "DB down");
  EXPECT_EQ(fill_message("no fields, {{ unclosed", e), "no fields, {{ unclosed");
}

TEST(Command, ExitStatusInputAndEnvironment) {
  Command c;
  c.argv = {"/bin/sh", "-c", "read line; echo \"$line $HOOKMCP_X\"; exit 4"};
  c.env = {"HOOKMCP_X=there"};
  c.input = "hello\n";
  auto r = run_command(c);
  ASSERT_TRUE(r.started) << r.error;
  EXPECT_EQ(r.exit_status, 4);
  EXPECT_EQ(r.output, "hello there\n");
}

TEST(Command, ATimeoutStopsTheWholeGroup) {
  Command c;
  c.argv = {"/bin/sh", "-c", "sleep 30 & sleep 30"};
  c.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto r = run_command(c);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, 15);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Command, AFloodIsReadAndOnlyItsTailKept) {
  Command c;
  c.argv = {"/bin/sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo end"};
  c.keep_output = 100;
  auto r = run_command(c);
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.output_bytes, 3000005u);
  EXPECT_EQ(r.output.size(), 100u);
  EXPECT_EQ(r.output.substr(r.output.size() - 5), "\nend\n");
}

TEST(Command, AMissingCommandSaysSo) {
  Command c;
  c.argv = {"/nonexistent/hookmcp-test-command"};
  auto r = run_command(c);
  EXPECT_FALSE(r.started);
  EXPECT_NE(r.error.find("No such file"), std::string::npos) << r.error;
  // A command that does not read its input does not block or kill the runner.
  c.argv = {"/bin/true"};
  c.input = std::string(1 << 20, 'x');
  r = run_command(c);
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.exit_status, 0);
}

}  // namespace
}  // namespace hookmcp::triggers
