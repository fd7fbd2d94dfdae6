// A small blocking HTTP/1.1 client for one request at a time: `hookmcp send`, and outbound
// deliveries to URLs that clients hand in. Each call opens its own connection and io_context, so
// calls from different threads are independent. https:// URLs verify the server's certificate
// against the system's CAs. Redirects are never followed: a 3xx is the answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/result.hpp"

namespace hookmcp::net {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  uint16_t port = 0;
  std::string target;  // path and query, at least "/"
};

// http://HOST[:PORT][/PATH][?QUERY] or https://...; kInvalidArgument saying what is wrong.
Result<Url> parse_url(std::string_view text);

class Cancellation;

struct ClientRequest {
  std::string method = "POST";
  std::string url;
  Headers headers;  // sent as given; Host, Content-Length and User-Agent are added if absent
  std::string body;
  std::chrono::milliseconds timeout{30000};  // for the whole exchange
  // A larger body is not read: the request fails (kTooLarge).
  uint64_t max_response_bytes = uint64_t{16} << 20;
  // Asked of each address the host resolves to, before connecting: a reason to refuse it, or
  // nullopt. The connection goes to an address that passed, never to a name resolved again, so
  // that a name cannot point elsewhere between the check and the connection. Null: any.
  std::function<std::optional<std::string>(const std::string& address)> vet_address;
  // When given and cancelled, the request stops (see Cancellation).
  std::shared_ptr<Cancellation> cancellation;
};

// Why a request got no answer: the categories a sender reports (MCP Events' lastError).
enum class Failure { kNone, kRefusedAddress, kResolve, kConnect, kTimeout, kTls, kExchange };

struct ClientResponse {
  int status = 0;
  std::string reason;
  int version = 11;  // 10 or 11
  Headers headers;
  std::string body;

  // "HTTP/1.1 202 Accepted"
  std::string status_line() const;
};

// Stops the requests that carry it, from another thread: those in flight fail at once
// (kClosed), and later ones never start. Thread-safe.
class Cancellation {
 public:
  void cancel();
  bool cancelled() const;

 private:
  friend class Client;
  // While a request runs: how to stop it. False once cancelled.
  bool attach(uint64_t* id, std::function<void()> stop);
  void detach(uint64_t id);
  mutable std::mutex mu_;
  bool cancelled_ = false;                             // guarded by mu_
  uint64_t next_ = 1;                                  // guarded by mu_
  std::map<uint64_t, std::function<void()>> running_;  // guarded by mu_
};

// A connection kept open between requests to the same scheme, host and port, for a caller that
// sends many (a subscription's deliveries). One thread at a time; blocking.
class Client {
 public:
  Client();
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  // As http_request, on the kept connection when it still goes to the same place.
  Result<ClientResponse> request(const ClientRequest& request, Failure* failure = nullptr);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sends the request on a connection of its own and reads the whole answer. kInvalidArgument for a
// bad URL or a refused address, kIo when the server cannot be reached, the exchange fails, or it
// takes longer than the timeout; `failure`, when given, says which.
Result<ClientResponse> http_request(const ClientRequest& request, Failure* failure = nullptr);

// Why `address` (an IPv4 or IPv6 literal) is not on the public internet: "loopback", "private",
// "link-local" (cloud metadata lives there), "unspecified", "multicast", "shared" (carrier NAT),
// "reserved", "documentation", or nullopt for a public address. IPv4 mapped into IPv6 is judged
// as the IPv4 address; something that is no address at all is "not an address".
std::optional<std::string> non_public_reason(std::string_view address);

}  // namespace hookmcp::net
