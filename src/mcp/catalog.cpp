// An embedding program's tools, resources and prompts (ServerOptions::catalog), and what its
// tools may do while they run: progress, log messages and requests to the client.
#include <algorithm>
#include <atomic>

#include "hookmcp/mcp/stateless.hpp"
#include "internal.hpp"

namespace hookmcp::mcp {

namespace {

// A catalog tool's view of its tools/call. Everything it sends names the call's id as the
// related request, so that over HTTP it travels on the call's stream.
class CallToolContext final : public ToolContext {
 public:
  CallToolContext(std::weak_ptr<SessionImpl> session, std::shared_ptr<rpc::CallContext> call,
                  std::optional<json> progress_token, RoundTrip round)
      : session_(std::move(session)),
        call_(std::move(call)),
        progress_token_(std::move(progress_token)),
        round_(std::move(round)) {}

  void progress(double progress, std::optional<double> total, const std::string& message) override {
    if (!progress_token_) return;
    auto session = live();
    if (!session) return;
    json params = {{"progressToken", *progress_token_}, {"progress", progress}};
    if (total) params["total"] = *total;
    if (!message.empty()) params["message"] = message;
    session->notify("notifications/progress", std::move(params), &*call_->id());
  }

  void log(std::string_view level, json data) override {
    if (auto session = live()) session->log_for(*call_, level, std::move(data));
  }

  bool client_supports(std::string_view capability) const override {
    auto session = session_.lock();
    return session && session->client_supports(call_.get(), capability);
  }

  void request(const std::string& method, json params,
               std::function<void(Result<json>)> on_result) override {
    auto session = live();
    if (!session) {
      on_result(make_error(ErrorCode::kClosed, "the tool call is over"));
      return;
    }
    if (session->era_of(call_.get())) {
      // MCP 2026-07-28 has no requests from server to client: a tool needing input answers
      // input_required instead.
      on_result(make_error(ErrorCode::kInvalidArgument,
                           "a request of MCP 2026-07-28 cannot be answered with a request to the "
                           "client (" +
                               method + ")"));
      return;
    }
    session->request_client(method, std::move(params), std::move(on_result), &*call_->id());
  }

  bool cancelled() const override { return call_->cancelled(); }
  const RoundTrip& round_trip() const override { return round_; }

  // The call has been answered: nothing more goes out on its behalf.
  void finish() { finished_.store(true); }

 private:
  std::shared_ptr<SessionImpl> live() const {
    if (finished_.load() || call_->cancelled()) return nullptr;
    return session_.lock();
  }

