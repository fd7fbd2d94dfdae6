// MCP 2026-07-28 beside the session-based revisions: the era of each request, the checks a
// stateless request passes (mcp/stateless.hpp), and what the era adds to its answers.
#include "hookmcp/mcp/stateless.hpp"

#include <set>

#include "mcp_fixture.hpp"

namespace hookmcp::mcp {
namespace {

const json kMeta = {{kMetaProtocolVersion, "2026-07-28"},
                    {kMetaClientCapabilities, json::object()},
                    {kMetaClientInfo, {{"name", "test"}, {"version", "1"}}}};

class StatelessTest : public McpTest {
 protected:
  // The server and a session nobody initialized.
  void open() {
    ServerOptions options;
    options.version = "1.2.3";
    server_ = std::make_unique<Server>(*store_, bus_, metrics_, options);
    session_ = server_->open_session([this](const json& m) {
      std::lock_guard lock(mu_);
      out_.push_back(m);
      cv_.notify_all();
    });
  }

  // A request of the stateless era: `meta` joins (and overrides) the era's _meta.
  json stateless(const std::string& method, json params = json::object(),
                 const json& meta = json::object()) {
    json m = kMeta;
    m.update(meta);
    params["_meta"] = std::move(m);
    return request(method, std::move(params));
  }
};

TEST_F(StatelessTest, EachRequestHasItsOwnEraOnOneSession) {
  open();
  json tools = stateless("tools/list");
  ASSERT_TRUE(tools.contains("result")) << tools.dump();
  EXPECT_EQ(tools["result"]["resultType"], "complete");
  EXPECT_EQ(tools["result"]["cacheScope"], "public");
  EXPECT_GT(tools["result"]["ttlMs"].get<int64_t>(), 0);
  // The newest revision's fields: titles and output schemas.
  EXPECT_TRUE(tools["result"]["tools"][0].contains("outputSchema"));
  // No initialize happened: a request of the older revisions is still refused...
  EXPECT_TRUE(request("tools/list").contains("error"));
  EXPECT_FALSE(session_->initialized());
  // ...until initialize opens the session, which leaves stateless requests as they were.
  json init = request("initialize", {{"protocolVersion", "2025-03-26"},
                                     {"capabilities", json::object()},
                                     {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  EXPECT_EQ(init["result"]["protocolVersion"], "2025-03-26");
  json old = request("tools/list");
  EXPECT_FALSE(old["result"].contains("resultType"));
  EXPECT_FALSE(old["result"]["tools"][0].contains("outputSchema"));
  json again = stateless("tools/list");
  EXPECT_TRUE(again["result"]["tools"][0].contains("outputSchema"));
  EXPECT_EQ(again["result"]["tools"], tools["result"]["tools"]);
}

TEST_F(StatelessTest, DiscoverNamesTheVersionsCapabilitiesAndServer) {
  open();
  json r = stateless("server/discover")["result"];
  EXPECT_EQ(r["supportedVersions"], json::array({"2026-07-28"}));
  EXPECT_EQ(r["resultType"], "complete");
  EXPECT_TRUE(r.contains("ttlMs") && r.contains("cacheScope"));
  EXPECT_EQ(r["_meta"][kMetaServerInfo]["name"], "hookmcp");
  EXPECT_EQ(r["_meta"][kMetaServerInfo]["version"], "1.2.3");
  for (const char* c : {"tools", "resources", "prompts", "completions", "extensions"}) {
    EXPECT_TRUE(r["capabilities"].contains(c)) << c;
  }
  EXPECT_FALSE(r["capabilities"].contains("experimental"));
  EXPECT_NE(r["instructions"].get<std::string>().find("not by the user"), std::string::npos);
  // server/discover is of the stateless era alone.
  json bare = request("server/discover");
  EXPECT_EQ(bare["error"]["code"], -32602) << bare.dump();
}

TEST_F(StatelessTest, RefusalsCarryTheRequestIdAndTheEraCodes) {
  open();
  json unsupported =
      stateless("tools/list", json::object(), {{kMetaProtocolVersion, "2099-01-01"}});
  EXPECT_EQ(unsupported["error"]["code"], kUnsupportedProtocolVersion);
  EXPECT_EQ(unsupported["error"]["data"],
            json({{"supported", {"2026-07-28"}}, {"requested", "2099-01-01"}}));
  for (const char* method : {"ping", "initialize", "logging/setLevel", "resources/subscribe"}) {
    json r = stateless(method);
    EXPECT_EQ(r["error"]["code"], -32601) << method << r.dump();
  }
  json no_caps = request("tools/list", {{"_meta", {{kMetaProtocolVersion, "2026-07-28"}}}});
  EXPECT_EQ(no_caps["error"]["code"], -32602);
  // The session was not opened by any of it.
  EXPECT_FALSE(session_->initialized());
}

TEST_F(StatelessTest, AMissingResourceIsAnInvalidParameter) {
  open();
  json missing = stateless("resources/read", {{"uri", "hookmcp://events/42"}});
  EXPECT_EQ(missing["error"]["code"], -32602) << missing.dump();
  EXPECT_EQ(missing["error"]["data"]["uri"], "hookmcp://events/42");
  json read = stateless("resources/read", {{"uri", "hookmcp://events"}});
  EXPECT_EQ(read["result"]["cacheScope"], "private");
  EXPECT_EQ(read["result"]["ttlMs"], 0);
}

TEST_F(StatelessTest, LogMessagesOnlyAtTheLevelTheRequestAskedFor) {
  open();
  json quiet = stateless("tools/call", {{"name", "list_sources"}, {"arguments", json::object()}});
  EXPECT_EQ(quiet["result"]["resultType"], "complete");
  json loud = stateless("tools/call", {{"name", "list_sources"}, {"arguments", json::object()}},
                        {{kMetaLogLevel, "debug"}});
  ASSERT_TRUE(loud.contains("result"));
  auto log = notification("notifications/message");
  ASSERT_TRUE(log);
  EXPECT_NE((*log)["params"]["data"].get<std::string>().find("list_sources answered"),
            std::string::npos);
  // Only the one: the quiet call sent none.
  EXPECT_FALSE(notification("notifications/message", milliseconds(200)));
}

TEST_F(StatelessTest, ListenAcknowledgesThenCarriesWhatItAskedForTagged) {
  open();
  json meta = kMeta;
  session_->receive_json({{"jsonrpc", "2.0"},
                          {"id", "sub-1"},
                          {"method", "subscriptions/listen"},
                          {"params",
                           {{"_meta", meta},
                            {"notifications",
                             {{"resourcesListChanged", true},
                              {"toolsListChanged", true},
                              {"resourceSubscriptions",
                               {"hookmcp://events", "hookmcp://sources/github",
                                "hookmcp://events/1", "nope://x"}}}}}}});
  auto ack = notification("notifications/subscriptions/acknowledged");
  ASSERT_TRUE(ack);
  EXPECT_EQ((*ack)["params"]["_meta"][kMetaSubscriptionId], "sub-1");
  // Agreed: what can change. Events never change once stored, and hookmcp's tools never do.
  EXPECT_EQ((*ack)["params"]["notifications"],
            json({{"resourcesListChanged", true},
                  {"resourceSubscriptions", {"hookmcp://events", "hookmcp://sources/github"}}}));

  insert("github", "push", R"({"a":1})");
  auto listed = notification("notifications/resources/list_changed");
  ASSERT_TRUE(listed);
  EXPECT_EQ((*listed)["params"]["_meta"][kMetaSubscriptionId], "sub-1");
  std::set<std::string> updated;
  for (int i = 0; i < 2; ++i) {
    auto u = notification("notifications/resources/updated");
    ASSERT_TRUE(u);
    EXPECT_EQ((*u)["params"]["_meta"][kMetaSubscriptionId], "sub-1");
    updated.insert((*u)["params"]["uri"].get<std::string>());
  }
  EXPECT_EQ(updated, (std::set<std::string>{"hookmcp://events", "hookmcp://sources/github"}));
  // Another source's event touches only the feed of all events, and is no new source twice.
  insert("github", "push", R"({"a":2})");
  insert("stripe", "charge", R"({"a":3})");
  int events_updates = 0;
  while (auto u = notification("notifications/resources/updated", milliseconds(300))) {
    if ((*u)["params"]["uri"] == "hookmcp://events") ++events_updates;
  }
  EXPECT_GE(events_updates, 1);
  // The old era's notifications never reach a listener: no channel pushes, no log messages.
  EXPECT_FALSE(notification("notifications/claude/channel", milliseconds(100)));
  EXPECT_FALSE(notification("notifications/message", milliseconds(100)));

  // Ending the server answers the listener: its subscription is over.
  server_.reset();
  auto end = wait_for([](const json& m) { return m.value("id", json()) == "sub-1"; });
  ASSERT_TRUE(end);
  EXPECT_EQ((*end)["result"]["resultType"], "complete");
  EXPECT_EQ((*end)["result"]["_meta"][kMetaSubscriptionId], "sub-1");
}

TEST_F(StatelessTest, ACancelledListenHearsNothingMore) {
  open();
  session_->receive_json(
      {{"jsonrpc", "2.0"},
       {"id", 9},
       {"method", "subscriptions/listen"},
       {"params",
        {{"_meta", kMeta}, {"notifications", {{"resourceSubscriptions", {"hookmcp://events"}}}}}}});
  ASSERT_TRUE(notification("notifications/subscriptions/acknowledged"));
  session_->receive_json(
      {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 9}}}});
  insert("github", "push", "{}");
  EXPECT_FALSE(notification("notifications/resources/updated", milliseconds(300)));
  // And nothing answers the cancelled request.
  EXPECT_FALSE(
      wait_for([](const json& m) { return m.value("id", json()) == 9; }, milliseconds(100)));
  // Without notifications to name, the request is refused.
  json bad = stateless("subscriptions/listen");
  EXPECT_EQ(bad["error"]["code"], -32602);
}

// A catalog tool that asks for input the 2026 way: its answer is input_required, and the next
// round brings the client's answers and the state back to it.
TEST_F(StatelessTest, ToolsAskForInputAcrossRoundsAndDeclareWhatTheyNeed) {
  auto catalog = std::make_shared<Catalog>();
  CatalogTool ask;
  ask.name = "ask";
  ask.call = [](const json&, const std::shared_ptr<ToolContext>& ctx,
                const std::function<void(Result<json>)>& done) {
    const RoundTrip& round = ctx->round_trip();
    if (!round.stateless) {
      done(make_error(ErrorCode::kInvalidArgument, "only in MCP 2026-07-28"));
      return;
    }
    if (round.request_state && *round.request_state == "forged") {
      done(rpc::protocol_error(ErrorCode::kInvalidArgument, rpc::kInvalidParams, "bad state"));
      return;
    }
    if (round.input_responses.is_null()) {
      done(json{{"resultType", "input_required"},
                {"inputRequests", {{"q", {{"method", "roots/list"}, {"params", json::object()}}}}},
                {"requestState", "s1"}});
      return;
    }
    done(json{{"content", json::array({{{"type", "text"},
                                        {"text", round.input_responses.dump() + " " +
                                                     round.request_state.value_or("-")}}})}});
  };
  catalog->tools.push_back(ask);
  CatalogTool needy;
  needy.name = "needy";
  needy.required_client_capabilities = {{"sampling", json::object()}};
  needy.call = [](const json&, const std::shared_ptr<ToolContext>&,
                  const std::function<void(Result<json>)>& done) {
    done(json{{"content", json::array()}});
  };
  catalog->tools.push_back(needy);
  ServerOptions options;
  options.catalog = catalog;
  server_ = std::make_unique<Server>(*store_, bus_, metrics_, options);
  session_ = server_->open_session([this](const json& m) {
    std::lock_guard lock(mu_);
    out_.push_back(m);
    cv_.notify_all();
  });

  json first = stateless("tools/call", {{"name", "ask"}});
  EXPECT_EQ(first["result"]["resultType"], "input_required") << first.dump();
  EXPECT_EQ(first["result"]["requestState"], "s1");
  json second = stateless("tools/call", {{"name", "ask"},
                                         {"inputResponses", {{"q", {{"roots", json::array()}}}}},
                                         {"requestState", "s1"}});
  EXPECT_EQ(second["result"]["resultType"], "complete");
  EXPECT_EQ(second["result"]["content"][0]["text"], R"({"q":{"roots":[]}} s1)");
  // A protocol error of the tool's own is that JSON-RPC error, not a tool result.
  json forged =
      stateless("tools/call",
                {{"name", "ask"}, {"inputResponses", json::object()}, {"requestState", "forged"}});
  EXPECT_EQ(forged["error"]["code"], -32602) << forged.dump();
  json wrong = stateless("tools/call", {{"name", "ask"}, {"inputResponses", 12345}});
  EXPECT_EQ(wrong["error"]["code"], -32602) << wrong.dump();

  // Declared per request: without sampling the tool does not run.
  json refused = stateless("tools/call", {{"name", "needy"}});
  EXPECT_EQ(refused["error"]["code"], kMissingClientCapability) << refused.dump();
  EXPECT_EQ(refused["error"]["data"]["requiredCapabilities"], json({{"sampling", json::object()}}));
  json served = stateless("tools/call", {{"name", "needy"}},
                          {{kMetaClientCapabilities, {{"sampling", json::object()}}}});
  EXPECT_EQ(served["result"]["resultType"], "complete") << served.dump();
}

// What the HTTP transport checks before a stateless request is served, in the order the
// revision gives.
TEST(StatelessChecks, HeadersMustAgreeWithTheBody) {
  json discover = {
      {"jsonrpc", "2.0"}, {"id", 5}, {"method", "server/discover"}, {"params", {{"_meta", kMeta}}}};
  StatelessHeaders ok{"2026-07-28", "server/discover", std::nullopt};
  EXPECT_FALSE(check_stateless_request(discover, &ok));
  EXPECT_FALSE(check_stateless_request(discover));

  StatelessHeaders no_version{std::nullopt, "server/discover", std::nullopt};
  auto r = check_stateless_request(discover, &no_version);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->http_status, 400);
  EXPECT_EQ(r->response["error"]["code"], kHeaderMismatch);
  EXPECT_EQ(r->response["id"], 5);

