// Calling providers' APIs, a connection's stored state, and OAuth 2.0: the refresh grant, and a
// person's login by the device flow or a loopback redirect with PKCE.
#include "api.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "hookmcp/core/form.hpp"
#include "hookmcp/core/random.hpp"
#include "hookmcp/core/text.hpp"
#include "hookmcp/net/http_client.hpp"
#include "hookmcp/verify/crypto.hpp"

namespace hookmcp::connections {

namespace detail {

namespace {

constexpr auto kTimeout = std::chrono::seconds(30);

Result<Reply> exchange(net::ClientRequest request,
                       const std::shared_ptr<net::Cancellation>& cancel = nullptr) {
  request.timeout = kTimeout;
  request.cancellation = cancel;
  request.headers.add("User-Agent", "hookmcp");
  auto r = net::http_request(request);
  if (!r) {
    return make_error(ErrorCode::kUnavailable,
                      request.method + " " + request.url + ": " + r.error().message);
  }
  Reply reply;
  reply.status = r->status;
  reply.headers = r->headers;
  reply.body = json::parse(r->body, nullptr, false);
  if (reply.body.is_discarded()) reply.body = nullptr;
  if (r->status == 429 || r->status >= 500) {
    return make_error(ErrorCode::kUnavailable,
                      request.method + " " + request.url + ": " + describe(reply));
  }
  return reply;
}

}  // namespace

std::string describe(const Reply& r) {
  std::string what = "HTTP " + std::to_string(r.status);
  const json* error = nullptr;
  if (r.body.is_object()) {
    if (auto e = r.body.find("error"); e != r.body.end()) error = &*e;
  }
  if (error != nullptr && error->is_object() && error->contains("message") &&
      (*error)["message"].is_string()) {
    what += ": " + (*error)["message"].get<std::string>();  // Google's, Microsoft Graph's
  } else if (error != nullptr && error->is_string()) {
    what += ": " + error->get<std::string>();  // OAuth's
    if (auto d = r.body.find("error_description"); d != r.body.end() && d->is_string()) {
      what += " (" + d->get<std::string>() + ")";
    }
  } else if (r.body.is_object() && r.body.contains("message") && r.body["message"].is_string()) {
    what += ": " + r.body["message"].get<std::string>();  // GitHub's
  }
  return printable(what, 300);
}

Result<Reply> call(const std::string& method, const std::string& url, const std::string& token,
                   const json& body, Headers extra,
                   const std::shared_ptr<net::Cancellation>& cancel) {
  net::ClientRequest request;
  request.method = method;
  request.url = url;
  request.headers = std::move(extra);
  if (!request.headers.contains("Accept")) request.headers.add("Accept", "application/json");
  if (!token.empty()) request.headers.add("Authorization", "Bearer " + token);
  if (!body.is_null()) {
    request.headers.add("Content-Type", "application/json");
    request.body = body.dump();
  }
  auto r = exchange(std::move(request), cancel);
  if (!r) return r;
  if (r->status == 401 || r->status == 403) {
    return make_error(ErrorCode::kUnauthenticated, method + " " + url + ": " + describe(*r));
  }
  return r;
}

Result<Reply> post_form(const std::string& url,
                        const std::vector<std::pair<std::string, std::string>>& fields) {
  net::ClientRequest request;
  request.url = url;
  request.headers.add("Accept", "application/json");
  request.headers.add("Content-Type", "application/x-www-form-urlencoded");
  request.body = form_encode(fields);
  return exchange(std::move(request));
}

int64_t renew_halfway(const State& s) {
  if (s.expires_at_ms == 0) return 0;
  constexpr int64_t kDay = int64_t{24} * 3600 * 1000;
  return s.registered_at_ms + std::min((s.expires_at_ms - s.registered_at_ms) / 2, kDay);
}

std::string random_token(size_t bytes) {
  auto r = random_hex(bytes);
  // The kernel's CSPRNG does not fail on Linux; random_hex checks it anyway.
  return r ? *r : std::string();
}

NewEvent derived_event(const config::Connection& c, std::string type, std::string delivery_id,
                       const json& body, int64_t now_ms) {
  NewEvent n;
  n.source = c.source;
  n.provider = c.provider();
  n.type = std::move(type);
  n.delivery_id = std::move(delivery_id);
  n.received_at_ms = now_ms;
  n.verified = true;  // read from the provider's API with the connection's credentials
  n.headers_json = json{{"X-Hookmcp-Connection", c.name}}.dump();
  n.content_type = "application/json";
  n.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return n;
}

const Kind& kind_of(config::Connection::Kind kind) {
  static const Kind kGithub = github_kind();
  static const Kind kCalendar = calendar_kind();
  static const Kind kGmail = gmail_kind();
  static const Kind kMsgraph = msgraph_kind();
  switch (kind) {
    case config::Connection::Kind::kGithub:
      return kGithub;
    case config::Connection::Kind::kGoogleCalendar:
      return kCalendar;
    case config::Connection::Kind::kGmail:
      return kGmail;
    case config::Connection::Kind::kMsgraph:
      return kMsgraph;
  }
  return kGithub;
}

}  // namespace detail

using detail::json;

std::string subscription_id(const std::string& name) { return "connection:" + name; }

std::string hook_url(const std::string& public_url, const config::Connection& c) {
  return public_url + "/hooks/" + c.source;
}

json State::to_json() const {
  return {{"status", status},
          {"reason", reason},
          {"secret", secret},
          {"remote_id", remote_id},
          {"resource_id", resource_id},
          {"registered_at_ms", registered_at_ms},
          {"expires_at_ms", expires_at_ms},
          {"cursor", cursor},
          {"since_ms", since_ms},
          {"refresh_token", refresh_token},
          {"fingerprint", fingerprint}};
}

State State::from_json(const std::string& text) {
  State s;
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return s;
  s.status = j.value("status", s.status);
  s.reason = j.value("reason", "");
  s.secret = j.value("secret", "");
  s.remote_id = j.value("remote_id", "");
  s.resource_id = j.value("resource_id", "");
  s.registered_at_ms = j.value("registered_at_ms", int64_t{0});
  s.expires_at_ms = j.value("expires_at_ms", int64_t{0});
  s.cursor = j.value("cursor", "");
  s.since_ms = j.value("since_ms", int64_t{0});
  s.refresh_token = j.value("refresh_token", "");
  s.fingerprint = j.value("fingerprint", "");
  return s;
}

json State::to_public_json() const {
  json j = {{"status", status}, {"remote_id", remote_id}};
  if (!reason.empty()) j["reason"] = reason;
  if (registered_at_ms != 0) j["registered_at"] = format_rfc3339_ms(registered_at_ms);
  j["expires_at"] = expires_at_ms != 0 ? json(format_rfc3339_ms(expires_at_ms)) : json(nullptr);
  j["logged_in"] = !refresh_token.empty();
  return j;
}

Result<AccessToken> refresh_access_token(const config::Connection& c,
                                         const std::string& refresh_token, int64_t now_ms) {
  std::vector<std::pair<std::string, std::string>> fields = {{"grant_type", "refresh_token"},
                                                             {"refresh_token", refresh_token},
                                                             {"client_id", c.client_id}};
  if (!c.client_secret.value.empty()) fields.emplace_back("client_secret", c.client_secret.value);
  auto r = detail::post_form(c.token_url, fields);
  if (!r) return r.error();
  const json& b = r->body;
  if (r->status != 200 || !b.is_object() || !b.contains("access_token") ||
      !b["access_token"].is_string()) {
    // invalid_grant: the refresh token was revoked, expired, or belongs to another client.
    auto code = r->status == 400 || r->status == 401 ? ErrorCode::kUnauthenticated
                                                     : ErrorCode::kUnavailable;
    return make_error(code,
                      "the token endpoint refused the refresh token: " + detail::describe(*r));
  }
  AccessToken t;
  t.value = b["access_token"].get<std::string>();
  int64_t lifetime_s = 3600;
  if (auto e = b.find("expires_in"); e != b.end() && e->is_number_integer()) {
    lifetime_s = e->get<int64_t>();
  }
  t.expires_at_ms = now_ms + lifetime_s * 1000;
  if (auto n = b.find("refresh_token"); n != b.end() && n->is_string()) {
    t.refresh_token = n->get<std::string>();
  }
  return t;
}

LoginOptions login_options(const config::Connection& c) {
  LoginOptions o;
  // Google's endpoints sit beside its token endpoint; Microsoft's share the token endpoint's path.
  const std::string& token = c.token_url;
  switch (c.kind) {
    case config::Connection::Kind::kGoogleCalendar:
    case config::Connection::Kind::kGmail: {
      std::string base = token.substr(0, token.rfind('/'));
      o.device_url = base + "/device/code";
      o.authorize_url = token.find("oauth2.googleapis.com") != std::string::npos
                            ? "https://accounts.google.com/o/oauth2/v2/auth"
                            : base + "/auth";
      o.scope = c.kind == config::Connection::Kind::kGmail
                    ? "https://www.googleapis.com/auth/gmail.readonly"
                    : "https://www.googleapis.com/auth/calendar.readonly";
      break;
    }
    case config::Connection::Kind::kMsgraph: {
      std::string base = token.substr(0, token.rfind('/'));
      o.device_url = base + "/devicecode";
      o.authorize_url = base + "/authorize";
      o.scope = "offline_access Mail.Read Calendars.Read";
      break;
    }
    case config::Connection::Kind::kGithub:
      break;
  }
  return o;
}

Result<std::string> device_login(const config::Connection& c, const LoginOptions& o) {
  auto started = detail::post_form(o.device_url, {{"client_id", c.client_id}, {"scope", o.scope}});
  if (!started) return started.error();
  const json& b = started->body;
  if (started->status != 200 || !b.is_object() || !b.contains("device_code")) {
    return make_error(ErrorCode::kUnauthenticated,
                      "the device authorization endpoint refused: " + detail::describe(*started));
  }
  LoginPrompt prompt;
  prompt.user_code = b.value("user_code", "");
  prompt.verification_uri = b.value("verification_uri", b.value("verification_url", ""));
  const std::string device_code = b.value("device_code", "");
  auto interval = std::chrono::seconds(b.value("interval", 5));
  if (o.prompt) o.prompt(prompt);
  auto deadline = std::chrono::steady_clock::now() +
                  std::min<std::chrono::seconds>(
                      o.timeout, std::chrono::seconds(b.value("expires_in", int64_t{1800})));
  std::vector<std::pair<std::string, std::string>> fields = {
      {"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
      {"device_code", device_code},
      {"client_id", c.client_id}};
  if (!c.client_secret.value.empty()) fields.emplace_back("client_secret", c.client_secret.value);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(interval);
    auto r = detail::post_form(c.token_url, fields);
    if (!r) return r.error();
    if (r->status == 200 && r->body.is_object() && r->body.contains("refresh_token")) {
      return r->body["refresh_token"].get<std::string>();
    }
    std::string error = r->body.is_object() ? r->body.value("error", "") : "";
    if (error == "authorization_pending") continue;
    if (error == "slow_down") {
      interval += std::chrono::seconds(5);
      continue;
    }
    if (r->status == 200) {
      return make_error(ErrorCode::kUnauthenticated,
                        "the token endpoint gave no refresh token (ask for offline access)");
    }
    return make_error(ErrorCode::kUnauthenticated, "login refused: " + detail::describe(*r));
  }
  return make_error(ErrorCode::kUnavailable, "login timed out waiting for the person to agree");
}

namespace {

// A socket on 127.0.0.1 and a free port, for the browser to bring the code back to.
struct Loopback {
  int fd = -1;
  uint16_t port = 0;
  ~Loopback() {
    if (fd >= 0) close(fd);
  }
};

Status open_loopback(Loopback& l) {
  l.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l.fd < 0) return make_error(ErrorCode::kIo, "cannot open a socket for the redirect");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(l.fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(l.fd, 4) != 0 ||
      getsockname(l.fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return make_error(ErrorCode::kIo, "cannot listen on 127.0.0.1 for the redirect");
  }
  l.port = ntohs(a.sin_port);
  return {};
}

// The query of the first request line a browser sends to the loopback socket, answered with a
// page saying the person may close it.
Result<std::string> await_redirect(const Loopback& l, std::chrono::steady_clock::time_point until) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return make_error(ErrorCode::kUnavailable, "login timed out waiting for the browser");
    }
    pollfd p{l.fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000))) <= 0) continue;
    int fd = accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::string request;
    char buf[4096];
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (request.find("\r\n") == std::string::npos && request.size() < 16384) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    std::string line = request.substr(0, request.find("\r\n"));
    auto q = line.find('?');
    auto sp = line.rfind(' ');
    bool ours = line.rfind("GET /callback", 0) == 0 && q != std::string::npos && sp > q;
    std::string page = ours ? "hookmcp: signed in. You may close this window.\n"
                            : "hookmcp is waiting for the sign-in redirect.\n";
    std::string answer = std::string(ours ? "HTTP/1.1 200 OK" : "HTTP/1.1 404 Not Found") +
                         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                         std::to_string(page.size()) + "\r\nConnection: close\r\n\r\n" + page;
    (void)send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
    close(fd);
    if (ours) return line.substr(q + 1, sp - q - 1);
  }
}

}  // namespace

