// subscriptions/listen, MCP 2026-07-28's one channel for notifications outside a request: it
// replaces resources/subscribe and the GET stream of the session-based revisions. The request
// stays open (over HTTP, its POST's stream) until the client leaves or the server ends it;
// everything sent on it names the request's id as its subscription.
#include "hookmcp/mcp/stateless.hpp"
#include "internal.hpp"

namespace hookmcp::mcp {

json tagged(json params, const json& subscription) {
  params["_meta"] = {{kMetaSubscriptionId, subscription}};
  return params;
}

void SessionImpl::on_listen(const std::shared_ptr<rpc::CallContext>& call, const json& params,
                            const rpc::Reply& reply) {
  auto wanted = params.find("notifications");
  if (wanted == params.end() || !wanted->is_object()) {
    reply(make_error(ErrorCode::kInvalidArgument,
                     "subscriptions/listen needs params.notifications: an object naming what to "
                     "hear (resourceSubscriptions, resourcesListChanged)"));
    return;
  }
  if (!call->id()) return;
  Listener listener{*call->id(), false, {}, reply};
  // What the server agrees to: only what it can send. Its tools and prompts never change, so
  // toolsListChanged and promptsListChanged are left out of the agreement.
  json agreed = json::object();
  if (auto v = wanted->find("resourcesListChanged"); v != wanted->end() && v->is_boolean() && *v) {
    listener.resources_list_changed = true;
    agreed["resourcesListChanged"] = true;
  }
  if (auto uris = wanted->find("resourceSubscriptions"); uris != wanted->end()) {
    if (!uris->is_array()) {
      reply(make_error(ErrorCode::kInvalidArgument,
                       "params.notifications.resourceSubscriptions must be an array of URIs"));
      return;
    }
    json accepted = json::array();
    for (const auto& uri : *uris) {
      if (!uri.is_string() || !can_subscribe(state_->options, uri.get<std::string>())) continue;
      if (listener.resources.insert(uri.get<std::string>()).second) accepted.push_back(uri);
    }
    agreed["resourceSubscriptions"] = std::move(accepted);
  }
  json id = listener.id;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    listeners_.emplace(call.get(), std::move(listener));
  }
  // The client left (over HTTP: its stream closed) or cancelled: the subscription ends.
  std::weak_ptr<SessionImpl> weak = weak_from_this();
  call->on_cancel([weak, key = call.get()] {
    auto self = weak.lock();
    if (!self) return;
    rpc::Reply ended;
    {
      std::lock_guard lock(self->mu_);
      auto it = self->listeners_.find(key);
      if (it == self->listeners_.end()) return;
      ended = std::move(it->second.reply);
      self->listeners_.erase(it);
    }
    ended(json::object());  // sends nothing (cancelled), and lets the request go
  });
  // The first message of the subscription, before any notification it carries.
  notify("notifications/subscriptions/acknowledged", tagged({{"notifications", agreed}}, id), &id);
}

std::vector<SessionImpl::ListenerUpdate> SessionImpl::listener_updates(
    const std::vector<Event>& events, bool new_source) const {
  std::vector<ListenerUpdate> out;
  for (const auto& [key, l] : listeners_) {
    ListenerUpdate o{l.id, new_source && l.resources_list_changed, {}};
    for (const auto& uri : l.resources) {
      if (feed_changed(uri, events)) o.updated.push_back(uri);
    }
    if (o.list_changed || !o.updated.empty()) out.push_back(std::move(o));
  }
  return out;
}

void SessionImpl::send_listener_updates(const std::vector<ListenerUpdate>& updates) {
  for (const auto& o : updates) {
    if (o.list_changed) {
      notify("notifications/resources/list_changed", tagged(json::object(), o.id), &o.id);
    }
    for (const auto& uri : o.updated) {
      notify("notifications/resources/updated", tagged({{"uri", uri}}, o.id), &o.id);
    }
  }
}

void SessionImpl::end_listeners() {
  std::map<const rpc::CallContext*, Listener> ending;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    ending.swap(listeners_);
  }
  for (auto& [key, l] : ending) {
    l.reply(json{{"_meta", {{kMetaSubscriptionId, l.id}}}});
  }
}

void SessionImpl::resource_updated(const std::string& uri) {
  std::vector<json> listening;
  bool subscribed;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    subscribed = ready_ && subscriptions_.count(uri) > 0;
    for (const auto& [key, l] : listeners_) {
      if (l.resources.count(uri)) listening.push_back(l.id);
    }
  }
  if (subscribed) notify("notifications/resources/updated", {{"uri", uri}});
  for (const auto& id : listening) {
    notify("notifications/resources/updated", tagged({{"uri", uri}}, id), &id);
  }
}

}  // namespace hookmcp::mcp