  StatelessHeaders other_method{"2026-07-28", "tools/list", std::nullopt};
  EXPECT_EQ(check_stateless_request(discover, &other_method)->response["error"]["code"],
            kHeaderMismatch);

  json call = {{"jsonrpc", "2.0"},
               {"id", "x"},
               {"method", "tools/call"},
               {"params", {{"name", "get_event"}, {"_meta", kMeta}}}};
  StatelessHeaders named{"2026-07-28", "tools/call", "get_event"};
  EXPECT_FALSE(check_stateless_request(call, &named));
  StatelessHeaders unnamed{"2026-07-28", "tools/call", std::nullopt};
  EXPECT_EQ(check_stateless_request(call, &unnamed)->response["error"]["code"], kHeaderMismatch);
  StatelessHeaders misnamed{"2026-07-28", "tools/call", "ack_events"};
  EXPECT_EQ(check_stateless_request(call, &misnamed)->response["error"]["code"], kHeaderMismatch);

  // A _meta that is missing comes before a header that disagrees with it.
  json bare = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "server/discover"}, {"params", {}}};
  auto missing = check_stateless_request(bare, &ok);
  EXPECT_EQ(missing->response["error"]["code"], -32602);
  EXPECT_EQ(missing->http_status, 400);
  // A version nobody serves, named alike in header and body.
  json future = discover;
  future["params"]["_meta"][kMetaProtocolVersion] = "v999.0.0";
  StatelessHeaders future_headers{"v999.0.0", "server/discover", std::nullopt};
  EXPECT_EQ(check_stateless_request(future, &future_headers)->response["error"]["code"],
            kUnsupportedProtocolVersion);
  EXPECT_EQ(check_stateless_request(future, &ok)->response["error"]["code"], kHeaderMismatch);
  // Methods of the sessions: 404.
  json ping = discover;
  ping["method"] = "ping";
  StatelessHeaders ping_headers{"2026-07-28", "ping", std::nullopt};
  auto refused = check_stateless_request(ping, &ping_headers);
  EXPECT_EQ(refused->http_status, 404);
  EXPECT_EQ(refused->response["error"]["code"], -32601);
  // Notifications are never answered.
  json cancelled = {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {}}};
  EXPECT_FALSE(check_stateless_request(cancelled, &no_version));
}

