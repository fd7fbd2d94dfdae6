// JSON-RPC 2.0: golden messages in, golden messages out.
#include "hookmcp/rpc/rpc.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

namespace hookmcp::rpc {
namespace {

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dispatcher_.add("echo", [](const std::shared_ptr<CallContext>&, json params, Reply reply) {
      reply(std::move(params));
    });
    dispatcher_.add("fail_invalid", [](const auto&, json, Reply reply) {
      reply(make_error(ErrorCode::kInvalidArgument, "limit must be at most 200"));
    });
    dispatcher_.add("fail_not_found", [](const auto&, json, Reply reply) {
      reply(make_error(ErrorCode::kNotFound, "no such resource"));
    });
    dispatcher_.add("fail_internal", [](const auto&, json, Reply reply) {
      reply(make_error(ErrorCode::kUnavailable, "disk full"));
    });
    dispatcher_.add_notification(
        "note", [this](const std::shared_ptr<CallContext>& call, json params, Reply) {
          notes_.push_back(params);
          EXPECT_FALSE(call->is_request());
        });
    // Answers later, from the test: a request that blocks.
    dispatcher_.add("slow", [this](const std::shared_ptr<CallContext>& call, json, Reply reply) {
      slow_calls_.push_back(call);
      slow_.push_back(std::move(reply));
    });
    conn_ = Connection::create(dispatcher_, [this](const json& m) {
      std::lock_guard lock(mu_);
      out_.push_back(m);
    });
  }

  std::vector<json> take() {
    std::lock_guard lock(mu_);
    return std::exchange(out_, {});
  }

  Dispatcher dispatcher_;
  std::shared_ptr<Connection> conn_;
  std::mutex mu_;
  std::vector<json> out_;
  std::vector<json> notes_;
  std::vector<Reply> slow_;
  std::vector<std::shared_ptr<CallContext>> slow_calls_;
};

struct Golden {
  const char* name;
  const char* in;
  std::vector<const char*> out;  // the messages sent back, in order
};

TEST_F(RpcTest, GoldenMessages) {
  const std::vector<Golden> cases = {
      {"request with integer id",
       R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":[1,2]}})",
       {R"({"jsonrpc":"2.0","id":1,"result":{"a":[1,2]}})"}},
      {"request with string id",
       R"({"jsonrpc":"2.0","id":"x-1","method":"echo"})",
       {R"({"jsonrpc":"2.0","id":"x-1","result":{}})"}},
      {"parse error has a null id",
       R"({"jsonrpc":"2.0","id":1,)",
       {R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: the message is not valid JSON"}})"}},
      {"empty batch",
       "[]",
       {R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: empty batch"}})"}},
      {"not an object",
       R"("ping")",
       {R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: a message is a JSON object"}})"}},
      {"wrong version",
       R"({"jsonrpc":"1.0","id":7,"method":"echo"})",
       {R"({"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"invalid request: jsonrpc must be \"2.0\""}})"}},
      {"null id is refused",
       R"({"jsonrpc":"2.0","id":null,"method":"echo"})",
       {R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: id must be a string or an integer"}})"}},
      {"fractional id is refused",
       R"({"jsonrpc":"2.0","id":1.5,"method":"echo"})",
       {R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: id must be a string or an integer"}})"}},
      {"method missing",
       R"({"jsonrpc":"2.0","id":3})",
       {R"({"jsonrpc":"2.0","id":3,"error":{"code":-32600,"message":"invalid request: method is missing"}})"}},
      {"method not a string",
       R"({"jsonrpc":"2.0","id":3,"method":5})",
       {R"({"jsonrpc":"2.0","id":3,"error":{"code":-32600,"message":"invalid request: method must be a string"}})"}},
      {"params not structured",
       R"({"jsonrpc":"2.0","id":4,"method":"echo","params":3})",
       {R"({"jsonrpc":"2.0","id":4,"error":{"code":-32600,"message":"invalid request: params must be an object or an array"}})"}},
      {"unknown method",
       R"({"jsonrpc":"2.0","id":5,"method":"tools/nope"})",
       {R"({"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"method not found: tools/nope"}})"}},
      {"unknown notification is not answered",
       R"({"jsonrpc":"2.0","method":"notifications/nope"})",
       {}},
      {"notification to a method is not answered", R"({"jsonrpc":"2.0","method":"echo"})", {}},
      {"invalid argument",
       R"({"jsonrpc":"2.0","id":6,"method":"fail_invalid"})",
       {R"({"jsonrpc":"2.0","id":6,"error":{"code":-32602,"message":"limit must be at most 200"}})"}},
      {"not found",
       R"({"jsonrpc":"2.0","id":6,"method":"fail_not_found"})",
       {R"({"jsonrpc":"2.0","id":6,"error":{"code":-32002,"message":"no such resource"}})"}},
      {"internal",
       R"({"jsonrpc":"2.0","id":6,"method":"fail_internal"})",
       {R"({"jsonrpc":"2.0","id":6,"error":{"code":-32603,"message":"disk full"}})"}},
      {"object id is refused",
       R"({"jsonrpc":"2.0","id":{"a":1},"method":"echo"})",
       {R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: id must be a string or an integer"}})"}},
      {"boolean id is refused",
       R"({"jsonrpc":"2.0","id":true,"method":"echo"})",
       {R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: id must be a string or an integer"}})"}},
      {"an id past 2^63 is still an integer",
       R"({"jsonrpc":"2.0","id":9223372036854775808,"method":"echo"})",
       {R"({"jsonrpc":"2.0","id":9223372036854775808,"result":{}})"}},
      {"a notification's method sent with an id is refused",
       R"({"jsonrpc":"2.0","id":8,"method":"note"})",
       {R"({"jsonrpc":"2.0","id":8,"error":{"code":-32600,"message":"invalid request: note is a notification: send it without an id"}})"}},
      {"a bad batch entry is answered",
       R"([{"jsonrpc":"2.0","id":1,"method":"echo"},5])",
       {R"({"jsonrpc":"2.0","id":1,"result":{}})",
        R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: a message is a JSON object"}})"}},
      {"a response from the peer is ignored", R"({"jsonrpc":"2.0","id":9,"result":{}})", {}},
      {"batch: each request answered, notifications not",
       R"([{"jsonrpc":"2.0","id":1,"method":"echo","params":{"n":1}},{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","id":2,"method":"echo","params":{"n":2}}])",
       {R"({"jsonrpc":"2.0","id":1,"result":{"n":1}})",
        R"({"jsonrpc":"2.0","id":2,"result":{"n":2}})"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    conn_->receive(c.in);
    auto out = take();
    ASSERT_EQ(out.size(), c.out.size());
    for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], json::parse(c.out[i]));
  }
  EXPECT_EQ(conn_->in_flight(), 0u);
}

