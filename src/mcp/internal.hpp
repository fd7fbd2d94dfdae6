// Private to the mcp module: the pieces sessions share and the tool, resource and prompt tables.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/core/json.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/core/text.hpp"
#include "hookmcp/events/events.hpp"
#include "hookmcp/mcp/server.hpp"
#include "hookmcp/rpc/rpc.hpp"
#include "hookmcp/view/event_view.hpp"

namespace hookmcp::mcp {

using nlohmann::json;

// Runs `work` (which returns a Result) and turns an exception it throws (a bug, or memory
// exhausted) into an error, so that the request it serves is still answered.
template <typename Work>
auto run_guarded(Work&& work) -> decltype(work()) {
  try {
    return work();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("internal error: ") + e.what());
  }
}

// A fixed set of threads running posted tasks in order of arrival: every database read of the
// sessions happens here, never on a transport's thread. Thread-safe.
class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  void post(std::function<void()> task);
  // For a task that may hold its thread for long (a full-text search, up to the store's search
  // deadline): at most heavy_slots() of them run at once, so that other tasks always find a
  // thread; the others wait, holding none, in order of arrival. False, and nothing queued, when
  // kHeavyWaitingPerSlot per slot are waiting already.
  bool post_heavy(std::function<void()> task);
  int heavy_slots() const { return heavy_slots_; }
  // Joins the threads; tasks still queued are dropped. Idempotent.
  void stop();

  static constexpr int kHeavyWaitingPerSlot = 4;

 private:
  const int heavy_slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  std::deque<std::function<void()>> heavy_;  // guarded by mu_: waiting for a slot
  int heavy_running_ = 0;                    // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

// One thread that runs callbacks at their deadlines: wait_for_event timeouts and progress.
// Callbacks run on the timer thread and must return quickly. Thread-safe.
class Timers {
 public:
  using Clock = std::chrono::steady_clock;
  Timers();
  ~Timers() { stop(); }
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;
  uint64_t schedule(Clock::duration delay, std::function<void()> callback);
  // A callback already running is not waited for.
  void cancel(uint64_t id);
  void stop();

 private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, std::pair<uint64_t, std::function<void()>>>
      queue_;                                             // guarded by mu_
  std::map<uint64_t, decltype(queue_)::iterator> by_id_;  // guarded by mu_
  uint64_t next_id_ = 1;                                  // guarded by mu_
  bool stopping_ = false;                                 // guarded by mu_
  std::thread thread_;
};

// --- schema.cpp: the tools' JSON Schemas and a checker for the subset they use.

// A schema from schemas/tools, e.g. "list_events.input"; embedded at build time.
const json& tool_schema(const std::string& name);

// The first way `value` breaks `schema` (type, properties, required, additionalProperties,
// enum, minimum/maximum, minLength/maxLength, items, minItems/maxItems, local $ref), as a
// sentence naming the argument, or nullopt when it conforms.
std::optional<std::string> check_schema(const json& schema, const json& value,
                                        const std::string& where = "");

// --- render.cpp: events as the model sees them (their JSON view: view/event_view.hpp).

// A time argument: RFC 3339 with its offset, or kInvalidArgument saying how to write it.
Result<int64_t> parse_rfc3339(std::string_view text);
// A string the sender chose (type, action, delivery id) on one line of our text, clipped.
std::string one_line(std::string_view text, size_t max = 80);
std::string summary_line(const Event& e);
// Text the sender wrote, fenced so that it cannot pass as ours: a marker with a per-process
// random nonce opens and closes it, and the notice says whose words they are.
std::string fence(const std::string& nonce, const Event& e, std::string_view text);

// --- stateless.cpp: MCP 2026-07-28 as one request sees it.

// The index of a logging level (RFC 5424 names, "debug" lowest), or -1 for an unknown name.
int log_level_index(std::string_view level);

// What a stateless request says of itself in params._meta (checked already by
// check_stateless_request): its version, the client's capabilities for this request alone, and
// the log level it asked for (-1: no notifications/message at all).
struct RequestEra {
  std::string version;
  json client_capabilities = json::object();
  int log_level = -1;
};
// nullopt for a request of the session-based revisions.
std::optional<RequestEra> stateless_era(const json& params);
// A result as the stateless era answers it: resultType, and caching hints on list and read
// results.
json stateless_result(std::string_view method, json result);
json discover_result(const ServerOptions& options, json capabilities, std::string instructions);
// `params` of a notification sent on a subscriptions/listen or events/stream request, with
// _meta naming that request's id as its subscription (listen.cpp).
json tagged(json params, const json& subscription);

// --- resources.cpp, for subscriptions of either era.