  const std::weak_ptr<SessionImpl> session_;
  const std::shared_ptr<rpc::CallContext> call_;
  const std::optional<json> progress_token_;
  const RoundTrip round_;
  std::atomic<bool> finished_{false};
};

bool is_builtin_tool(std::string_view name) {
  const auto& builtin = tools();
  return std::any_of(builtin.begin(), builtin.end(), [&](const Tool& t) { return name == t.name; });
}

}  // namespace

std::optional<std::map<std::string, std::string>> match_uri_template(std::string_view uri_template,
                                                                     std::string_view uri) {
  std::map<std::string, std::string> variables;
  size_t t = 0;
  size_t u = 0;
  while (t < uri_template.size()) {
    if (uri_template[t] != '{') {
      if (u >= uri.size() || uri[u] != uri_template[t]) return std::nullopt;
      ++t;
      ++u;
      continue;
    }
    size_t close = uri_template.find('}', t);
    if (close == std::string_view::npos) return std::nullopt;
    std::string name(uri_template.substr(t + 1, close - t - 1));
    // A value runs to the next '/' or to the template's next literal character.
    char stop = close + 1 < uri_template.size() ? uri_template[close + 1] : '\0';
    size_t end = u;
    while (end < uri.size() && uri[end] != '/' && (stop == '\0' || uri[end] != stop)) ++end;
    if (end == u) return std::nullopt;
    variables[name] = std::string(uri.substr(u, end - u));
    u = end;
    t = close + 1;
  }
  if (u != uri.size()) return std::nullopt;
  return variables;
}

const CatalogTool* find_catalog_tool(const ServerOptions& options, std::string_view name) {
  if (!options.catalog || is_builtin_tool(name)) return nullptr;
  for (const auto& t : options.catalog->tools) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const CatalogPrompt* find_catalog_prompt(const ServerOptions& options, std::string_view name) {
  if (!options.catalog) return nullptr;
  for (const auto& p : options.catalog->prompts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const CatalogResource* find_catalog_resource(const ServerOptions& options, std::string_view uri,
                                             std::map<std::string, std::string>* variables) {
  if (!options.catalog) return nullptr;
  // A fixed URI first: it is more specific than any template that also matches.
  for (const auto& r : options.catalog->resources) {
    if (!r.is_template && r.uri == uri) return &r;
  }
  for (const auto& r : options.catalog->resources) {
    if (!r.is_template) continue;
    if (auto matched = match_uri_template(r.uri, uri)) {
      if (variables) *variables = std::move(*matched);
      return &r;
    }
  }
  return nullptr;
}

void SessionImpl::call_catalog_tool(const CatalogTool& tool,
                                    const std::shared_ptr<rpc::CallContext>& call,
                                    const json& params, const rpc::Reply& reply) {
  json args = json::object();
  if (auto a = params.find("arguments"); a != params.end() && !a->is_null()) args = *a;
  auto failed = [](const std::string& text) {
    return json{{"content", json::array({{{"type", "text"}, {"text", text}}})}, {"isError", true}};
  };
  if (auto problem = check_schema(tool.input_schema, args)) {
    // As for hookmcp's tools: bad arguments are the model's to fix.
    reply(failed("Invalid arguments for " + tool.name + ": " + *problem +
                 ". Correct the call and try again."));
    return;
  }
  std::optional<json> token;
  if (auto meta = params.find("_meta"); meta != params.end() && meta->is_object()) {
    if (auto t = meta->find("progressToken"); t != meta->end()) token = *t;
  }
  auto round = round_trip_of(call.get(), params);
  if (!round) {
    reply(round.error());
    return;
  }
  if (round->stateless) {
    // MCP 2026-07-28: the client declares per request what it supports; a tool that cannot run
    // without something it lacks is refused before it starts.
    json missing = json::object();
    for (const auto& [name, value] : tool.required_client_capabilities.items()) {
      if (!client_supports(call.get(), name)) missing[name] = value;
    }
    if (!missing.empty()) {
      reply(rpc::protocol_error(ErrorCode::kInvalidArgument, kMissingClientCapability,
                                "tool " + tool.name + " needs the client capabilities " +
                                    missing.dump() + ", which this request did not declare",
                                {{"requiredCapabilities", missing}}));
      return;
    }
  }
  auto context = std::make_shared<CallToolContext>(weak_from_this(), call, std::move(token),
                                                   std::move(*round));
  auto done = [context, reply, failed](Result<json> result) {
    context->finish();
    if (!result && result.error().protocol_code != 0) {
      reply(result.error());  // the tool's own protocol error, answered as such
      return;
    }
    reply(result ? std::move(*result) : failed(result.error().message));
  };
  // On a worker: the handler may take a while, and this thread reads the client's next message
  // (possibly the answer to a request the tool makes).
  state_->pool.post([&tool, args = std::move(args), context, done]() mutable {
    try {
      tool.call(std::move(args), context, done);
    } catch (const std::exception& e) {
      done(make_error(ErrorCode::kInternal, std::string("internal error: ") + e.what()));
    }
  });
}

Result<RoundTrip> SessionImpl::round_trip_of(const rpc::CallContext* call,
                                             const json& params) const {
  RoundTrip round;
  if (!era_of(call)) return round;
  round.stateless = true;
  if (auto r = params.find("inputResponses"); r != params.end() && !r->is_null()) {
    if (!r->is_object()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "params.inputResponses must be an object keyed like inputRequests");
    }
    round.input_responses = *r;
  }
  if (auto s = params.find("requestState"); s != params.end() && !s->is_null()) {
    if (!s->is_string()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "params.requestState must be the string the server handed out");
    }
    round.request_state = s->get<std::string>();
  }
  return round;
}

std::optional<json> Server::tool_input_schema(std::string_view name) const {
  for (const auto& t : tools()) {
    if (name == t.name) return tool_schema(std::string(t.name) + ".input");
  }
  if (const CatalogTool* t = find_catalog_tool(state_->options, name)) return t->input_schema;
  return std::nullopt;
}

bool Server::tool_writes(std::string_view name) const {
  for (const auto& t : tools()) {
    if (name == t.name) return !t.annotations.value("readOnlyHint", false);
  }
  return false;
}

void SessionImpl::request_client(const std::string& method, json params,
                                 rpc::ResponseHandler on_result, const json* related) {
  conn_->request(method, std::move(params), std::move(on_result), related);
}

bool SessionImpl::client_supports(const rpc::CallContext* call, std::string_view capability) const {
  std::lock_guard lock(mu_);
  // A stateless request declares its client's capabilities for itself alone.
  if (const RequestEra* era = find_era(call)) {
    return era->client_capabilities.contains(std::string(capability));
  }
  return client_capabilities_.contains(std::string(capability));
}

void Server::resource_updated(const std::string& uri) {
  std::vector<std::shared_ptr<SessionImpl>> targets;
  {
    std::lock_guard lock(state_->mu);
    for (const auto& w : state_->sessions) {
      if (auto s = w.lock()) targets.push_back(std::move(s));
    }
  }
  for (const auto& s : targets) s->resource_updated(uri);
}

}  // namespace hookmcp::mcp
