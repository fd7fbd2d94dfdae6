// events/stream: MCP Events' push mode. The request stays open (over HTTP, its POST's stream;
// over stdio, until notifications/cancelled) and carries notifications/events/active, then an
// occurrence per matching event, oldest first, and a heartbeat with the cursor when nothing
// happens. The stream reads the store by cursor, so a commit the fan-out dropped is still sent,
// and a client that reconnects with its last cursor misses nothing.
#include <algorithm>

#include "hookmcp/events/events.hpp"
#include "hookmcp/mcp/stateless.hpp"
#include "internal.hpp"

namespace hookmcp::mcp {

namespace {

// Occurrences read from the store at a time, and their bytes at most.
constexpr int kStreamPage = 100;
constexpr size_t kStreamPageBytes = size_t{1} << 20;

}  // namespace

class EventStream : public std::enable_shared_from_this<EventStream> {
 public:
  EventStream(std::weak_ptr<SessionImpl> session, json id, EventsRequest request, rpc::Reply reply)
      : session_(std::move(session)),
        id_(std::move(id)),
        request_(std::move(request)),
        reply_(std::move(reply)) {}

  // On the reader's thread: registered before its start is read, so that no commit falls
  // between the two.
  void begin(SessionImpl& session, const std::shared_ptr<rpc::CallContext>& call) {
    auto self = shared_from_this();
    if (!session.add_stream(self)) {
      reply_(rpc::protocol_error(
          ErrorCode::kOverloaded, events::kResourceExhausted,
          "too many events/stream requests are open in this session (at most " +
              std::to_string(session.state().options.max_waits_per_session) + "); end one first",
          {{"limit", "streams"}, {"max", session.state().options.max_waits_per_session}}));
      return;
    }
    std::weak_ptr<EventStream> weak = self;
    call->on_cancel([weak] {
      if (auto s = weak.lock()) s->end(/*answer=*/false);
    });
    session.state().pool.post([self] { self->start(); });
  }

  // On the fan-out thread: a drain runs when some of `events` may match.
  void offer(const std::vector<Event>& events, bool after_gap) {
    bool wanted = after_gap;
    for (const auto& e : events) wanted = wanted || request_.query.could_match(e);
    std::shared_ptr<SessionImpl> session;
    {
      std::lock_guard lock(mu_);
      if (ended_ || events.empty()) return;
      if (!wanted) {
        // None of them is for this stream: when no drain is running, the fan-out has handed
        // over every commit since the last one caught up, so the cursor passes them.
        if (!draining_ && !wanted_) position_ = std::max(position_, events.back().id);
        return;
      }
      wanted_ = true;
      if (draining_) return;
      draining_ = true;
      session = session_.lock();
    }
    if (!session) return;
    auto self = shared_from_this();
    session->state().pool.post([self] { self->drain(); });
  }

  // Ends the stream. `answer`: the server ends it, and the request gets its result; else the
  // client left, and nothing more is sent.
  void end(bool answer) {
    rpc::Reply reply;
    uint64_t timer;
    {
      std::lock_guard lock(mu_);
      if (ended_) return;
      ended_ = true;
      reply = std::move(reply_);
      timer = heartbeat_timer_;
    }
    if (auto session = session_.lock()) {
      session->state().timers.cancel(timer);
      session->remove_stream(this);
    }
    reply(answer ? json{{"_meta", {{kMetaSubscriptionId, id_}}}} : json::object());
  }

 private:
  // Worker thread: where the stream starts, told to the client, then what it missed.
  void start() {
    auto session = session_.lock();
    if (!session) return;
    auto start = run_guarded([&] { return start_of(session->state(), request_); });
    if (!start) {
      // Nothing was sent yet: the request is answered with the error, and no stream opens.
      rpc::Reply reply;
      {
        std::lock_guard lock(mu_);
        if (ended_) return;
        ended_ = true;
        reply = std::move(reply_);
      }
      session->remove_stream(this);
      reply(start.error());
      return;
    }
    {
      std::lock_guard lock(mu_);
      if (ended_) return;
      position_ = start->position;
      draining_ = true;
    }
    send("notifications/events/active",
         {{"cursor", events::cursor_text(start->position)}, {"truncated", start->truncated}});
    schedule_heartbeat(*session);
    drain();
  }

