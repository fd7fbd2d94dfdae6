#include "hookmcp/app/node.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "holder.hpp"
#include "hookmcp/auth/resource_server.hpp"
#include "hookmcp/bus/bus.hpp"
#include "hookmcp/connections/connections.hpp"
#include "hookmcp/events/webhooks.hpp"
#include "hookmcp/intake/intake.hpp"
#include "hookmcp/outbound/outbound.hpp"
#include "hookmcp/store/follower.hpp"
#include "hookmcp/triggers/triggers.hpp"

namespace hookmcp::app {

namespace {

// A follower's attempts to take the listener over, on a thread of their own, until one
// succeeds or stop(). The follower keeps publishing every stored event, this node's own commits
// after the take-over included, so that nothing the other process stored while letting go is
// missed and nothing is told twice.
class TakeOver {
 public:
  using Attempt = std::function<Result<std::unique_ptr<transport::HttpServer>>()>;
  TakeOver(std::chrono::milliseconds interval, Attempt attempt,
           std::function<void(const transport::HttpServer&)> on_listening)
      : interval_(interval),
        attempt_(std::move(attempt)),
        on_listening_(std::move(on_listening)),
        thread_([this](const std::stop_token& stop) { run(stop); }) {}
  TakeOver(const TakeOver&) = delete;
  TakeOver& operator=(const TakeOver&) = delete;

  // Ends the attempts; returns the listener when one succeeded.
  std::unique_ptr<transport::HttpServer> stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    return std::move(http_);
  }

 private:
  void run(const std::stop_token& stop) {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, stop, interval_, [] { return false; })) return;
        if (stop.stop_requested()) return;
      }
      auto started = attempt_();
      if (!started) continue;  // still held, or not yet free to bind
      if (on_listening_) on_listening_(**started);
      std::lock_guard lock(mu_);
      http_ = std::move(*started);
      return;
    }
  }

  const std::chrono::milliseconds interval_;
  const Attempt attempt_;
  const std::function<void(const transport::HttpServer&)> on_listening_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::unique_ptr<transport::HttpServer> http_;  // guarded by mu_
  std::jthread thread_;                          // last: it uses the members above
};

auth::OAuthOptions oauth_options(const config::OAuthSettings& settings) {
  auth::OAuthOptions o;
  o.issuer = settings.issuer;
  o.audience = settings.audience;
  o.resource = settings.resource;
  o.scopes = settings.scopes;
  o.jwks_cache = std::chrono::seconds(settings.jwks_cache_s);
  o.leeway = std::chrono::seconds(settings.leeway_s);
  o.fetch_timeout = std::chrono::seconds(5);
  return o;
}

}  // namespace

// Declared in build order; destroyed in the reverse order.
struct Node::Parts {
  NodeOptions options;
  SystemClock clock;
  Metrics metrics;
  std::unique_ptr<store::Store> store;
  std::shared_ptr<bus::Bus> bus = std::make_shared<bus::Bus>();
  // Whether this node's own commits reach the bus from the writer; a follower's reach it
  // through the follower instead.
  std::shared_ptr<std::atomic<bool>> leading = std::make_shared<std::atomic<bool>>(true);
  // MCP Events' webhook mode: on a SQLite file, delivered by the node that holds the listener
  // (a follower's leader delivers; the follower starts once it takes the listener over); on
  // PostgreSQL, by every node, each subscription by the one that holds it.
  std::unique_ptr<triggers::Triggers> triggers;
  std::unique_ptr<connections::Connections> connections;
  std::unique_ptr<outbound::Deliverer> deliverer;
  std::shared_ptr<events::Webhooks> webhooks;
  bus::Subscription deliveries;
  std::thread ending_unknown;  // terminates subscriptions of principals no longer configured
  // OAuth access tokens on /mcp (mcp.oauth), and the first fetch of the issuer's keys.
  std::shared_ptr<auth::ResourceServer> oauth;
  std::jthread fetching_keys;
  std::unique_ptr<mcp::Server> mcp;
  std::unique_ptr<intake::Intake> intake;
  std::unique_ptr<transport::HttpServer> http;
  std::unique_ptr<store::Follower> follower;
  std::unique_ptr<TakeOver> take_over;
  bool stopped = false;