// Whether `uri` is a resource that changes: a feed, or a subscribable one of the catalog.
bool can_subscribe(const ServerOptions& options, const std::string& uri);
// Whether the feed `uri` gained some of `events` (hookmcp://events, hookmcp://sources/{source}).
bool feed_changed(std::string_view uri, const std::vector<Event>& events);

// --- the session and the state it shares with the others.

class SessionImpl;

// A notification built and serialized once for every session it goes to.
struct SharedNotification {
  json message;
  std::shared_ptr<const std::string> text;
};

struct Server::State : std::enable_shared_from_this<Server::State> {
  State(store::Store& s, std::shared_ptr<bus::Bus> b, Metrics& m, ServerOptions o);

  store::Store& store;
  std::shared_ptr<bus::Bus> bus;
  Metrics& metrics;
  const ServerOptions options;
  const std::string nonce;  // marks the fences around payloads; unguessable by senders
  WorkerPool pool;
  Timers timers;

  // Source names seen so far, to notice a new one (notifications/resources/list_changed).
  std::mutex mu;
  std::set<std::string> known_sources;               // guarded by mu
  std::vector<std::weak_ptr<SessionImpl>> sessions;  // guarded by mu
  bus::Subscription subscription;

  // Called by the bus on the publishing thread (the store's writer): queues the events for the
  // fan-out thread and returns, so that a thousand sessions never hold up a commit. Past
  // options.max_fan_out_events waiting, a commit's events are dropped (and counted) rather than
  // queued; the first commit queued after that carries after_gap.
  void on_events(const std::vector<Event>& events);
  void start_fan_out();
  void stop_fan_out();  // drops what is still queued
  struct FanOut {
    std::vector<Event> events;
    bool after_gap = false;  // events before these were dropped
  };
  std::mutex fan_out_mu;
  std::condition_variable fan_out_cv;
  std::deque<FanOut> fan_out_queue;  // guarded by fan_out_mu
  size_t fan_out_events = 0;         // guarded by fan_out_mu
  bool fan_out_stopping = false;     // guarded by fan_out_mu
  bool fan_out_dropping = false;     // guarded by fan_out_mu
  std::thread fan_out;

  bool channel_wants(const std::string& source) const;
  std::vector<std::string> source_names(const std::string& prefix);  // blocking
};

// A wait_for_event in progress; defined in wait.cpp.
class Waiter;
// Hands a waiter the events of a commit; on the publishing thread, so it only queues work.
// after_gap: the fan-out dropped events before these, so the waiter looks them up in the store.
void offer_events(const std::shared_ptr<Waiter>& waiter, const std::vector<Event>& events,
                  bool after_gap);
// Ends a wait without an answer (the session closed).
void abandon(const std::shared_ptr<Waiter>& waiter);

// --- events.cpp and event_stream.cpp: MCP Events' poll and push.

// What events/poll, events/stream and events/subscribe share: the event and its arguments, where
// to start, and how old an event may be to be replayed.
struct EventsRequest {
  events::Query query;
  std::optional<int64_t> cursor;  // nullopt: from now
  std::optional<int64_t> max_age_ms;
};
Result<EventsRequest> parse_events_request(const json& params);
// Where the request starts reading (events::start_position); blocking.
Result<events::Start> start_of(Server::State& state, const EventsRequest& request);

// An events/stream in progress.
class EventStream;
void offer_events(const std::shared_ptr<EventStream>& stream, const std::vector<Event>& events,
                  bool after_gap);
// The server ends the stream: its request is answered.
void end_stream(const std::shared_ptr<EventStream>& stream);

// What a tool hands back: structuredContent and its text rendering, or a failure that becomes
// an isError result telling the model how to correct the call.
struct ToolOutput {
  json structured;
  std::string text;
};
using ToolDone = std::function<void(Result<ToolOutput>)>;

struct ToolCall {
  std::shared_ptr<SessionImpl> session;
  json args;
  std::shared_ptr<rpc::CallContext> call;
  std::optional<json> progress_token;
};

struct Tool {
  const char* name;
  const char* title;
  const char* description;
  json annotations;
  // Starts the tool; `done` is called once, from any thread.
  std::function<void(ToolCall, ToolDone)> start;
  // Whether this server offers it (replay_event: when it has triggers); null: always.
  bool (*offered)(const ServerOptions& options) = nullptr;
  bool offered_by(const ServerOptions& options) const { return !offered || offered(options); }
};
const std::vector<Tool>& tools();

// The embedding program's entries (ServerOptions::catalog), or nullptr.
const CatalogTool* find_catalog_tool(const ServerOptions& options, std::string_view name);
const CatalogPrompt* find_catalog_prompt(const ServerOptions& options, std::string_view name);
// The resource whose URI (or template) matches `uri`, with the placeholders' values.
const CatalogResource* find_catalog_resource(const ServerOptions& options, std::string_view uri,
                                             std::map<std::string, std::string>* variables);

