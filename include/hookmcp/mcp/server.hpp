// The Model Context Protocol server: lifecycle, tools, resources, prompts, completions,
// logging and live notifications. JSON in, JSON out; knows no transport.
//
// One Server per process holds what sessions share (the store, the new-event bus, a worker
// pool for database reads, a timer thread). A transport opens one Session per client (stdio:
// one per process; HTTP: one per Mcp-Session-Id), hands it each incoming message, and gives it
// a Sink for the outgoing ones.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/bus/bus.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/rpc/rpc.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::events {
class Webhooks;
}

namespace hookmcp::mcp {

// Who a session's client is: it owns the MCP Events webhook subscriptions it makes. A token's
// principal over HTTP; this one over stdio and on a loopback listener that takes no token.
inline constexpr const char* kLocalPrincipal = "local";

// Newest first; initialize answers with the client's version when it is one of these, else
// with the first.
inline constexpr const char* kProtocolVersions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                    "2024-11-05"};

// What a request of MCP 2026-07-28 brings back to a tool or prompt that needed input from the
// client (the multi-round-trip pattern): that revision has no requests from server to client,
// so a tool answers {"resultType": "input_required", "inputRequests": {KEY: {"method": ...,
// "params": ...}}, "requestState": "..."} and the client sends the same request again with its
// answers under the same keys, and the state unchanged.
struct RoundTrip {
  bool stateless = false;          // the request is of MCP 2026-07-28: ask with input_required
  nlohmann::json input_responses;  // the client's answers by key; null when it sent none
  std::optional<std::string> request_state;  // as the tool handed it out (unverified)
};

// What a tool of a Catalog may do while it runs. Thread-safe; everything it sends is tied to
// the tools/call request (over HTTP it goes out on that request's stream), and nothing is sent
// once the call is answered, cancelled or the session closed.
class ToolContext {
 public:
  virtual ~ToolContext() = default;
  // notifications/progress, when the call carried a progress token; else nothing.
  virtual void progress(double progress, std::optional<double> total,
                        const std::string& message = "") = 0;
  // notifications/message, when `level` is at or above the one the client set.
  virtual void log(std::string_view level, nlohmann::json data) = 0;
  // Whether the client declared `capability` (e.g. "sampling", "elicitation") at initialize.
  virtual bool client_supports(std::string_view capability) const = 0;
  // A request to the client (sampling/createMessage, elicitation/create); `on_result` runs
  // once, on a transport's thread, with the client's result or its error. It must not block.
  virtual void request(const std::string& method, nlohmann::json params,
                       std::function<void(Result<nlohmann::json>)> on_result) = 0;
  virtual bool cancelled() const = 0;
  // The round this call is of, when the tool asked the client for input before.
  virtual const RoundTrip& round_trip() const = 0;
};

// A tool an embedding program adds beside hookmcp's own. `call` runs on a worker thread with
// the arguments (already checked against `input_schema`); it calls `done` exactly once, from
// any thread, with a CallToolResult ({"content": [...]}, optionally "isError",
// "structuredContent"; or input_required, see RoundTrip), or with an error that becomes an
// isError result the model reads (an rpc::protocol_error is answered as that JSON-RPC error).
// `required_client_capabilities`: what the client must declare for the tool to run at all (MCP
// 2026-07-28 refuses a call without them, -32021), e.g. {"sampling": {}}.
struct CatalogTool {
  std::string name;
  std::string title;
  std::string description;
  nlohmann::json input_schema = {{"type", "object"}};
  std::optional<nlohmann::json> output_schema;
  nlohmann::json annotations = nlohmann::json::object();
  nlohmann::json required_client_capabilities = nlohmann::json::object();
  std::function<void(nlohmann::json args, std::shared_ptr<ToolContext> context,
                     std::function<void(Result<nlohmann::json>)> done)>
      call;
};

// A resource with a fixed URI, or (when `uri` holds {name} placeholders and `is_template` is
// set) every URI that matches it. `read` gets the URI and the placeholders' values and returns
// the ReadResourceResult's contents array; it runs on a worker thread and may block briefly.
struct CatalogResource {
  std::string uri;
  bool is_template = false;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  bool subscribable = true;
  std::function<Result<nlohmann::json>(const std::string& uri,
                                       const std::map<std::string, std::string>& variables)>
      read;
};

// A prompt: `arguments` is the PromptArgument array prompts/list shows; `get` turns the
// client's arguments (strings by name) into a GetPromptResult (or input_required, see
// RoundTrip), on a worker thread.
struct CatalogPrompt {
  std::string name;
  std::string title;
  std::string description;
  nlohmann::json arguments = nlohmann::json::array();
  std::function<Result<nlohmann::json>(const std::map<std::string, std::string>& arguments,
                                       const RoundTrip& round)>
      get;
};

// Tools, resources and prompts of an embedding program, served beside hookmcp's own (which
// win on a name or URI clash). Built before the Server; read-only after.
struct Catalog {
  std::vector<CatalogTool> tools;
  std::vector<CatalogResource> resources;
  std::vector<CatalogPrompt> prompts;
};

// The placeholders' values when `uri` matches `uri_template` (RFC 6570 level 1: each {name}
// stands for one or more characters other than '/'), else nullopt.
std::optional<std::map<std::string, std::string>> match_uri_template(std::string_view uri_template,
                                                                     std::string_view uri);

