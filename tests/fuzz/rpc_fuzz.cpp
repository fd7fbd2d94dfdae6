// JSON-RPC: any text from a peer is parsed, checked and dispatched, and every request gets one
// well-formed answer, without a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "hookmcp/rpc/rpc.hpp"

namespace {

using hookmcp::ErrorCode;
using hookmcp::make_error;
using hookmcp::rpc::CallContext;
using hookmcp::rpc::Connection;
using hookmcp::rpc::Dispatcher;
using hookmcp::rpc::json;
using hookmcp::rpc::Reply;

const Dispatcher& dispatcher() {
  static const Dispatcher* d = [] {
    auto* table = new Dispatcher;
    table->add("echo", [](const std::shared_ptr<CallContext>&, json params, const Reply& reply) {
      reply(std::move(params));
    });
    table->add("fail", [](const std::shared_ptr<CallContext>&, const json&, const Reply& reply) {
      reply(make_error(ErrorCode::kInvalidArgument, "bad params"));
    });
    table->add("twice", [](const std::shared_ptr<CallContext>&, const json&, const Reply& reply) {
      reply(json::object());
      reply(json::object());  // the second answer must be dropped
    });
    // Never answers: the request stays in flight until cancelled or the connection closes.
    table->add("hang", [](const std::shared_ptr<CallContext>& call, const json&, const Reply&) {
      call->on_cancel([] {});
    });
    return table;
  }();
  return *d;
}

// Every outgoing message must be a JSON-RPC 2.0 object we could serialise.
void check_outgoing(const json& message) {
  if (!message.is_object() || message.value("jsonrpc", "") != "2.0") std::abort();
  // Every response carries an id, null when the request's could not be read.
  if ((message.contains("result") || message.contains("error")) && !message.contains("id")) {
    std::abort();
  }
  (void)message.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto connection = Connection::create(dispatcher(), check_outgoing);
  connection->receive(text);
  // A cancellation of request 1 (in flight if the input sent one), then the end of the peer.
  connection->receive(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})");
  connection->close();
  return 0;
}
