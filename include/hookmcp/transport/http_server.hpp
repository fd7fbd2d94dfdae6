// The HTTP listener: webhook intake, /healthz and /metrics on one port.
//
// Owns its io_context and I/O threads. Each connection is one coroutine on its own strand; no
// SQLite call and no fsync runs on an I/O thread (intake hands events to the store's writer and
// resumes when the commit is durable).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/intake/intake.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::transport {

struct HttpOptions {
  config::Endpoint listen;
  uint64_t max_body_bytes = uint64_t{25} << 20;
  uint32_t max_header_bytes = 16 * 1024;
  size_t max_connections = 4096;
  std::chrono::seconds header_timeout{30};  // idle keep-alive and slow headers
  std::chrono::seconds body_timeout{120};
  int io_threads = 2;
};

class HttpServer {
 public:
  // Binds and starts serving. `intake`, `store` and `metrics` must outlive the server, and the
  // store must be closed before the server is destroyed: a commit still in flight hands its
  // answer to the server's executor.
  static Result<std::unique_ptr<HttpServer>> start(const HttpOptions& options,
                                                   intake::Intake& intake, store::Store& store,
                                                   Metrics& metrics);
  virtual ~HttpServer() = default;

  // The bound endpoint (the real port when asked for port 0).
  virtual config::Endpoint local_endpoint() const = 0;

  // Stops accepting, lets requests in flight get their answers (up to `grace`), closes the
  // rest, and joins the I/O threads. Call once, from a thread that is not an I/O thread.
  virtual void stop(std::chrono::milliseconds grace) = 0;
};

}  // namespace hookmcp::transport