TEST_F(RpcTest, NotificationsReachTheirHandler) {
  conn_->receive(R"({"jsonrpc":"2.0","method":"note","params":{"x":1}})");
  ASSERT_EQ(notes_.size(), 1u);
  EXPECT_EQ(notes_[0], json({{"x", 1}}));
  EXPECT_TRUE(take().empty());
}

TEST_F(RpcTest, ASlowRequestDoesNotHoldUpTheNext) {
  conn_->receive(R"({"jsonrpc":"2.0","id":1,"method":"slow"})");
  conn_->receive(R"({"jsonrpc":"2.0","id":2,"method":"echo"})");
  auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["id"], 2);
  EXPECT_EQ(conn_->in_flight(), 1u);
  slow_[0](json{{"done", true}});
  out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], json::parse(R"({"jsonrpc":"2.0","id":1,"result":{"done":true}})"));
  // A second reply to the same request sends nothing.
  slow_[0](json{{"again", true}});
  EXPECT_TRUE(take().empty());
}

TEST_F(RpcTest, ACancelledRequestRunsItsHookAndIsNeverAnswered) {
  conn_->receive(R"({"jsonrpc":"2.0","id":"w","method":"slow"})");
  bool hook_ran = false;
  slow_calls_[0]->on_cancel([&] { hook_ran = true; });
  conn_->cancel("w");
  EXPECT_TRUE(hook_ran);
  EXPECT_TRUE(slow_calls_[0]->cancelled());
  slow_[0](json::object());
  EXPECT_TRUE(take().empty());
  // The id is free again.
  conn_->receive(R"({"jsonrpc":"2.0","id":"w","method":"echo"})");
  EXPECT_EQ(take().size(), 1u);
}

TEST_F(RpcTest, AnIdInFlightCannotBeReused) {
  conn_->receive(R"({"jsonrpc":"2.0","id":1,"method":"slow"})");
  conn_->receive(R"({"jsonrpc":"2.0","id":1,"method":"echo"})");
  auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["error"]["code"], kInvalidRequest);
  EXPECT_EQ(out[0]["id"], 1);
}

TEST_F(RpcTest, NothingIsSentAfterClose) {
  conn_->receive(R"({"jsonrpc":"2.0","id":1,"method":"slow"})");
  bool hook_ran = false;
  slow_calls_[0]->on_cancel([&] { hook_ran = true; });
  conn_->close();
  EXPECT_TRUE(hook_ran);
  slow_[0](json::object());
  conn_->notify("notifications/message", json::object());
  conn_->receive(R"({"jsonrpc":"2.0","id":2,"method":"echo"})");
  EXPECT_TRUE(take().empty());
}

