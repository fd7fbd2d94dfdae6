// One entry of `triggers`: its match and its one action, checked for what a mistake would make
// of it: a trigger that never fires (a pointer that is no JSON Pointer), a command run through a
// shell by accident, a forward to a URL that cannot be reached, a notice without a message.
#include <algorithm>

#include "hookmcp/core/event.hpp"
#include "parse.hpp"

namespace hookmcp::config {

std::string Trigger::action_name() const {
  switch (action) {
    case Action::kForward:
      return "forward";
    case Action::kRun:
      return "run";
    case Action::kNotify:
      return "notify";
  }
  return "forward";
}

nlohmann::json Trigger::to_json() const {
  using nlohmann::json;
  json when = json::object();
  if (match.source) when["source"] = *match.source;
  if (match.type) when["type"] = *match.type;
  if (match.action) when["action"] = *match.action;
  for (const auto& [pointer, value] : match.payload) when["payload"][pointer] = value;
  json does;
  switch (action) {
    case Action::kForward:
      does = {{"url", url}, {"mode", signed_mode ? "signed" : "original"}};
      if (signed_mode) does["secret"] = secret.redacted();
      break;
    case Action::kRun:
      does = {{"argv", argv}, {"concurrency", concurrency}};
      break;
    case Action::kNotify:
      does = {{"message", message}};
      break;
  }
  if (action != Action::kNotify) {
    does["timeout_s"] = timeout_s;
    does["max_attempts"] = max_attempts;
  }
  return {{"match", std::move(when)}, {action_name(), std::move(does)}};
}

namespace detail {

void check_http_url(const std::string& url, const std::string& where, const char* example,
                    Findings& f) {
  bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  std::string rest = scheme ? url.substr(url.find("://") + 3) : "";
  std::string authority = rest.substr(0, rest.find_first_of("/?"));
  if (!scheme || authority.empty() || authority.find('@') != std::string::npos ||
      url.find_first_of(" #\r\n\t") != std::string::npos) {
    f.error(where, std::string("expected an absolute http:// or https:// URL without credentials "
                               "or fragment, e.g. \"") +
                       example + "\"");
  }
}

namespace {

void parse_match(const json& v, const std::string& where, TriggerMatch& m, Findings& f) {
  if (!v.is_object()) {
    f.error(where,
            "expected an object: {\"source\": ..., \"type\": ..., \"action\": ..., "
            "\"payload\": {\"/json/pointer\": value}}");
    return;
  }
  check_keys(v, where, {"source", "type", "action", "payload"}, f);
  for (auto [key, out] : {std::pair{"source", &m.source}, std::pair{"type", &m.type},
                          std::pair{"action", &m.action}}) {
    if (!v.contains(key)) continue;
    if (auto s = get_string(v[key], member(where, key), f)) *out = *s;
  }
  if (m.source && *m.source == kNoticeSource) {
    f.error(member(where, "source"),
            "\"hookmcp\" holds the notices triggers write; a trigger never fires on them");
  }
  if (!v.contains("payload")) return;
  const json& payload = v["payload"];
  const std::string pw = member(where, "payload");
  if (!payload.is_object()) {
    f.error(pw,
            "expected an object of JSON Pointers and the values there, e.g. "
            "{\"/action\": \"opened\"}");
    return;
  }
  for (const auto& [pointer, value] : payload.items()) {
    if (!pointer.empty() && pointer.front() != '/') {
      f.error(member(pw, pointer), "is not a JSON Pointer: write \"/" + pointer + "\"");
      continue;
    }
    try {
      (void)json::json_pointer(pointer);
    } catch (const json::exception&) {
      f.error(member(pw, pointer), "is not a JSON Pointer (~ must be followed by 0 or 1)");
      continue;
    }
    m.payload.emplace_back(pointer, value);
  }
}

void parse_forward(const json& v, const std::string& where, const Getenv& getenv, Trigger& t,
                   Findings& f) {
  check_keys(v, where, {"url", "mode", "secret", "timeout_s", "max_attempts"}, f);
  if (v.contains("url")) {
    if (auto s = get_string(v["url"], member(where, "url"), f)) {
      t.url = *s;
      check_http_url(t.url, member(where, "url"), "http://127.0.0.1:3000/webhooks", f);
    }
  } else {
    f.error(member(where, "url"), "is required: where the events are POSTed");
  }
  std::string mode = "original";
  if (v.contains("mode")) {
    if (auto s = get_string(v["mode"], member(where, "mode"), f)) mode = *s;
  }
  if (mode != "original" && mode != "signed") {
    f.error(member(where, "mode"),
            "expected \"original\" (the provider's request and signature) or \"signed\" (signed "
            "as Standard Webhooks with `secret`)");
    return;
  }
  t.signed_mode = mode == "signed";
  if (v.contains("secret")) {
    if (!t.signed_mode) {
      f.error(member(where, "secret"),
              "is used only with \"mode\": \"signed\"; the original request carries the "
              "provider's own signature");
    } else if (auto ref = get_string(v["secret"], member(where, "secret"), f)) {
      if (auto secret = resolve_secret(*ref, member(where, "secret"), getenv, f)) {
        check_provider_secret("standard", *secret, member(where, "secret"), f);
        t.secret = std::move(*secret);
      }
    }
  } else if (t.signed_mode) {
    f.error(member(where, "secret"),
            "is required with \"mode\": \"signed\": a Standard Webhooks secret (whsec_ and "
            "base64), or env:NAME");
  }
}

void parse_run(const json& v, const std::string& where, Trigger& t, Findings& f) {
  check_keys(v, where, {"argv", "timeout_s", "concurrency", "max_attempts"}, f);
  if (!v.contains("argv")) {
    f.error(member(where, "argv"),
            "is required: the command and its arguments, e.g. "
            "[\"/usr/local/bin/on-event\", \"--quiet\"]");
  } else if (auto argv = get_strings(v["argv"], member(where, "argv"), f)) {
    if (argv->empty() || argv->front().empty()) {
      f.error(member(where, "argv"), "needs at least the command");
    } else if (argv->size() == 1 && argv->front().find(' ') != std::string::npos) {
      f.error(member(where, "argv"),
              "is run without a shell, so \"" + argv->front() +
                  "\" names one file; give the command and each argument as its own string");
    } else {
      t.argv = std::move(*argv);
    }
  }
  if (v.contains("concurrency")) {
    if (auto n = get_int(v["concurrency"], member(where, "concurrency"), 1, 64, f)) {
      t.concurrency = static_cast<int>(*n);
    }
  }
}

void parse_notify(const json& v, const std::string& where, Trigger& t, Findings& f) {
  check_keys(v, where, {"message"}, f);
  if (!v.contains("message")) {
    f.error(member(where, "message"),
            "is required: what the assistant is told, e.g. "
            "\"Incident {{payload./incident/title}}: page the on-call\"");
    return;
  }
  auto message = get_string(v["message"], member(where, "message"), f);
  if (!message) return;
  if (message->empty()) {
    f.error(member(where, "message"), "must not be empty");
    return;
  }
  // Every {{ has its }}, and names a field there is.
  for (size_t open = message->find("{{"); open != std::string::npos;
       open = message->find("{{", open + 2)) {
    size_t close = message->find("}}", open + 2);
    if (close == std::string::npos) {
      f.error(member(where, "message"), "has a {{ without its }}");
      return;
    }
    std::string field = message->substr(open + 2, close - open - 2);
    static const char* kFields[] = {"source", "type", "action", "id", "received_at"};
    bool known = std::any_of(std::begin(kFields), std::end(kFields),
                             [&](const char* k) { return field == k; }) ||
                 field.rfind("payload./", 0) == 0 || field == "payload.";
    if (!known) {
      f.error(member(where, "message"),
              "{{" + field +
                  "}} is not a field: use {{source}}, {{type}}, {{action}}, {{id}}, "
                  "{{received_at}} or {{payload./json/pointer}}");
      return;
    }
  }
  t.message = std::move(*message);
}

}  // namespace

std::optional<Trigger> parse_trigger(const std::string& name, const json& v, const Getenv& getenv,
                                     Findings& f) {
  const std::string where = member("triggers", name);
  size_t errors = f.errors.size();
  if (!valid_source_name(name)) {
    f.error(where, "a trigger name is 1 to 64 letters, digits, '-', '_' or '.'");
  }
  if (!v.is_object()) {
    f.error(where,
            "expected an object with \"match\" and one of \"forward\", \"run\" or "
            "\"notify\"");
    return std::nullopt;
  }
  check_keys(v, where, {"match", "forward", "run", "notify"}, f);
  Trigger t;
  t.name = name;
  if (v.contains("match")) {
    parse_match(v["match"], member(where, "match"), t.match, f);
  } else {
    f.error(member(where, "match"),
            "is required: the events it is for, e.g. {\"source\": \"github\"} ({} for every "
            "event)");
  }
  int actions = 0;
  for (const char* key : {"forward", "run", "notify"}) {
    if (!v.contains(key)) continue;
    ++actions;
    const std::string aw = member(where, key);
    const json& a = v[key];
    if (!a.is_object()) {
      f.error(aw, "expected an object");
      continue;
    }
    if (std::string(key) == "forward") {
      t.action = Trigger::Action::kForward;
      parse_forward(a, aw, getenv, t, f);
    } else if (std::string(key) == "run") {
      t.action = Trigger::Action::kRun;
      parse_run(a, aw, t, f);
    } else {
      t.action = Trigger::Action::kNotify;
      parse_notify(a, aw, t, f);
    }
    if (a.contains("timeout_s")) {
      if (auto n = get_int(a["timeout_s"], member(aw, "timeout_s"), 1, 3600, f)) {
        t.timeout_s = static_cast<int>(*n);
      }
    } else if (t.action == Trigger::Action::kForward) {
      t.timeout_s = 10;
    }
    if (a.contains("max_attempts")) {
      if (auto n = get_int(a["max_attempts"], member(aw, "max_attempts"), 1, 100, f)) {
        t.max_attempts = static_cast<int>(*n);
      }
    }
  }
  if (actions != 1) {
    f.error(where, actions == 0 ? "needs an action: \"forward\", \"run\" or \"notify\""
                                : "has more than one action: give each its own trigger");
  }
  if (f.errors.size() != errors) return std::nullopt;
  return t;
}

}  // namespace detail

}  // namespace hookmcp::config