TEST(StatelessChecks, ParameterHeadersMustAgreeWithTheArguments) {
  json schema = {{"type", "object"},
                 {"properties",
                  {{"region", {{"type", "string"}, {"x-mcp-header", "Region"}}},
                   {"count", {{"type", "integer"}, {"x-mcp-header", "Count"}}},
                   {"dry", {{"type", "boolean"}, {"x-mcp-header", "Dry"}}},
                   {"note", {{"type", "string"}}}}}};
  auto call = [](json arguments) {
    return json{{"jsonrpc", "2.0"},
                {"id", 3},
                {"method", "tools/call"},
                {"params", {{"name", "t"}, {"arguments", std::move(arguments)}}}};
  };
  auto with = [](std::map<std::string, std::string> headers) {
    return
        [headers = std::move(headers)](const std::string& name) -> std::optional<std::string_view> {
          auto it = headers.find(name);
          if (it == headers.end()) return std::nullopt;
          return std::string_view(it->second);
        };
  };
  json args = {{"region", "Hello"}, {"count", 42}, {"dry", true}, {"note", "x"}};
  EXPECT_FALSE(check_param_headers(call(args), schema,
                                   with({{"Region", "Hello"}, {"Count", "42"}, {"Dry", "true"}})));
  // Base64 when wrapped, literal otherwise.
  EXPECT_FALSE(check_param_headers(
      call(args), schema,
      with({{"Region", "=?base64?SGVsbG8=?="}, {"Count", "42"}, {"Dry", "true"}})));
  EXPECT_FALSE(check_param_headers(call({{"region", "=?base64?SGVsbG8="}}), schema,
                                   with({{"Region", "=?base64?SGVsbG8="}})));
  // Wrapped but not base64 (padding, alphabet), missing, or disagreeing: -32020.
  for (const char* bad : {"=?base64?SGVsbG8?=", "=?base64?SGVs!!!bG8=?=", "Goodbye"}) {
    auto r = check_param_headers(call({{"region", "Hello"}}), schema, with({{"Region", bad}}));
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->http_status, 400);
    EXPECT_EQ(r->response["error"]["code"], kHeaderMismatch);
    EXPECT_EQ(r->response["id"], 3);
  }
  EXPECT_TRUE(check_param_headers(call({{"count", 42}}), schema, with({})));
  EXPECT_TRUE(check_param_headers(call({{"dry", false}}), schema, with({{"Dry", "true"}})));
  // Absent or null arguments need no header.
  EXPECT_FALSE(check_param_headers(call({{"region", nullptr}, {"note", "x"}}), schema, with({})));
}

TEST(StatelessChecks, TheEraOfAMessage) {
  EXPECT_TRUE(is_stateless_message({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "server/discover"}}));
  EXPECT_TRUE(is_stateless_message(
      {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}, {"params", {{"_meta", kMeta}}}}));
  EXPECT_FALSE(is_stateless_message({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"}}));
  EXPECT_FALSE(is_stateless_message(
      {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}, {"params", {{"_meta", {}}}}}));
  EXPECT_FALSE(is_stateless_message(json::array()));
}

}  // namespace
}  // namespace hookmcp::mcp