  // Worker thread, one drain at a time: sends every matching event after the position, then
  // stops unless a commit wanted it meanwhile.
  void drain() {
    auto session = session_.lock();
    for (;;) {
      int64_t position;
      {
        std::lock_guard lock(mu_);
        if (ended_ || !session) {
          draining_ = false;
          return;
        }
        wanted_ = false;
        position = position_;
      }
      auto page = run_guarded([&] {
        return events::read_after(session->state().store, request_.query, position, kStreamPage,
                                  kStreamPageBytes, /*with_cursor=*/true);
      });
      if (!page) {
        terminate(page.error());
        return;
      }
      for (auto& o : page->occurrences) {
        if (ended()) return;
        send("notifications/events/event", std::move(o));
      }
      std::lock_guard lock(mu_);
      position_ = page->position;
      if (!page->more && !wanted_) {
        draining_ = false;
        return;
      }
    }
  }

  // The store failed under the stream: the client hears why, and may come back with its cursor.
  void terminate(const Error& error) {
    {
      std::lock_guard lock(mu_);
      draining_ = false;
      if (ended_) return;
    }
    send("notifications/events/terminated",
         {{"error", {{"code", rpc::kInternalError}, {"message", error.message}}}});
    end(/*answer=*/true);
  }

  void schedule_heartbeat(SessionImpl& session) {
    std::weak_ptr<EventStream> weak = shared_from_this();
    uint64_t timer =
        session.state().timers.schedule(session.state().options.events_heartbeat, [weak] {
          if (auto s = weak.lock()) s->heartbeat();
        });
    std::lock_guard lock(mu_);
    heartbeat_timer_ = timer;
  }

  // Timer thread: the position, so that a client that heard nothing for long knows the stream
  // lives, and may keep the cursor.
  void heartbeat() {
    auto session = session_.lock();
    if (!session) return;
    int64_t position;
    {
      std::lock_guard lock(mu_);
      if (ended_) return;
      position = position_;
    }
    send("notifications/events/heartbeat", {{"cursor", events::cursor_text(position)}});
    schedule_heartbeat(*session);
  }

  void send(const char* method, json params) {
    if (auto session = session_.lock())
      session->notify(method, tagged(std::move(params), id_), &id_);
  }

  bool ended() {
    std::lock_guard lock(mu_);
    return ended_;
  }

  const std::weak_ptr<SessionImpl> session_;
  const json id_;
  const EventsRequest request_;
  std::mutex mu_;
  rpc::Reply reply_;              // guarded by mu_
  int64_t position_ = 0;          // guarded by mu_: every event up to it is sent or passed over
  bool wanted_ = false;           // guarded by mu_: a commit came during the drain
  bool draining_ = true;          // guarded by mu_: start() runs the first drain
  bool ended_ = false;            // guarded by mu_
  uint64_t heartbeat_timer_ = 0;  // guarded by mu_
};

void offer_events(const std::shared_ptr<EventStream>& stream, const std::vector<Event>& events,
                  bool after_gap) {
  stream->offer(events, after_gap);
}

void end_stream(const std::shared_ptr<EventStream>& stream) { stream->end(/*answer=*/true); }

void SessionImpl::on_events_stream(const std::shared_ptr<rpc::CallContext>& call,
                                   const json& params, const rpc::Reply& reply) {
  auto request = parse_events_request(params);
  if (!request) {
    reply(request.error());
    return;
  }
  if (!call->id()) return;
  auto stream =
      std::make_shared<EventStream>(weak_from_this(), *call->id(), std::move(*request), reply);
  stream->begin(*this, call);
}

bool SessionImpl::add_stream(const std::shared_ptr<EventStream>& stream) {
  std::lock_guard lock(mu_);
  if (closed_ || streams_.size() >= state_->options.max_waits_per_session) return false;
  streams_.emplace(stream.get(), stream);
  return true;
}

void SessionImpl::remove_stream(const EventStream* stream) {
  std::shared_ptr<EventStream> removed;  // released outside the lock
  std::lock_guard lock(mu_);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  removed = std::move(it->second);
  streams_.erase(it);
}

}  // namespace hookmcp::mcp