  Result<std::unique_ptr<transport::HttpServer>> listen() {
    transport::HttpOptions http_options = options.http;
    http_options.mcp = options.mcp_over_http ? mcp.get() : nullptr;
    return transport::HttpServer::start(
        http_options, *intake, [&s = *store] { return s.unhealthy_reason(); }, metrics);
  }

  // The node now receives webhooks: it delivers subscriptions too.
  void start_delivering() {
    if (deliverer->running()) return;
    if (auto s = triggers->start(*deliverer); !s) {
      spdlog::error("triggers are not run: {}", s.error().message);
    }
    if (auto s = connections->start(*deliverer); !s) {
      spdlog::error("connections are not kept: {}", s.error().message);
    }
    if (auto s = deliverer->start(); !s) {
      spdlog::error("MCP Events webhook subscriptions and triggers are not delivered: {}",
                    s.error().message);
      return;
    }
    // OAuth subjects are not known in advance: with OAuth on, a subscription whose principal
    // is not a configured token may be a subject's, and it stays (it lapses with its TTL).
    if (options.config.mcp_oauth) return;
    std::set<std::string> known(options.config.mcp_token_principals.begin(),
                                options.config.mcp_token_principals.end());
    known.insert(mcp::kLocalPrincipal);
    ending_unknown = std::thread([w = webhooks, known] { w->end_unknown_principals(known); });
  }

  // Says who holds the listener's address and what that means for this node's client.
  void explain_holder() {
    std::string address = options.config.listen.to_string();
    Holder holder = identify_holder(options.config.listen, !options.http.tls_cert_file.empty(),
                                    store->identity());
    switch (holder.kind) {
      case Holder::Kind::kSameDatabase:
        spdlog::warn(
            "{} is already in use, by another hookmcp on this database: following {} for the "
            "events it stores instead of receiving webhooks here",
            address, options.store.path);
        return;
      case Holder::Kind::kUnknownDatabase:
        spdlog::warn(
            "{} is already in use, by a process that does not say which database it writes "
            "({}): following {}; if it is not a hookmcp on this database, webhooks sent to {} "
            "will not reach this client (give both the same --db)",
            address, holder.detail, options.store.path, address);
        return;
      case Holder::Kind::kOtherDatabase:
        spdlog::error(
            "{} is held by another hookmcp that writes another database (its /healthz names "
            "database {}; this one is {}, database {}): webhooks sent to {} are stored there and "
            "will NOT reach this client. Give both the same --db (or HOOKMCP_DB), or give this "
            "one its own --listen",
            address, holder.database, options.store.path, store->identity(), address);
        return;
      case Holder::Kind::kForeign:
        spdlog::error(
            "{} is held by a program that is not hookmcp ({}): webhooks sent there will NOT "
            "reach this client. Find it with `ss -ltnp 'sport = :{}'` and stop it, or give "
            "hookmcp another address with --listen (or HOOKMCP_LISTEN). Waiting for the address "
            "to be free",
            address, holder.detail, options.config.listen.port);
        return;
    }
  }

  Status follow() {
    explain_holder();
    // A PostgreSQL store tells this node of every commit, whichever process made it: there is
    // nothing to follow. A SQLite file's other writer is followed.
    if (!store::is_postgres(options.store.path)) {
      leading->store(false);
      store::FollowOptions follow;
      follow.watch_path = options.store.path;
      follow.interval = options.follow_interval;
      auto following = store::Follower::start(
          *store, follow, [b = bus](const std::vector<Event>& events) { b->publish(events); });
      if (!following) {
        return make_error(following.error().code,
                          "cannot follow the database: " + following.error().message);
      }
      follower = std::move(*following);
    } else {
      start_delivering();
    }
    take_over = std::make_unique<TakeOver>(
        options.take_over_interval,
        [this] {
          auto started = listen();
          if (started) {
            spdlog::warn("{} was let go by the other hookmcp: receiving webhooks here now",
                         options.config.listen.to_string());
            start_delivering();
          }
          return started;
        },
        options.on_listening);
    return {};
  }
};