struct ServerOptions {
  std::string version = "0.0.0";  // serverInfo.version
  // Configured sources, name -> provider: listed before their first event arrives.
  std::map<std::string, std::string> configured_sources;
  // Sources whose new events are pushed as notifications/claude/channel; unset: all.
  std::optional<std::vector<std::string>> channel_sources;
  int worker_threads = 4;
  // wait_for_event calls, and events/stream requests, open at once in one session.
  size_t max_waits_per_session = 64;
  // An events/stream that has sent nothing for this long sends notifications/events/heartbeat
  // (MCP Events asks for one at least every 30 s).
  std::chrono::milliseconds events_heartbeat{15000};
  // The wall clock (MCP Events' maxAgeMs); the system's when null.
  const Clock* clock = nullptr;
  // MCP Events' webhook mode (events/subscribe); without it the server offers poll and push.
  std::shared_ptr<events::Webhooks> webhooks;
  // Events waiting for the fan-out thread past which a commit's events are not notified (they
  // are counted as dropped; list_events shows them, and wait_for_event looks them up).
  size_t max_fan_out_events = 100'000;
  // Bytes of a payload a tool returns when the call does not say (get_event max_bytes).
  int64_t default_max_bytes = 65536;
  // Runs trigger `trigger` on stored event `event_id` now and says how it went (the
  // replay_event tool, offered when this is set): the trigger run as `hookmcp triggers runs`
  // shows it. kNotFound for an unknown trigger or event.
  std::function<Result<nlohmann::json>(const std::string& trigger, int64_t event_id)> replay;
  // The trigger names replay takes, for the tool's description of its argument.
  std::vector<std::string> trigger_names;
  // An embedding program's own tools, resources and prompts; none when null.
  std::shared_ptr<const Catalog> catalog;
};

// Takes one outgoing message (a response, a notification or a request to the client). Called
// from any thread, possibly several at once; it must queue the message and return, never block
// on the client.
using Sink = std::function<void(const nlohmann::json& message)>;
// The same, told the exchange a message belongs to (rpc::Exchange: the received message or
// batch whose request it answers, or on whose behalf it is sent, such as a tool call's progress,
// log messages and requests to the client; MCP's Streamable HTTP sends those on that POST's
// stream). `text`, when not null, is the message serialized: a notification that goes to every
// session is serialized once, and they all share it.
using ExchangeSink = std::function<void(const nlohmann::json& message, rpc::Exchange exchange,
                                        const std::shared_ptr<const std::string>& text)>;

class Session {
 public:
  virtual ~Session() = default;
  // One incoming message, as text or parsed. One thread at a time (the transport's reader);
  // a request that may take long (a tool call, wait_for_event) is answered later from a
  // worker, so the next message is read at once.
  // Returns whether anything in the message is (or will be) answered. `exchange` tags every
  // answer and related message (see rpc::Exchange).
  virtual bool receive(std::string_view text, rpc::Exchange exchange = rpc::kNoExchange) = 0;
  virtual bool receive_json(const nlohmann::json& message,
                            rpc::Exchange exchange = rpc::kNoExchange) = 0;
  // The client stopped listening for the answers of `exchange`: cancels its requests, and
  // returns how many there were.
  virtual size_t cancel_exchange(rpc::Exchange exchange) = 0;
  // Waits until every request received so far has been answered, up to `timeout`; true when
  // none is left. A transport ending cleanly (EOF on stdin, SIGTERM) calls it before close().
  virtual bool wait_idle(std::chrono::milliseconds timeout) = 0;
  // The client is gone: cancels what is in flight and sends nothing more. Idempotent.
  virtual void close() = 0;
  // Whether initialize has been answered, and the protocol version it agreed on.
  virtual bool initialized() const = 0;
  virtual std::string protocol_version() const = 0;
};

class Server {
 public:
  // `store`, `bus` and `metrics` must outlive the Server. Reads the known sources from the
  // store (blocking), then starts the worker and timer threads and subscribes to the bus.
  Server(store::Store& store, std::shared_ptr<bus::Bus> bus, Metrics& metrics,
         ServerOptions options);
  // Closes every session, unsubscribes, joins the threads. Work still queued is dropped.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Thread-safe. The session lives until the transport drops it and the Server is gone or the
  // session closed, whichever comes first.
  // `principal`: who the client is (kLocalPrincipal, or the name of the token it showed).
  std::shared_ptr<Session> open_session(Sink sink, std::string principal = kLocalPrincipal);
  // `done` is told when an exchange is over (rpc::ExchangeDone).
  std::shared_ptr<Session> open_session(ExchangeSink sink, rpc::ExchangeDone done,
                                        std::string principal = kLocalPrincipal);

  // Tells the sessions subscribed to `uri` that it changed (notifications/resources/updated),
  // for an embedding program's resources. Thread-safe.
  void resource_updated(const std::string& uri);

  size_t session_count() const;

  // The inputSchema of the tool `name` (hookmcp's, else the catalog's), nullopt for none.
  std::optional<nlohmann::json> tool_input_schema(std::string_view name) const;
  // Whether hookmcp's tool `name` changes what is stored (its readOnlyHint is false), so that a
  // caller needs the right to write (OAuth scope events:write) to call it.
  bool tool_writes(std::string_view name) const;

  struct State;  // shared with the sessions; defined in src/mcp

 private:
  std::shared_ptr<State> state_;
};

}  // namespace hookmcp::mcp
