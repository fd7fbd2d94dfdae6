// GitHub: a repository or organization webhook with the connection's secret, pointing at the
// source's URL. Checked at start and recreated when deleted; one found at the same URL (made
// before a restart whose state was lost, or by hand) is taken over, not duplicated. The
// deliveries are the events: nothing to read.
// https://docs.github.com/rest/repos/webhooks, https://docs.github.com/rest/orgs/webhooks
#include "api.hpp"

namespace hookmcp::connections::detail {

namespace {

std::string hooks_url(const config::Connection& c) {
  return c.api_url + (c.repository.empty() ? "/orgs/" + c.organization : "/repos/" + c.repository) +
         "/hooks";
}

Headers github_headers() {
  Headers h;
  h.add("X-GitHub-Api-Version", "2022-11-28");
  h.add("Accept", "application/vnd.github+json");
  return h;
}

json hook_body(const Context& x) {
  return {{"name", "web"},
          {"active", true},
          {"events", x.c.events},
          {"config",
           {{"url", x.hook_url},
            {"content_type", "json"},
            {"secret", x.state.secret},
            {"insecure_ssl", "0"}}}};
}

std::string fingerprint(const Context& x) {
  return json{{"url", x.hook_url}, {"events", x.c.events}, {"hooks", hooks_url(x.c)}}.dump();
}

// The id of the hook at our URL among the target's hooks, or empty.
Result<std::string> find_by_url(const Context& x) {
  for (int page = 1; page <= 10; ++page) {
    auto r = x.call("GET", hooks_url(x.c) + "?per_page=100&page=" + std::to_string(page), nullptr,
                    github_headers());
    if (!r) return r.error();
    if (r->status != 200 || !r->body.is_array()) {
      return make_error(ErrorCode::kNotFound,
                        "cannot list the webhooks of " + hooks_url(x.c) + ": " + describe(*r));
    }
    for (const json& hook : r->body) {
      if (hook.is_object() && hook.contains("config") && hook["config"].is_object() &&
          hook["config"].value("url", "") == x.hook_url) {
        return std::to_string(hook.value("id", int64_t{0}));
      }
    }
    if (r->body.size() < 100) break;
  }
  return std::string();
}

Status adopt(Context& x, const std::string& id) {
  // PATCH puts our secret and events on it: a hook made before carries a secret we cannot read.
  auto r = x.call("PATCH", hooks_url(x.c) + "/" + id, hook_body(x), github_headers());
  if (!r) return r.error();
  if (r->status != 200) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot update webhook " + id + ": " + describe(*r));
  }
  x.state.remote_id = id;
  return {};
}

Status check(Context& x, bool at_start) {
  if (!x.state.remote_id.empty() && x.state.fingerprint == fingerprint(x)) {
    if (!at_start && x.state.status == "active") return {};
    auto r = x.call("GET", hooks_url(x.c) + "/" + x.state.remote_id, nullptr, github_headers());
    if (!r) return r.error();
    if (r->status == 200) return {};
    if (r->status != 404) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot read webhook " + x.state.remote_id + ": " + describe(*r));
    }
    x.state.remote_id.clear();  // deleted at GitHub: made again below
  }
  auto found = find_by_url(x);
  if (!found) return found.error();
  if (!found->empty()) {
    if (auto s = adopt(x, *found); !s) return s;
  } else {
    auto r = x.call("POST", hooks_url(x.c), hook_body(x), github_headers());
    if (!r) return r.error();
    if (r->status != 201 || !r->body.is_object() || !r->body.contains("id")) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot create a webhook at " + hooks_url(x.c) + ": " + describe(*r));
    }
    x.state.remote_id = std::to_string(r->body["id"].get<int64_t>());
  }
  x.state.fingerprint = fingerprint(x);
  x.state.registered_at_ms = x.now_ms;
  x.state.expires_at_ms = 0;
  return {};
}

Status remove(Context& x) {
  if (x.state.remote_id.empty()) return {};
  auto r = x.call("DELETE", hooks_url(x.c) + "/" + x.state.remote_id, nullptr, github_headers());
  if (!r) return r.error();
  if (r->status != 204 && r->status != 404) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot delete webhook " + x.state.remote_id + ": " + describe(*r));
  }
  x.state.remote_id.clear();
  return {};
}

}  // namespace

Kind github_kind() {
  return {check,
          [](const State&) -> int64_t { return 0; },
          [](Context&) -> Status { return {}; },
          [](const std::string&) { return false; },
          [](Context&, const Event&) -> Status { return {}; },
          remove};
}

}  // namespace hookmcp::connections::detail