Result<std::unique_ptr<Node>> Node::start(NodeOptions options) {
  auto p = std::make_unique<Parts>();
  p->options = std::move(options);
  p->options.store.clock = &p->clock;
  p->options.store.metrics = &p->metrics;
  auto store = store::open_store(p->options.store);
  if (!store) {
    // A database that cannot be used is not a usage error, even when the store calls it an
    // invalid argument (a file that is not a hookmcp database): kInvalidArgument is the listener's.
    auto code =
        store.error().code == ErrorCode::kInvalidArgument ? ErrorCode::kIo : store.error().code;
    return make_error(code, store.error().message);
  }
  p->store = std::move(*store);
  p->options.http.database_identity = p->store->identity();
  // New events fan out to the MCP sessions from the store's writer, right after each commit.
  p->store->add_commit_listener([bus = p->bus, leading = p->leading](const auto& events) {
    if (leading->load()) bus->publish(events);
  });
  outbound::Policy policy;
  policy.allow_private = p->options.config.events_allow_private_callbacks;
  policy.clock = &p->clock;
  if (store::is_postgres(p->options.store.path)) policy.hold_every = std::chrono::seconds(1);
  p->triggers = std::make_unique<triggers::Triggers>(*p->store, p->metrics, p->clock,
                                                     p->options.config.triggers);
  // Each connection feeds a source, made here when the config does not list it, that accepts
  // the secret registered with the provider.
  p->connections = std::make_unique<connections::Connections>(
      *p->store, p->metrics, p->clock, p->options.config.connections, p->options.config.public_url);
  if (auto s = p->connections->prepare(p->options.config.sources); !s) {
    p->store->close();
    return make_error(ErrorCode::kIo, "connections: " + s.error().message);
  }
  p->deliverer = std::make_unique<outbound::Deliverer>(
      *p->store, p->metrics, policy,
      std::map<std::string, outbound::FeedMaker>{
          {events::kSubscriptionKind, events::Webhooks::feed_maker(*p->store)},
          {triggers::kSubscriptionKind, p->triggers->feed_maker()},
          {connections::kSubscriptionKind, p->connections->feed_maker()}});
  events::WebhookOptions webhook_options;
  webhook_options.max_per_principal =
      static_cast<size_t>(p->options.config.events_max_subscriptions_per_principal);
  p->webhooks = std::make_shared<events::Webhooks>(*p->store, *p->deliverer, webhook_options);
  p->deliveries = p->bus->subscribe(
      [d = p->deliverer.get()](const std::vector<Event>& events) { d->on_events(events); });
  p->options.mcp.webhooks = p->webhooks;
  if (!p->options.config.triggers.empty()) {
    p->options.mcp.trigger_names = p->triggers->names();
    p->options.mcp.replay = [t = p->triggers.get()](const std::string& trigger,
                                                    int64_t id) -> Result<nlohmann::json> {
      auto run = t->replay(trigger, id);
      if (!run) return run.error();
      return nlohmann::json{
          {"trigger", run->trigger},        {"event_id", run->event_id}, {"state", run->state},
          {"status", run->status},          {"error", run->error},       {"output", run->output},
          {"duration_ms", run->duration_ms}};
    };
  }
  p->mcp = std::make_unique<mcp::Server>(*p->store, p->bus, p->metrics, p->options.mcp);
  p->intake = std::make_unique<intake::Intake>(p->options.config, *p->store, p->clock, p->metrics);
  if (p->options.config.mcp_oauth && p->options.mcp_over_http) {
    auto o = oauth_options(*p->options.config.mcp_oauth);
    p->oauth =
        std::make_shared<auth::ResourceServer>(o, auth::https_fetch(o.fetch_timeout), p->clock);
    p->options.http.mcp_access.oauth = p->oauth;
    // Fetched now so that the first client does not wait, and so that a mistake shows at start.
    p->fetching_keys = std::jthread([oauth = p->oauth] {
      if (auto s = oauth->refresh_keys(); !s) {
        spdlog::warn(
            "OAuth: the keys of {} cannot be fetched yet ({}); tokens are refused with "
            "503 until they can",
            oauth->options().issuer, s.error().message);
      } else {
        spdlog::info("OAuth: access tokens from {} for {} are accepted on /mcp",
                     oauth->options().issuer, oauth->options().audience);
      }
    });
  }
  auto started = p->listen();
  if (started) {
    p->http = std::move(*started);
    p->start_delivering();
    if (p->options.on_listening) p->options.on_listening(*p->http);
  } else if (started.error().code == ErrorCode::kInUse && p->options.follow_when_held) {
    if (auto s = p->follow(); !s) {
      p->store->close();
      return s.error();
    }
  } else {
    p->store->close();
    return started.error();
  }
  return std::unique_ptr<Node>(new Node(std::move(p)));
}

