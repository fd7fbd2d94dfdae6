#include "webhook_route.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "hookmcp/core/text.hpp"

namespace hookmcp::transport {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// Hands a delivery to intake and resumes the calling coroutine, on its own executor, once the
// answer is ready (which for a stored event is after its commit, on the writer thread). With
// `blocking`, intake runs there rather than on the calling thread: its verification may wait on
// the network.
template <typename Token>
auto async_intake(intake::Intake& intake, intake::Request request, asio::thread_pool* blocking,
                  Token&& token) {
  return asio::async_initiate<Token, void(intake::Response)>(
      [&intake, blocking](auto handler, intake::Request&& request) {
        using Handler = decltype(handler);
        struct State {
          Handler handler;
          asio::executor_work_guard<asio::associated_executor_t<Handler>> work;
        };
        auto ex = asio::get_associated_executor(handler);
        auto state = std::make_shared<State>(State{std::move(handler), asio::make_work_guard(ex)});
        auto run = [&intake, state, request = std::move(request)]() mutable {
          intake.handle(std::move(request), [state](intake::Response response) {
            auto ex = state->work.get_executor();
            asio::post(ex, [state, response = std::move(response)]() mutable {
              std::move(state->handler)(std::move(response));
              state->work.reset();
            });
          });
        };
        if (blocking != nullptr) {
          asio::post(*blocking, std::move(run));
        } else {
          run();
        }
      },
      token, std::move(request));
}

Response from_intake(const Request& req, intake::Response r) {
  Response res =
      make_response(req, static_cast<unsigned>(r.status), std::move(r.body), r.content_type);
  if (r.retry_after_s) res.set(http::field::retry_after, std::to_string(*r.retry_after_s));
  return res;
}

// One line per delivery, as a person watching the server expects: the status, the source and
// what became of it, including why a refusal was made (which the sender is not told).
void log_delivery(std::string_view source, int status, const std::string& summary) {
  auto level = status >= 400 ? spdlog::level::warn : spdlog::level::info;
  if (!spdlog::should_log(level)) return;
  spdlog::log(level, "webhook {} {}: {}", status, printable(source, 80), summary);
}

}  // namespace

asio::awaitable<Response> handle_webhook(Request& req, intake::Intake& intake,
                                         const McpAccess& access, asio::thread_pool& blocking) {
  if (req.method() != http::verb::post) {
    log_delivery(path_of(req).substr(kHooksPrefix.size()), 405,
                 "refused: " + std::string(req.method_string()) + " instead of POST");
    Response res = error(req, 405, "webhooks are delivered with POST");
    res.set(http::field::allow, "POST");
    co_return res;
  }
  intake::Request ir;
  ir.source = std::string(path_of(req).substr(kHooksPrefix.size()));
  // What the MCP routes refuse, so may an unsigned source: any web page the user visits can
  // post to it from the user's browser otherwise.
  if (auto denial = check_host_and_origin(access, header(req, http::field::host),
                                          header(req, http::field::origin))) {
    ir.origin_denied = std::move(denial->message);
  }
  for (const auto& field : req) {
    ir.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  ir.body = std::move(req.body());
  if (auto q = req.target().find('?'); q != std::string_view::npos) {
    ir.query = std::string(req.target().substr(q + 1));
  }
  // The sender's keys must be fetched first: not on an I/O thread.
  asio::thread_pool* where = intake.may_block(ir) ? &blocking : nullptr;
  intake::Response r = co_await async_intake(intake, std::move(ir), where, asio::use_awaitable);
  if (!r.confirm_url.empty()) {
    asio::post(blocking, [source = std::string(path_of(req).substr(kHooksPrefix.size())),
                          url = r.confirm_url] { intake::Intake::confirm(source, url); });
  }
  log_delivery(path_of(req).substr(kHooksPrefix.size()), r.status, r.summary);
  co_return from_intake(req, std::move(r));
}

}  // namespace hookmcp::transport
