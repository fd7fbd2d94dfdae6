// MCP Events' poll and push through a session: events/list, events/poll and events/stream, in
// both eras, their cursors, and the errors their arguments get.
#include "hookmcp/events/events.hpp"
#include "hookmcp/mcp/stateless.hpp"
#include "mcp_fixture.hpp"

namespace hookmcp::mcp {
namespace {

class EventsTest : public McpTest {
 protected:
  json start_events(ServerOptions options = {}) {
    options.clock = &clock_;
    return start(std::move(options));
  }

  json poll(json params) {
    if (!params.contains("name")) params["name"] = "webhook.received";
    return request("events/poll", std::move(params));
  }

  // The result of a request that must succeed.
  static json ok(const json& response) {
    EXPECT_TRUE(response.contains("result")) << response.dump();
    return response.value("result", json());
  }

  static json ids_of(const json& occurrences) {
    json ids = json::array();
    for (const auto& o : occurrences) ids.push_back(o["data"]["id"]);
    return ids;
  }
};

TEST_F(EventsTest, BothErasAdvertiseTheExtensionAndTheEarlierCapability) {
  json init = start_events();
  EXPECT_TRUE(init["result"]["capabilities"]["events"].is_object()) << init.dump();
  json discover = request(
      "server/discover",
      {{"_meta",
        {{kMetaProtocolVersion, "2026-07-28"}, {kMetaClientCapabilities, json::object()}}}});
  const json& caps = discover["result"]["capabilities"];
  EXPECT_TRUE(caps["extensions"][events::kExtension].is_object()) << discover.dump();
  EXPECT_TRUE(caps["events"].is_object());
}

TEST_F(EventsTest, ListOffersWebhookReceivedWithItsSchemasAndWebhookModeOnlyWhenServed) {
  start_events();
  json r = ok(request("events/list"));
  ASSERT_EQ(r["events"].size(), 1u);
  const json& e = r["events"][0];
  EXPECT_EQ(e["name"], "webhook.received");
  EXPECT_EQ(e["delivery"], json::array({"poll", "push"}));  // no Webhooks in this server
  EXPECT_EQ(e["inputSchema"]["type"], "object");
  EXPECT_TRUE(e["inputSchema"]["properties"].contains("match"));
  EXPECT_FALSE(e["inputSchema"]["additionalProperties"].get<bool>());
  EXPECT_TRUE(e["payloadSchema"]["properties"].contains("payload"));
}

TEST_F(EventsTest, WithoutWebhookModeSubscribeIsUnsupported) {
  start_events();
  json r = request(
      "events/subscribe",
      {{"name", "webhook.received"},
       {"delivery", {{"mode", "webhook"}, {"url", "https://x.example/"}, {"secret", "s"}}}});
  EXPECT_EQ(r["error"]["code"], events::kUnsupported) << r.dump();
  EXPECT_EQ(r["error"]["data"]["value"], "webhook");
}

TEST_F(EventsTest, PollFromNowThenByCursorGetsEachMatchingEventOnce) {
  start_events();
  insert("github", "push", R"({"before":true})");
  json first = ok(poll({{"arguments", {{"source", "github"}}}, {"cursor", nullptr}}));
  EXPECT_EQ(first["events"], json::array());  // null: from now, nothing replayed
  EXPECT_FALSE(first["truncated"].get<bool>());
  EXPECT_FALSE(first["hasMore"].get<bool>());
  EXPECT_GE(first["nextPollMs"].get<int>(), 1000);
  int64_t a = insert("github", "push", R"({"n":1})");
  insert("stripe", "invoice.paid", R"({"n":2})");
  int64_t c = insert("github", "issues", R"({"n":3})");
  json second = ok(poll({{"arguments", {{"source", "github"}}}, {"cursor", first["cursor"]}}));
  EXPECT_EQ(ids_of(second["events"]), json::array({a, c}));
  const json& o = second["events"][0];
  EXPECT_EQ(o["eventId"], "evt_" + std::to_string(a));
  EXPECT_EQ(o["name"], "webhook.received");
  EXPECT_FALSE(o.contains("cursor"));  // poll carries its cursor in the result
  EXPECT_EQ(o["data"]["payload"], json({{"n", 1}}));
  EXPECT_EQ(o["data"]["source"], "github");
  EXPECT_NE(o["data"]["payload_notice"].get<std::string>().find("not by the user"),
            std::string::npos);
  EXPECT_FALSE(o["data"].contains("headers"));
  EXPECT_EQ(o["timestamp"].get<std::string>().back(), 'Z');
  json third = ok(poll({{"arguments", {{"source", "github"}}}, {"cursor", second["cursor"]}}));
  EXPECT_EQ(third["events"], json::array());
  EXPECT_EQ(third["cursor"], second["cursor"]);
}

TEST_F(EventsTest, PollPagesWithHasMoreAndFiltersByTypeActionAndPayload) {
  start_events();
  for (int i = 0; i < 5; ++i) {
    insert("ci", "workflow_run",
           json{{"action", "completed"},
                {"workflow_run", {{"conclusion", i % 2 ? "failure" : "success"}}}}
               .dump());
  }
  json page = ok(poll({{"cursor", "0"}, {"maxEvents", 2}}));
  EXPECT_EQ(ids_of(page["events"]), json::array({1, 2}));
  EXPECT_TRUE(page["hasMore"].get<bool>());
  EXPECT_EQ(page["nextPollMs"], 0);
  json failures = ok(poll({{"cursor", "0"},
                           {"arguments",
                            {{"type", "workflow_run"},
                             {"match", {{"/workflow_run/conclusion", "failure"}}},
                             {"include_payload", false}}}}));
  EXPECT_EQ(ids_of(failures["events"]), json::array({2, 4}));
  EXPECT_FALSE(failures["events"][0]["data"].contains("payload"));
  EXPECT_EQ(failures["cursor"], "5");  // past every event looked at
}

TEST_F(EventsTest, BadNamesArgumentsAndCursorsAreRefusedSayingWhat) {
  start_events();
  json unknown = poll({{"name", "email.received"}});
  EXPECT_EQ(unknown["error"]["code"], events::kNotFound) << unknown.dump();
  EXPECT_EQ(unknown["error"]["data"]["kind"], "event");
  struct Case {
    json params;
    std::string says;
  };
  for (const auto& c : std::vector<Case>{
           {{{"arguments", {{"repo", "x"}}}}, "arguments.repo is not an argument"},
           {{{"arguments", {{"source", 7}}}}, "arguments.source must be a non-empty string"},
           {{{"arguments", {{"source", "../x"}}}}, "arguments.source: a source name"},
           {{{"arguments", {{"match", {{"action", "x"}}}}}}, "is not a JSON Pointer"},
           {{{"arguments", {{"include_payload", "yes"}}}}, "include_payload must be true or false"},
           {{{"arguments", json::array()}}, "params.arguments must be an object"},
           {{{"cursor", "abc"}}, "is not a cursor of this server"},
           {{{"cursor", 12}}, "is not a cursor of this server"},
           {{{"maxEvents", 0}}, "maxEvents must be an integer from 1"},
           {{{"maxAgeMs", -1}}, "maxAgeMs must be an integer"},
       }) {
    json r = poll(c.params);
    EXPECT_EQ(r["error"]["code"], rpc::kInvalidParams) << c.params.dump() << " " << r.dump();
    EXPECT_NE(r["error"]["message"].get<std::string>().find(c.says), std::string::npos) << r.dump();
  }
}

TEST_F(EventsTest, ACursorBehindRetentionIsTruncatedAndMaxAgeSkipsOldEvents) {
  start_events();
  for (int i = 0; i < 4; ++i) insert("dev", "ping", "{}");
  session_.reset();
  server_.reset();
  reopen([](store::Options& o) { o.retention_max_events = 2; });
  start_events();
  for (int i = 0; i < 500 && *store_->pruned_through() < 2; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  json behind = ok(poll({{"cursor", "1"}}));
  EXPECT_TRUE(behind["truncated"].get<bool>());
  EXPECT_EQ(ids_of(behind["events"]), json::array({3, 4}));
  json current = ok(poll({{"cursor", "2"}}));
  EXPECT_FALSE(current["truncated"].get<bool>());
  // maxAgeMs: only what arrived in the last minute.
  clock_.set_ms(clock_.now_ms() + 3'600'000);
  int64_t fresh = insert("dev", "ping", "{}");
  json young = ok(poll({{"cursor", "2"}, {"maxAgeMs", 60'000}}));
  EXPECT_TRUE(young["truncated"].get<bool>());
  EXPECT_EQ(ids_of(young["events"]), json::array({fresh}));
}

TEST_F(EventsTest, AStatelessPollIsAnsweredWithItsEra) {
  start_events();
  insert("github", "push", "{}");
  json r = request(
      "events/poll",
      {{"name", "webhook.received"},
       {"cursor", "0"},
       {"_meta",
        {{kMetaProtocolVersion, "2026-07-28"}, {kMetaClientCapabilities, json::object()}}}});
  EXPECT_EQ(r["result"]["resultType"], "complete") << r.dump();
  EXPECT_EQ(r["result"]["events"].size(), 1u);
}

TEST_F(EventsTest, AStreamSaysActiveThenPushesEachMatchingEventWithItsCursor) {
  start_events();
  int64_t before = insert("github", "push", R"({"n":0})");
  session_->receive_json({{"jsonrpc", "2.0"},
                          {"id", "s1"},
                          {"method", "events/stream"},
                          {"params",
                           {{"name", "webhook.received"},
                            {"arguments", {{"source", "github"}}},
                            {"cursor", std::to_string(before - 1)}}}});
  auto active = notification("notifications/events/active");
  ASSERT_TRUE(active);
  EXPECT_EQ((*active)["params"]["cursor"], std::to_string(before - 1));
  EXPECT_EQ((*active)["params"]["_meta"][kMetaSubscriptionId], "s1");
  // What the cursor had not reached, then what arrives.
  auto replayed = notification("notifications/events/event");
  ASSERT_TRUE(replayed);
  EXPECT_EQ((*replayed)["params"]["data"]["id"], before);
  EXPECT_EQ((*replayed)["params"]["cursor"], std::to_string(before));
  insert("stripe", "invoice.paid", "{}");
  int64_t live = insert("github", "issues", R"({"n":1})");
  auto pushed = notification("notifications/events/event");
  ASSERT_TRUE(pushed);
  EXPECT_EQ((*pushed)["params"]["data"]["id"], live);
  EXPECT_EQ((*pushed)["params"]["eventId"], "evt_" + std::to_string(live));
  EXPECT_EQ((*pushed)["params"]["_meta"][kMetaSubscriptionId], "s1");
  EXPECT_FALSE(notification("notifications/events/event", milliseconds(200)));
  // The client cancels: nothing more.
  session_->receive_json({{"jsonrpc", "2.0"},
                          {"method", "notifications/cancelled"},
                          {"params", {{"requestId", "s1"}}}});
  insert("github", "push", "{}");
  EXPECT_FALSE(notification("notifications/events/event", milliseconds(300)));
}

TEST_F(EventsTest, AQuietStreamSendsHeartbeatsWithTheCursorAndEndsWithTheSession) {
  ServerOptions options;
  options.events_heartbeat = milliseconds(50);
  start_events(options);
  insert("dev", "ping", "{}");
  session_->receive_json(
      {{"jsonrpc", "2.0"},
       {"id", 9},
       {"method", "events/stream"},
       {"params", {{"name", "webhook.received"}, {"arguments", {{"source", "other"}}}}}});
  ASSERT_TRUE(notification("notifications/events/active"));
  insert("dev", "ping", "{}");  // not of this stream, but the cursor passes it
  auto beat = notification("notifications/events/heartbeat");
  ASSERT_TRUE(beat);
  EXPECT_EQ((*beat)["params"]["_meta"][kMetaSubscriptionId], 9);
  for (int i = 0; i < 20 && (*beat)["params"]["cursor"] != "2"; ++i) {
    beat = notification("notifications/events/heartbeat");
    ASSERT_TRUE(beat);
  }
  EXPECT_EQ((*beat)["params"]["cursor"], "2");
  session_->close();
  auto ended = wait_for([](const json& m) { return m.contains("id") && m["id"] == 9; });
  ASSERT_TRUE(ended);
  EXPECT_EQ((*ended)["result"]["_meta"][kMetaSubscriptionId], 9);
}

TEST_F(EventsTest, AStreamWithBadArgumentsIsAnErrorAndNoStream) {
  start_events();
  json r = request("events/stream", {{"name", "webhook.received"}, {"cursor", "x"}});
  EXPECT_EQ(r["error"]["code"], rpc::kInvalidParams);
  EXPECT_FALSE(notification("notifications/events/active", milliseconds(100)));
}

}  // namespace
}  // namespace hookmcp::mcp
