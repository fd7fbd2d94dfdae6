// A blocking HTTP/1.1 client for integration tests. Beast stays inside http_client.cpp.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hookmcp/core/headers.hpp"

namespace hookmcp::testing {

struct HttpResponse {
  int status = 0;  // 0: no response (connection refused, reset, timeout)
  Headers headers;
  std::string body;
  std::string error;
};

// One keep-alive connection to 127.0.0.1:port.
class HttpClient {
 public:
  explicit HttpClient(int port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse request(const std::string& method, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       const std::string& body = {});
  HttpResponse post(const std::string& target, const std::string& body,
                    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return request("POST", target, headers, body);
  }
  HttpResponse get(const std::string& target) { return request("GET", target); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sends raw bytes and returns everything the server answers until it closes (or `timeout_ms`).
std::string raw_exchange(int port, const std::string& bytes, int timeout_ms = 5000);

}  // namespace hookmcp::testing