TEST_F(RpcTest, WaitIdleReturnsOnceEveryAnswerIsSent) {
  EXPECT_TRUE(conn_->wait_idle(std::chrono::milliseconds(0)));
  conn_->receive(R"({"jsonrpc":"2.0","id":1,"method":"slow"})");
  EXPECT_FALSE(conn_->wait_idle(std::chrono::milliseconds(10)));
  std::thread answer([this] { slow_[0](json::object()); });
  EXPECT_TRUE(conn_->wait_idle(std::chrono::seconds(5)));
  answer.join();
  EXPECT_EQ(take().size(), 1u);  // the answer went out before wait_idle returned
  conn_->receive(R"({"jsonrpc":"2.0","id":2,"method":"slow"})");
  conn_->cancel(2);
  EXPECT_TRUE(conn_->wait_idle(std::chrono::milliseconds(0)));
}

TEST_F(RpcTest, NotifySendsANotification) {
  conn_->notify("notifications/progress", {{"progress", 1}});
  auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0],
            json::parse(
                R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}})"));
}

TEST(RpcErrors, OneMappingFromFailureToCode) {
  EXPECT_EQ(to_error_object(make_error(ErrorCode::kInvalidArgument, "x")).code, kInvalidParams);
  EXPECT_EQ(to_error_object(make_error(ErrorCode::kNotFound, "x")).code, kResourceNotFound);
  EXPECT_EQ(to_error_object(make_error(ErrorCode::kIo, "x")).code, kInternalError);
  EXPECT_EQ(to_error_object(make_error(ErrorCode::kInternal, "x")).message, "x");
  // A protocol's own code and data pass through unchanged.
  auto own =
      to_error_object(protocol_error(ErrorCode::kInvalidArgument, -32021, "needs sampling",
                                     {{"requiredCapabilities", {{"sampling", json::object()}}}}));
  EXPECT_EQ(own.code, -32021);
  EXPECT_EQ(own.message, "needs sampling");
  EXPECT_EQ(own.data, json({{"requiredCapabilities", {{"sampling", json::object()}}}}));
  EXPECT_TRUE(to_error_object(make_error(ErrorCode::kIo, "x")).data.is_null());
}

TEST_F(RpcTest, RequestsToThePeerGetTheirResponses) {
  std::vector<Result<json>> answers;
  conn_->request("sampling/createMessage", {{"maxTokens", 10}},
                 [&](Result<json> r) { answers.push_back(std::move(r)); });
  conn_->request("elicitation/create", json::object(),
                 [&](Result<json> r) { answers.push_back(std::move(r)); });
  auto out = take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["method"], "sampling/createMessage");
  EXPECT_EQ(out[0]["params"]["maxTokens"], 10);
  ASSERT_TRUE(out[0].contains("id"));
  ASSERT_NE(out[0]["id"], out[1]["id"]);

  // Answered out of order; a response to an id we never sent is dropped.
  conn_->receive_json({{"jsonrpc", "2.0"},
                       {"id", out[1]["id"]},
                       {"error", {{"code", -1}, {"message", "user declined"}}}});
  conn_->receive_json({{"jsonrpc", "2.0"}, {"id", 999}, {"result", json::object()}});
  conn_->receive_json({{"jsonrpc", "2.0"}, {"id", out[0]["id"]}, {"result", {{"text", "hi"}}}});
  // A second answer to the same request is not delivered again.
  conn_->receive_json({{"jsonrpc", "2.0"}, {"id", out[0]["id"]}, {"result", json::object()}});
  ASSERT_EQ(answers.size(), 2u);
  ASSERT_FALSE(answers[0]);
  EXPECT_NE(answers[0].error().message.find("user declined"), std::string::npos);
  ASSERT_TRUE(answers[1]);
  EXPECT_EQ((*answers[1])["text"], "hi");
  EXPECT_TRUE(take().empty());
}

TEST_F(RpcTest, CloseFailsTheRequestsStillWaiting) {
  std::vector<Result<json>> answers;
  conn_->request("ping", json::object(), [&](Result<json> r) { answers.push_back(std::move(r)); });
  conn_->close();
  ASSERT_EQ(answers.size(), 1u);
  ASSERT_FALSE(answers[0]);
  EXPECT_EQ(answers[0].error().code, ErrorCode::kClosed);
  // After close nothing is sent and the handler is told at once.
  take();
  conn_->request("ping", json::object(), [&](Result<json> r) { answers.push_back(std::move(r)); });
  EXPECT_EQ(answers.size(), 2u);
  EXPECT_TRUE(take().empty());
}