Result<std::string> loopback_login(const config::Connection& c, const LoginOptions& o) {
  Loopback l;
  if (auto s = open_loopback(l); !s) return s.error();
  const std::string redirect = "http://127.0.0.1:" + std::to_string(l.port) + "/callback";
  const std::string verifier = base64url_encode(detail::random_token(32));
  const std::string challenge = base64url_encode(verify::sha256(verifier));
  const std::string state = detail::random_token(16);
  LoginPrompt prompt;
  prompt.verification_uri = o.authorize_url +
                            (o.authorize_url.find('?') == std::string::npos ? "?" : "&") +
                            form_encode({{"response_type", "code"},
                                         {"client_id", c.client_id},
                                         {"redirect_uri", redirect},
                                         {"scope", o.scope},
                                         {"state", state},
                                         {"code_challenge", challenge},
                                         {"code_challenge_method", "S256"},
                                         {"access_type", "offline"},
                                         {"prompt", "consent"}});
  if (o.prompt) o.prompt(prompt);
  auto query = await_redirect(l, std::chrono::steady_clock::now() + o.timeout);
  if (!query) return query.error();
  auto fields = parse_form("application/x-www-form-urlencoded", *query);
  if (!fields) return make_error(ErrorCode::kInvalidArgument, "the redirect's query is malformed");
  auto got_state = form_field(*fields, "state");
  // The state ties the redirect to this login: another page cannot slip its code in.
  if (!got_state || !verify::constant_time_equal(*got_state, state)) {
    return make_error(ErrorCode::kUnauthenticated, "the redirect's state does not match");
  }
  if (auto e = form_field(*fields, "error")) {
    return make_error(ErrorCode::kUnauthenticated, "login refused: " + printable(*e, 200));
  }
  auto code = form_field(*fields, "code");
  if (!code) return make_error(ErrorCode::kInvalidArgument, "the redirect carries no code");
  std::vector<std::pair<std::string, std::string>> form = {{"grant_type", "authorization_code"},
                                                           {"code", *code},
                                                           {"redirect_uri", redirect},
                                                           {"client_id", c.client_id},
                                                           {"code_verifier", verifier}};
  if (!c.client_secret.value.empty()) form.emplace_back("client_secret", c.client_secret.value);
  auto r = detail::post_form(c.token_url, form);
  if (!r) return r.error();
  if (r->status != 200 || !r->body.is_object() || !r->body.contains("refresh_token") ||
      !r->body["refresh_token"].is_string()) {
    return make_error(ErrorCode::kUnauthenticated,
                      "the code exchange gave no refresh token: " + detail::describe(*r));
  }
  return r->body["refresh_token"].get<std::string>();
}

}  // namespace hookmcp::connections