Node::Node(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Node::~Node() { stop(std::chrono::milliseconds(3000)); }

mcp::Server& Node::mcp() { return *parts_->mcp; }
Metrics& Node::metrics() { return parts_->metrics; }
const Clock& Node::clock() const { return parts_->clock; }

void Node::reload(const config::Config& config) {
  auto& p = *parts_;
  const config::Config& was = p.options.config;
  std::vector<std::string> later;
  auto note = [&](bool changed, const char* what) {
    if (changed) later.emplace_back(what);
  };
  note(config.listen.to_string() != was.listen.to_string(), "listen");
  note(config.database != was.database, "database");
  note(config.durability != was.durability, "durability");
  note(config.tls_cert_file != was.tls_cert_file || config.tls_key_file != was.tls_key_file, "tls");
  note(config.max_body_bytes != was.max_body_bytes, "max_body_bytes");
  note(config.retention_max_age_days != was.retention_max_age_days ||
           config.retention_max_events != was.retention_max_events,
       "retention");
  auto tokens = [](const config::Config& c) {
    std::vector<std::string> values;
    for (const auto& t : c.mcp_tokens) values.push_back(t.value);
    return values;
  };
  note(tokens(config) != tokens(was) || config.mcp_token_principals != was.mcp_token_principals,
       "mcp.tokens");
  note(config.mcp_allowed_hosts != was.mcp_allowed_hosts ||
           config.mcp_allowed_origins != was.mcp_allowed_origins ||
           config.mcp_channel_sources != was.mcp_channel_sources,
       "mcp");
  note(config.mcp_oauth != was.mcp_oauth, "mcp.oauth");
  note(config.events_allow_private_callbacks != was.events_allow_private_callbacks ||
           config.events_max_subscriptions_per_principal !=
               was.events_max_subscriptions_per_principal,
       "events");
  // The connections' sources, with their secrets, beside the config's.
  config::Config next = config;
  if (config.connections != was.connections || config.public_url != was.public_url) {
    if (auto s = p.connections->reload(config.connections, config.public_url); !s) {
      spdlog::error("connections not reloaded: {}", s.error().message);
    } else {
      spdlog::info("config reloaded: connections {}", config.connections.size());
    }
  }
  if (auto s = p.connections->prepare(next.sources); !s) {
    spdlog::error("connections' sources not prepared: {}", s.error().message);
  }
  p.intake->reload(next);
  if (config.triggers != was.triggers) {
    if (auto s = p.triggers->reload(config.triggers); !s) {
      spdlog::error("triggers not reloaded: {}", s.error().message);
    } else {
      spdlog::info("config reloaded: triggers {}", config.triggers.size());
    }
  }
  std::string names;
  for (const auto& [name, source] : next.sources) names += (names.empty() ? "" : ", ") + name;
  spdlog::info("config reloaded: sources {}", names.empty() ? "none (zero-config mode)" : names);
  if (!later.empty()) {
    std::string fields;
    for (const auto& f : later) fields += (fields.empty() ? "" : ", ") + f;
    spdlog::warn("changed in the config but applied only at the next restart: {}", fields);
  }
  // Sources, triggers and connections are the reloaded parts; the rest stays as this node runs
  // it.
  p.options.config.sources = next.sources;
  p.options.config.triggers = config.triggers;
  p.options.config.connections = config.connections;
  p.options.config.public_url = config.public_url;
}

void Node::stop(std::chrono::milliseconds grace) {
  auto& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  if (p.take_over) p.http = p.take_over->stop();
  // Answer what is in flight, then commit what is queued.
  if (p.http) p.http->stop(grace);
  // Deliveries in flight are cut short: they go again after a restart, with the same ids.
  p.deliveries.reset();
  p.triggers->stop();
  p.connections->stop();
  p.deliverer->stop();
  if (p.ending_unknown.joinable()) p.ending_unknown.join();
  if (p.fetching_keys.joinable()) p.fetching_keys.join();
  if (p.follower) p.follower->stop();
  p.store->close();
  // The listener's MCP sessions refer to the MCP server: the listener goes first.
  p.http.reset();
  p.mcp.reset();
}

}  // namespace hookmcp::app
