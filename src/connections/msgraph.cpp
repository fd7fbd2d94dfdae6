// Microsoft Graph: a subscription with the connection's clientState, renewed before it
// expires. Its lifecycle notifications are answered: reauthorizationRequired by renewing at
// once, subscriptionRemoved by subscribing again, missed by noting it. A change notification
// names the resource: it is read and stored as "<kind>.<change>" (message.created...).
// https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
// https://learn.microsoft.com/graph/change-notifications-lifecycle-events
#include <spdlog/spdlog.h>

#include "api.hpp"
#include "hookmcp/core/time.hpp"

namespace hookmcp::connections::detail {

namespace {

// Graph allows up to about 3 days for most resources (under 7 for Outlook's): asked for 3 days
// less a minute, renewed halfway.
constexpr int64_t kLifetimeMs = (int64_t{3} * 24 * 60 - 1) * 60 * 1000;

std::string fingerprint(const Context& x) {
  return json{{"url", x.hook_url},
              {"resource", x.c.resource},
              {"change_type", x.c.change_type},
              {"api", x.c.api_url}}
      .dump();
}

int64_t expiry_of(const json& body, int64_t fallback) {
  auto at = parse_rfc3339_ms(body.value("expirationDateTime", ""), MissingOffset::kUtc);
  return at ? *at : fallback;
}

Status subscribe(Context& x) {
  const int64_t until = x.now_ms + kLifetimeMs;
  auto r = x.call("POST", x.c.api_url + "/subscriptions",
                  json{{"changeType", x.c.change_type},
                       {"notificationUrl", x.hook_url},
                       {"lifecycleNotificationUrl", x.hook_url},
                       {"resource", x.c.resource},
                       {"expirationDateTime", format_rfc3339_ms(until)},
                       {"clientState", x.state.secret}});
  if (!r) return r.error();
  if (r->status != 201 || !r->body.is_object() || !r->body.contains("id")) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot subscribe to " + x.c.resource + ": " + describe(*r));
  }
  std::string old = x.state.remote_id;
  x.state.remote_id = r->body.value("id", "");
  x.state.registered_at_ms = x.now_ms;
  x.state.expires_at_ms = expiry_of(r->body, until);
  x.state.fingerprint = fingerprint(x);
  if (!old.empty() && old != x.state.remote_id) {
    (void)x.call("DELETE", x.c.api_url + "/subscriptions/" + old);  // best effort
  }
  return {};
}

Status renew(Context& x) {
  if (x.state.remote_id.empty()) return subscribe(x);
  const int64_t until = x.now_ms + kLifetimeMs;
  auto r = x.call("PATCH", x.c.api_url + "/subscriptions/" + x.state.remote_id,
                  json{{"expirationDateTime", format_rfc3339_ms(until)}});
  if (!r) return r.error();
  if (r->status == 404) return subscribe(x);  // removed at Graph: made again
  if (r->status != 200) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot renew subscription " + x.state.remote_id + ": " + describe(*r));
  }
  x.state.registered_at_ms = x.now_ms;
  x.state.expires_at_ms = r->body.is_object() ? expiry_of(r->body, until) : until;
  return {};
}

Status check(Context& x, bool at_start) {
  if (x.state.remote_id.empty() || x.state.fingerprint != fingerprint(x) ||
      x.state.expires_at_ms <= x.now_ms) {
    return subscribe(x);
  }
  if (!at_start) return {};
  auto r = x.call("GET", x.c.api_url + "/subscriptions/" + x.state.remote_id);
  if (!r) return r.error();
  if (r->status == 404) return subscribe(x);
  return {};
}

// The resource kind of "Users/ID/Messages/ID" or of its @odata.type: "message", "event".
std::string kind_of_resource(const json& resource, const std::string& path) {
  std::string odata = resource.is_object() ? resource.value("@odata.type", "") : "";
  if (auto dot = odata.rfind('.'); dot != std::string::npos) return odata.substr(dot + 1);
  std::string kind = path;
  if (auto slash = kind.rfind('/'); slash != std::string::npos) kind = kind.substr(0, slash);
  if (auto slash = kind.rfind('/'); slash != std::string::npos) kind = kind.substr(slash + 1);
  for (auto& ch : kind) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!kind.empty() && kind.back() == 's') kind.pop_back();
  return kind.empty() ? "resource" : kind;
}

Status read(Context& x, const Event& notification) {
  auto item = json::parse(notification.body, nullptr, false);
  if (!item.is_object()) return {};
  if (item.value("subscriptionId", "") != x.state.remote_id) return {};  // an older subscription's
  const std::string lifecycle = item.value("lifecycleEvent", "");
  if (lifecycle == "reauthorizationRequired") return renew(x);
  if (lifecycle == "subscriptionRemoved") {
    x.state.remote_id.clear();
    return subscribe(x);
  }
  if (lifecycle == "missed") {
    spdlog::warn("connection {}: Microsoft Graph says notifications were missed", x.c.name);
    return {};
  }
  const std::string change = item.value("changeType", "");
  const std::string path = item.value("resource", "");
  if (change.empty() || path.empty()) return {};
  json resource = item.value("resourceData", json::object());
  if (change != "deleted") {
    auto r = x.call("GET", x.c.api_url + "/" + path);
    if (!r) return r.error();
    if (r->status == 404) return {};  // gone since
    if (r->status != 200 || !r->body.is_object()) {
      return make_error(ErrorCode::kInvalidArgument, "cannot read " + path + ": " + describe(*r));
    }
    resource = r->body;
  }
  std::string version = resource.is_object() ? resource.value("changeKey", "") : "";
  if (version.empty() && resource.is_object()) version = resource.value("@odata.etag", "");
  std::vector<NewEvent> out;
  out.push_back(derived_event(x.c, kind_of_resource(resource, path) + "." + change,
                              path + ":" + change + ":" + version, resource, x.now_ms));
  return x.store(std::move(out));
}

Status remove(Context& x) {
  if (x.state.remote_id.empty()) return {};
  auto r = x.call("DELETE", x.c.api_url + "/subscriptions/" + x.state.remote_id);
  if (!r) return r.error();
  if (r->status != 204 && r->status != 404) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot delete subscription " + x.state.remote_id + ": " + describe(*r));
  }
  x.state.remote_id.clear();
  return {};
}

}  // namespace

Kind msgraph_kind() {
  return {check,
          renew_halfway,
          renew,
          [](const std::string& type) {
            return type == "created" || type == "updated" || type == "deleted" ||
                   type == "reauthorizationRequired" || type == "subscriptionRemoved" ||
                   type == "missed";
          },
          read,
          remove};
}

}  // namespace hookmcp::connections::detail