class SessionImpl final : public Session, public std::enable_shared_from_this<SessionImpl> {
 public:
  SessionImpl(std::shared_ptr<Server::State> state, ExchangeSink sink, rpc::ExchangeDone done,
              std::string principal);
  void start();  // builds the method table; call once after make_shared

  // A stateless request that fails check_stateless_request is answered here, never dispatched.
  bool receive(std::string_view text, rpc::Exchange exchange) override;
  bool receive_json(const json& message, rpc::Exchange exchange) override;
  size_t cancel_exchange(rpc::Exchange exchange) override {
    return conn_->cancel_exchange(exchange);
  }
  bool wait_idle(std::chrono::milliseconds timeout) override { return conn_->wait_idle(timeout); }
  void close() override;
  bool initialized() const override;
  std::string protocol_version() const override;

  Server::State& state() { return *state_; }
  // Whether the request's version (a stateless request's own, else the session's) is at least
  // `version`.
  bool at_least(const rpc::CallContext* call, std::string_view version) const;
  // The era of a stateless request in flight, nullopt for a session's request.
  std::optional<RequestEra> era_of(const rpc::CallContext* call) const;
  // `related`: the id of the client's request in flight the message belongs to, or null.
  void notify(const std::string& method, json params, const json* related = nullptr);
  // notifications/message when `level` is at or above the one the client set.
  void log(std::string_view level, json data, const json* related = nullptr);
  // notifications/message on behalf of the request `call`: at the level its _meta asked for in
  // the stateless era (none unless it asked), at the session's otherwise.
  void log_for(const rpc::CallContext& call, std::string_view level, json data);
  // A request to the client on behalf of the request `related`.
  void request_client(const std::string& method, json params, rpc::ResponseHandler on_result,
                      const json* related);
  // Whether the client declared `capability`: for this request in the stateless era, at
  // initialize otherwise.
  bool client_supports(const rpc::CallContext* call, std::string_view capability) const;
  // notifications/resources/updated when the client subscribed to `uri`.
  void resource_updated(const std::string& uri);
  // Called on the fan-out thread; queues work, never blocks. `channel`: the events'
  // notifications/claude/channel, built once for all sessions. after_gap: see State::FanOut.
  void on_events(const std::vector<Event>& events, bool new_source,
                 const std::vector<SharedNotification>& channel, bool after_gap);

  // wait_for_event bookkeeping.
  bool add_waiter(const std::shared_ptr<Waiter>& waiter);
  void remove_waiter(const Waiter* waiter);
  // events/stream bookkeeping: at most max_waits_per_session at once.
  bool add_stream(const std::shared_ptr<EventStream>& stream);
  void remove_stream(const EventStream* stream);

 private:
  using Method = void (SessionImpl::*)(const std::shared_ptr<rpc::CallContext>&, const json&,
                                       const rpc::Reply&);
  struct MethodSpec {
    const char* name;
    Method method;
    bool before_initialize;  // allowed before initialize (ping, initialize itself)
  };
  static const std::vector<MethodSpec>& methods();
  // Serves a stateless request: no session needed, its era noted for the handler, its result
  // given the era's fields.
  void serve_stateless(const MethodSpec& spec, const std::shared_ptr<rpc::CallContext>& call,
                       const json& params, const rpc::Reply& reply, RequestEra era);

