// The conformance suite's fixtures for MCP 2026-07-28: tools and a prompt that need input from
// the client mid-request. That revision has no requests from server to client; instead the
// answer is `input_required`, naming what to ask (`inputRequests`, keyed by the server's own
// names) and, when the server must remember something between rounds, an opaque
// `requestState`. The client asks, then sends the same request again with `inputResponses`
// under the same keys and the state unchanged.
//
// The state here is sealed with HMAC-SHA256 under a key drawn at start: a client can carry it
// but not forge or alter it, and the server keeps nothing between rounds.
#include "multi_round.hpp"

#include <optional>
#include <string>

#include "hookmcp/core/random.hpp"
#include "hookmcp/core/text.hpp"
#include "hookmcp/rpc/rpc.hpp"
#include "hookmcp/verify/crypto.hpp"

namespace conformance {

namespace {

using hookmcp::ErrorCode;
using hookmcp::make_error;
using hookmcp::Result;
using hookmcp::mcp::CatalogPrompt;
using hookmcp::mcp::CatalogTool;
using hookmcp::mcp::RoundTrip;
using hookmcp::mcp::ToolContext;
using nlohmann::json;
using Done = std::function<void(Result<json>)>;

json text(const std::string& t) { return {{"type", "text"}, {"text", t}}; }
json complete(const std::string& t) {
  return {{"resultType", "complete"}, {"content", json::array({text(t)})}};
}

const std::string& state_key() {
  static const std::string key = [] {
    auto drawn = hookmcp::random_hex(32);
    if (!drawn) std::abort();  // no key, no state anyone could trust
    return *drawn;
  }();
  return key;
}

std::string seal(const json& state) {
  std::string payload = hookmcp::base64_encode(state.dump());
  return payload + "." +
         hookmcp::hex_encode(
             hookmcp::verify::hmac(hookmcp::verify::Digest::kSha256, state_key(), payload));
}

// The state a seal() made, or nullopt when it was altered.
std::optional<json> unseal(std::string_view sealed) {
  auto dot = sealed.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view payload = sealed.substr(0, dot);
  std::string expected = hookmcp::hex_encode(
      hookmcp::verify::hmac(hookmcp::verify::Digest::kSha256, state_key(), payload));
  if (!hookmcp::verify::constant_time_equal(expected, sealed.substr(dot + 1))) return std::nullopt;
  auto bytes = hookmcp::base64_decode(payload);
  if (!bytes) return std::nullopt;
  json state = json::parse(*bytes, nullptr, false);
  if (state.is_discarded()) return std::nullopt;
  return state;
}

json elicitation(const std::string& message, json properties, json required) {
  return {{"method", "elicitation/create"},
          {"params",
           {{"mode", "form"},
            {"message", message},
            {"requestedSchema",
             {{"type", "object"},
              {"properties", std::move(properties)},
              {"required", std::move(required)}}}}}};
}

json sampling(const std::string& prompt) {
  return {{"method", "sampling/createMessage"},
          {"params",
           {{"messages", json::array({{{"role", "user"}, {"content", text(prompt)}}})},
            {"maxTokens", 100}}}};
}

json roots() { return {{"method", "roots/list"}, {"params", json::object()}}; }

json input_required(json requests, std::optional<std::string> state = std::nullopt) {
  json out = {{"resultType", "input_required"}, {"inputRequests", std::move(requests)}};
  if (state) out["requestState"] = *state;
  return out;
}

// The client's answer under `key`, when it is an object (anything else asks again).
const json* answer(const RoundTrip& round, const std::string& key) {
  if (!round.input_responses.is_object()) return nullptr;
  auto it = round.input_responses.find(key);
  return it != round.input_responses.end() && it->is_object() ? &*it : nullptr;
}

std::string accepted(const json& response, const std::string& field) {
  if (response.value("action", "") != "accept") return {};
  auto content = response.find("content");
  if (content == response.end() || !content->is_object()) return {};
  auto v = content->find(field);
  return v == content->end() ? std::string() : v->is_string() ? v->get<std::string>() : v->dump();
}

// The state the client brought back: nullopt when there is none, an error when it was altered.
Result<std::optional<json>> brought_state(const RoundTrip& round) {
  if (!round.request_state) return std::optional<json>();
  auto state = unseal(*round.request_state);
  if (!state) {
    return hookmcp::rpc::protocol_error(ErrorCode::kInvalidArgument, hookmcp::rpc::kInvalidParams,
                                        "requestState failed its integrity check: send back the "
                                        "one the server gave, unchanged");
  }
  return std::optional<json>(std::move(*state));
}

json name_request() {
  return elicitation("What is your name?", {{"name", {{"type", "string"}}}}, {"name"});
}

CatalogTool tool(std::string name, std::string description,
                 std::function<void(const std::shared_ptr<ToolContext>&, const Done&)> call) {
  CatalogTool t;
  t.name = std::move(name);
  t.description = std::move(description);
  t.call = [call = std::move(call)](const json&, const std::shared_ptr<ToolContext>& ctx,
                                    const Done& done) { call(ctx, done); };
  return t;
}

// Asks the user's name; keeps nothing between rounds, so any round with the answer completes.
void greet_by_name(const std::shared_ptr<ToolContext>& ctx, const Done& done) {
  const json* r = answer(ctx->round_trip(), "user_name");
  std::string name = r ? accepted(*r, "name") : std::string();
  if (name.empty()) {
    done(input_required({{"user_name", name_request()}}));
    return;
  }
  done(complete("Hello, " + name + "!"));
}

// Asks the user to confirm, handing out a sealed state; completes once both come back.
void confirm_with_state(const std::shared_ptr<ToolContext>& ctx, const Done& done) {
  const auto& round = ctx->round_trip();
  auto state = brought_state(round);
  if (!state) {
    done(state.error());
    return;
  }
  if (!*state || !answer(round, "confirm")) {
    done(input_required(
        {{"confirm", elicitation("Continue?", {{"ok", {{"type", "boolean"}}}}, {"ok"})}},
        seal({{"step", 1}})));
    return;
  }
  done(complete("state-ok: step " + std::to_string((**state).value("step", 0))));
}

}  // namespace

std::vector<CatalogTool> multi_round_tools() {
  std::vector<CatalogTool> out;
  // The input_required scenarios ask a name through it; server-stateless checks that it asks
  // with input_required rather than a request to the client on the response stream.
  for (const char* name :
       {"test_input_required_result_elicitation", "test_streaming_elicitation"}) {
    out.push_back(
        tool(name, "Asks the user's name through input_required, then greets", greet_by_name));
  }
  out.push_back(
      tool("test_input_required_result_sampling", "Asks the client's model a question",
           [](const std::shared_ptr<ToolContext>& ctx, const Done& done) {
             const json* r = answer(ctx->round_trip(), "capital");
             if (!r) {
               done(input_required({{"capital", sampling("What is the capital of France?")}}));
               return;
             }
             std::string said;
             if (auto c = r->find("content"); c != r->end() && c->is_object()) {
               said = c->value("text", "");
             }
             done(complete("The model answered: " + said));
           }));
  out.push_back(tool("test_input_required_result_list_roots", "Asks for the client's roots",
                     [](const std::shared_ptr<ToolContext>& ctx, const Done& done) {
                       const json* r = answer(ctx->round_trip(), "roots");
                       if (!r) {
                         done(input_required({{"roots", roots()}}));
                         return;
                       }
                       done(complete("The client has " +
                                     std::to_string(r->value("roots", json::array()).size()) +
                                     " roots"));
                     }));
  // One round of confirmation carried in a sealed state: request-state checks that the state
  // comes back, tampered-state that an altered one is refused (by brought_state).
  for (const char* name :
       {"test_input_required_result_request_state", "test_input_required_result_tampered_state"}) {
    out.push_back(tool(name, "Asks to continue, carrying a sealed state between the rounds",
                       confirm_with_state));
  }
  out.push_back(tool("test_input_required_result_multiple_inputs", "Asks for three things at once",
                     [](const std::shared_ptr<ToolContext>& ctx, const Done& done) {
                       const auto& round = ctx->round_trip();
                       auto state = brought_state(round);
                       if (!state) {
                         done(state.error());
                         return;
                       }
                       const json* name = answer(round, "user_name");
                       const json* model = answer(round, "model");
                       const json* client_roots = answer(round, "roots");
                       if (!*state || !name || !model || !client_roots) {
                         done(input_required({{"user_name", name_request()},
                                              {"model", sampling("Say hello.")},
                                              {"roots", roots()}},
                                             seal({{"asked", 3}})));
                         return;
                       }
                       done(complete("Got all three answers for " + accepted(*name, "name")));
                     }));
  out.push_back(tool(
      "test_input_required_result_multi_round", "Asks twice, one question per round",
      [](const std::shared_ptr<ToolContext>& ctx, const Done& done) {
        const auto& round = ctx->round_trip();
        auto state = brought_state(round);
        if (!state) {
          done(state.error());
          return;
        }
        int step = *state ? (**state).value("step", 0) : 0;
        if (step == 1) {
          const json* r = answer(round, "user_name");
          if (r && !accepted(*r, "name").empty()) {
            done(input_required(
                {{"color",
                  elicitation("Favourite colour?", {{"color", {{"type", "string"}}}}, {"color"})}},
                seal({{"step", 2}, {"name", accepted(*r, "name")}})));
            return;
          }
        } else if (step == 2) {
          const json* r = answer(round, "color");
          if (r && !accepted(*r, "color").empty()) {
            done(complete((**state).value("name", "") + " likes " + accepted(*r, "color")));
            return;
          }
        }
        done(input_required({{"user_name", name_request()}}, seal({{"step", 1}})));
      }));
  // Needs whatever the client declared it can do, and asks only for that.
  out.push_back(tool("test_input_required_result_capabilities",
                     "Asks only what the client can answer",
                     [](const std::shared_ptr<ToolContext>& ctx, const Done& done) {
                       const auto& round = ctx->round_trip();
                       json requests = json::object();
                       if (ctx->client_supports("elicitation") && !answer(round, "user_name")) {
                         requests["user_name"] = name_request();
                       }
                       if (ctx->client_supports("sampling") && !answer(round, "model")) {
                         requests["model"] = sampling("Say hello.");
                       }
                       if (ctx->client_supports("roots") && !answer(round, "roots"))
                         requests["roots"] = roots();
                       if (!requests.empty()) {
                         done(input_required(std::move(requests)));
                         return;
                       }
                       done(complete("Asked only what the client supports"));
                     }));
  // server-stateless: a tool that cannot work without sampling, called by a client without it.
  CatalogTool missing = tool("test_missing_capability", "Needs sampling; refused without it",
                             [](const std::shared_ptr<ToolContext>&, const Done& done) {
                               done(complete("the client declared sampling"));
                             });
  missing.required_client_capabilities = {{"sampling", json::object()}};
  out.push_back(std::move(missing));
  // server-stateless: log messages only at the level the request asked for.
  out.push_back(tool("test_logging_tool", "Logs at info while it runs",
                     [](const std::shared_ptr<ToolContext>& ctx, const Done& done) {
                       ctx->log("info", "test_logging_tool ran");
                       done(complete("logged"));
                     }));
  return out;
}

std::vector<CatalogPrompt> multi_round_prompts() {
  CatalogPrompt prompt;
  prompt.name = "test_input_required_result_prompt";
  prompt.description = "Asks the user for context, then builds the prompt with it";
  prompt.get = [](const std::map<std::string, std::string>&,
                  const RoundTrip& round) -> Result<json> {
    const json* r = answer(round, "user_context");
    std::string context = r ? accepted(*r, "context") : std::string();
    if (context.empty()) {
      return input_required(
          {{"user_context", elicitation("What context should the prompt use?",
                                        {{"context", {{"type", "string"}}}}, {"context"})}});
    }
    return json{
        {"resultType", "complete"},
        {"messages", json::array({{{"role", "user"}, {"content", text("Context: " + context)}}})}};
  };
  return {std::move(prompt)};
}

}  // namespace conformance