// A transport that routes by exchange (HTTP: one POST each) and the Connection that tags.
class RpcExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dispatcher_.add("echo",
                    [](const auto&, json params, Reply reply) { reply(std::move(params)); });
    dispatcher_.add("slow", [this](const std::shared_ptr<CallContext>& call, json, Reply reply) {
      calls_.push_back(call);
      slow_.push_back(std::move(reply));
    });
    conn_ = Connection::create(
        dispatcher_, [this](const json& m, Exchange e) { sent_.emplace_back(m, e); },
        [this](Exchange e) { done_.push_back(e); });
  }

  Dispatcher dispatcher_;
  std::shared_ptr<Connection> conn_;
  std::vector<std::pair<json, Exchange>> sent_;
  std::vector<Exchange> done_;
  std::vector<Reply> slow_;
  std::vector<std::shared_ptr<CallContext>> calls_;
};

TEST_F(RpcExchangeTest, AnswersCarryTheirExchangeWhichEndsAfterTheLast) {
  EXPECT_TRUE(conn_->receive(R"({"jsonrpc":"2.0","id":1,"method":"echo"})", 11));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].second, 11u);
  EXPECT_EQ(done_, std::vector<Exchange>{11});

  // A batch: over only once both are answered, in whatever order.
  EXPECT_TRUE(conn_->receive(
      R"([{"jsonrpc":"2.0","id":2,"method":"slow"},{"jsonrpc":"2.0","id":3,"method":"slow"}])",
      12));
  EXPECT_EQ(done_.size(), 1u);
  slow_[1](json::object());
  EXPECT_EQ(done_.size(), 1u);
  slow_[0](json::object());
  EXPECT_EQ(done_, (std::vector<Exchange>{11, 12}));

  // Notifications alone owe nothing: the exchange is over at once.
  EXPECT_FALSE(conn_->receive(R"({"jsonrpc":"2.0","method":"echo"})", 13));
  EXPECT_EQ(done_.back(), 13u);
}

TEST_F(RpcExchangeTest, ErrorsForUnreadableIdsGoToTheirExchange) {
  EXPECT_TRUE(conn_->receive(R"({"jsonrpc":"2.0","id":{"x":1},"method":"echo"})", 21));
  EXPECT_TRUE(conn_->receive("not json", 22));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].second, 21u);
  EXPECT_TRUE(sent_[0].first["id"].is_null());
  EXPECT_EQ(sent_[1].second, 22u);
  EXPECT_EQ(done_, (std::vector<Exchange>{21, 22}));
}

TEST_F(RpcExchangeTest, ARepeatedIdIsRefusedOnItsOwnExchangeAndTheFirstStillAnswered) {
  conn_->receive(R"({"jsonrpc":"2.0","id":7,"method":"slow"})", 31);
  conn_->receive(R"({"jsonrpc":"2.0","id":7,"method":"echo"})", 32);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].second, 32u);
  EXPECT_TRUE(sent_[0].first.contains("error"));
  slow_[0](json{{"ok", true}});
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].second, 31u);
  EXPECT_EQ(sent_[1].first["id"], 7);
  EXPECT_EQ(done_, (std::vector<Exchange>{32, 31}));
}

TEST_F(RpcExchangeTest, MessagesOnBehalfOfARequestFollowItsExchange) {
  conn_->receive(R"({"jsonrpc":"2.0","id":"call-7","method":"slow"})", 41);
  json call_id = "call-7";
  conn_->notify("notifications/progress", {{"progress", 1}}, &call_id);
  conn_->request(
      "elicitation/create", json::object(), [](const Result<json>&) {}, &call_id);
  conn_->notify("notifications/message", json::object());
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(sent_[0].second, 41u);
  EXPECT_EQ(sent_[1].second, 41u);
  EXPECT_EQ(sent_[2].second, kNoExchange);
}

TEST_F(RpcExchangeTest, CancellingAnExchangeEndsItWithoutAnAnswer) {
  conn_->receive(R"({"jsonrpc":"2.0","id":1,"method":"slow"})", 51);
  conn_->receive(R"({"jsonrpc":"2.0","id":2,"method":"slow"})", 52);
  bool hook_ran = false;
  calls_[0]->on_cancel([&] { hook_ran = true; });
  conn_->cancel_exchange(51);
  EXPECT_TRUE(hook_ran);
  EXPECT_TRUE(calls_[0]->cancelled());
  EXPECT_FALSE(calls_[1]->cancelled());
  EXPECT_EQ(done_, std::vector<Exchange>{51});
  slow_[0](json::object());  // too late: nothing is sent
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(conn_->in_flight(), 1u);
}

}  // namespace
}  // namespace hookmcp::rpc