  // Lifecycle.
  void on_initialize(const std::shared_ptr<rpc::CallContext>&, const json& params,
                     const rpc::Reply& reply);
  void on_initialized(const std::shared_ptr<rpc::CallContext>&, const json& params,
                      const rpc::Reply& reply);
  void on_ping(const std::shared_ptr<rpc::CallContext>&, const json& params,
               const rpc::Reply& reply);
  void on_cancelled(const std::shared_ptr<rpc::CallContext>&, const json& params,
                    const rpc::Reply& reply);
  void on_set_level(const std::shared_ptr<rpc::CallContext>&, const json& params,
                    const rpc::Reply& reply);
  void on_discover(const std::shared_ptr<rpc::CallContext>&, const json& params,
                   const rpc::Reply& reply);
  // subscriptions/listen (listen.cpp): a request answered only when the server ends it, whose
  // stream carries the notifications it asked for.
  void on_listen(const std::shared_ptr<rpc::CallContext>& call, const json& params,
                 const rpc::Reply& reply);
  // What a commit changed for each listener (with mu_ held, beside the session's own
  // subscriptions), then sent on the fan-out thread.
  struct ListenerUpdate {
    json id;
    bool list_changed;
    std::vector<std::string> updated;
  };
  std::vector<ListenerUpdate> listener_updates(const std::vector<Event>& events,
                                               bool new_source) const;
  void send_listener_updates(const std::vector<ListenerUpdate>& updates);
  // Answers every listener: its subscription is over.
  void end_listeners();
  // MCP Events (events.cpp, event_stream.cpp).
  void on_events_list(const std::shared_ptr<rpc::CallContext>&, const json& params,
                      const rpc::Reply& reply);
  void on_events_poll(const std::shared_ptr<rpc::CallContext>&, const json& params,
                      const rpc::Reply& reply);
  void on_events_stream(const std::shared_ptr<rpc::CallContext>& call, const json& params,
                        const rpc::Reply& reply);
  void on_events_subscribe(const std::shared_ptr<rpc::CallContext>&, const json& params,
                           const rpc::Reply& reply);
  void on_events_unsubscribe(const std::shared_ptr<rpc::CallContext>&, const json& params,
                             const rpc::Reply& reply);
  // Tools.
  void on_tools_list(const std::shared_ptr<rpc::CallContext>&, const json& params,
                     const rpc::Reply& reply);
  void on_tools_call(const std::shared_ptr<rpc::CallContext>&, const json& params,
                     const rpc::Reply& reply);
  // Resources, prompts, completions (resources.cpp).
  void on_resources_list(const std::shared_ptr<rpc::CallContext>&, const json& params,
                         const rpc::Reply& reply);
  void on_templates_list(const std::shared_ptr<rpc::CallContext>&, const json& params,
                         const rpc::Reply& reply);
  void on_resources_read(const std::shared_ptr<rpc::CallContext>&, const json& params,
                         const rpc::Reply& reply);
  void on_subscribe(const std::shared_ptr<rpc::CallContext>&, const json& params,
                    const rpc::Reply& reply);
  void on_unsubscribe(const std::shared_ptr<rpc::CallContext>&, const json& params,
                      const rpc::Reply& reply);
  void on_prompts_list(const std::shared_ptr<rpc::CallContext>&, const json& params,
                       const rpc::Reply& reply);
  void on_prompts_get(const std::shared_ptr<rpc::CallContext>&, const json& params,
                      const rpc::Reply& reply);
  void on_complete(const std::shared_ptr<rpc::CallContext>&, const json& params,
                   const rpc::Reply& reply);

  // What a stateless request brings back for a tool or prompt that asked for input; an
  // invalid argument when its inputResponses or requestState are of the wrong type.
  Result<RoundTrip> round_trip_of(const rpc::CallContext* call, const json& params) const;

  // An embedding program's tool (ServerOptions::catalog).
  void call_catalog_tool(const CatalogTool& tool, const std::shared_ptr<rpc::CallContext>& call,
                         const json& params, const rpc::Reply& reply);

  // Runs `work` on a worker thread and replies with what it returns.
  void on_worker(rpc::Reply reply, std::function<Result<json>()> work);

  const std::shared_ptr<Server::State> state_;
  const std::string principal_;
  const ExchangeSink sink_;
  const rpc::ExchangeDone exchange_done_;
  rpc::Dispatcher dispatcher_;
  std::shared_ptr<rpc::Connection> conn_;

  mutable std::mutex mu_;
  bool initialized_ = false;                                  // guarded by mu_
  bool ready_ = false;                                        // notifications/initialized seen
  bool closed_ = false;                                       // guarded by mu_
  std::string version_;                                       // guarded by mu_
  json client_capabilities_ = json::object();                 // guarded by mu_
  int log_level_ = 1;                                         // index into kLogLevels; guarded
  std::set<std::string> subscriptions_;                       // guarded by mu_
  std::map<const Waiter*, std::shared_ptr<Waiter>> waiters_;  // guarded by mu_
  std::map<const EventStream*, std::shared_ptr<EventStream>> streams_;  // guarded by mu_
  // The stateless requests in flight, and what their _meta said. An entry lives until its
  // request is answered; one whose call is gone (never answered) is never read again, even if a
  // new call takes its address.
  struct CallEra {
    std::weak_ptr<const rpc::CallContext> call;
    RequestEra era;
  };
  std::map<const rpc::CallContext*, CallEra> eras_;  // guarded by mu_
  // The era of `call` in eras_, or null; with mu_ held.
  const RequestEra* find_era(const rpc::CallContext* call) const;
  // The open subscriptions/listen requests.
  struct Listener {
    json id;  // the request's id, which tags everything sent on its stream
    bool resources_list_changed = false;
    std::set<std::string> resources;
    rpc::Reply reply;
  };
  std::map<const rpc::CallContext*, Listener> listeners_;  // guarded by mu_
};

}  // namespace hookmcp::mcp
