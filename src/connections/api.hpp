// Private to the connections module: calling a provider's JSON API, and what each kind of
// connection does (register, renew, read a notification, take down).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/config/config.hpp"
#include "hookmcp/connections/connections.hpp"
#include "hookmcp/core/event.hpp"
#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/net/http_client.hpp"

namespace hookmcp::connections::detail {

using nlohmann::json;

struct Reply {
  int status = 0;
  json body;  // null when the answer was not JSON
  Headers headers;
};

// One request to a provider's API with a bearer token (none when empty) and a JSON body (none
// when null). An answer of 429 or 5xx, or none, is kUnavailable (tried again later, with
// backoff); 401 and 403 are kUnauthenticated, with the provider's words; any other status is
// the caller's to read.
// `cancel`, when given and cancelled, stops it at once (hookmcp stopping).
Result<Reply> call(const std::string& method, const std::string& url, const std::string& token,
                   const json& body = nullptr, Headers extra = {},
                   const std::shared_ptr<net::Cancellation>& cancel = nullptr);
// A form POST (a token endpoint). The same failures, but 4xx answers are the caller's to read.
Result<Reply> post_form(const std::string& url,
                        const std::vector<std::pair<std::string, std::string>>& fields);
// What a provider said about an error, for a person: "HTTP 404: Not Found".
std::string describe(const Reply& r);

// Everything a kind's code works with for one connection, on one thread at a time.
struct Context {
  const config::Connection& c;
  State& state;
  std::string token;     // the bearer token
  std::string hook_url;  // where its notifications go
  int64_t now_ms = 0;
  // Stores events read from the provider as the connection source's; returns once committed.
  std::function<Status(std::vector<NewEvent>)> store;
  std::shared_ptr<net::Cancellation> cancel;  // stops its requests when hookmcp stops

  // A request to the provider's API with the connection's token (see call above).
  Result<Reply> call(const std::string& method, const std::string& url, const json& body = nullptr,
                     Headers extra = {}) const {
    return detail::call(method, url, token, body, std::move(extra), cancel);
  }
};

// Each kind. `check` registers what is missing (first time, deleted at the provider, registered
// for other settings), `renew_at` says when a registration must be renewed (0: never), `renew`
// renews it with no gap, `read` fetches what a stored notification points at and stores it,
// `remove` takes it down.
struct Kind {
  Status (*check)(Context& x, bool at_start);
  int64_t (*renew_at)(const State& s);
  Status (*renew)(Context& x);
  // Whether a notification of this `type` is one to read (not the derived events themselves).
  bool (*reads)(const std::string& type);
  Status (*read)(Context& x, const Event& notification);
  Status (*remove)(Context& x);
};
const Kind& kind_of(config::Connection::Kind kind);

Kind github_kind();
Kind calendar_kind();
Kind gmail_kind();
Kind msgraph_kind();

// A registration lasting from `registered` to `expires` is renewed halfway, and at least daily.
int64_t renew_halfway(const State& s);

// A fresh random id or secret (hex of `bytes` random bytes).
std::string random_token(size_t bytes);

// The NewEvent of a resource read from the provider's API for connection `c`.
NewEvent derived_event(const config::Connection& c, std::string type, std::string delivery_id,
                       const json& body, int64_t now_ms);

}  // namespace hookmcp::connections::detail
