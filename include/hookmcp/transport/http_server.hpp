// The HTTP listener: webhook intake, /healthz and /metrics, and (when given an MCP server) the
// MCP transports: Streamable HTTP at /mcp and the legacy HTTP+SSE pair /sse + /messages.
//
// Owns its io_context and I/O threads. Each connection is one coroutine on its own strand; no
// SQLite call and no fsync runs on an I/O thread (intake hands events to the store's writer and
// resumes when the commit is durable; MCP sessions read the store on their own workers).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/intake/intake.hpp"
#include "hookmcp/mcp/server.hpp"
#include "hookmcp/transport/mcp_access.hpp"

namespace hookmcp::transport {

struct HttpOptions {
  config::Endpoint listen;
  uint64_t max_body_bytes = uint64_t{25} << 20;
  // Bytes of request bodies being received at once; past it new requests get 503.
  uint64_t max_reading_bytes = uint64_t{256} << 20;
  uint32_t max_header_bytes = 16 * 1024;
  size_t max_connections = 4096;
  std::chrono::seconds header_timeout{30};  // idle keep-alive and slow headers
  std::chrono::seconds body_timeout{120};
  // Threads running the connections. 0: one per core but one, which the store's writer keeps
  // busy (on 2 cores, one I/O thread is faster than two: measured in bench/README.md).
  int io_threads = 0;
  // What GET /healthz says of this server besides its health: its version, and the identity
  // of its database (Store::identity), by which a second hookmcp finds out whether the process
  // holding an address writes the database it reads.
  std::string version;
  std::string database_identity;
  // TLS when both are set (PEM files).
  std::string tls_cert_file;
  std::string tls_key_file;
  // MCP over HTTP: off when null.
  mcp::Server* mcp = nullptr;
  McpAccess mcp_access;
  size_t max_mcp_sessions = 10000;
  std::chrono::seconds mcp_session_idle_timeout{3600};
  std::chrono::seconds sse_keep_alive{15};
  // How long the requests of a POST whose client left stay running for it to resume the stream
  // (Last-Event-ID) before they are cancelled.
  std::chrono::seconds resume_grace{5};
};

class HttpServer {
 public:
  // Binds and starts serving. `intake`, `metrics` and options.mcp must outlive the server, and
  // the store behind `intake` must be closed before the server is destroyed: a commit still in
  // flight hands its answer to the server's executor. `unhealthy_reason` answers /healthz (why
  // storage cannot commit, "" when it can); it runs on an I/O thread, so it must be quick and
  // thread-safe.
  static Result<std::unique_ptr<HttpServer>> start(const HttpOptions& options,
                                                   intake::Intake& intake,
                                                   std::function<std::string()> unhealthy_reason,
                                                   Metrics& metrics);
  virtual ~HttpServer() = default;

  // The bound endpoint (the real port when asked for port 0).
  virtual config::Endpoint local_endpoint() const = 0;
  // http://HOST:PORT or https://HOST:PORT, with the real port.
  virtual std::string url() const = 0;

  // Stops accepting, ends MCP streams, lets requests in flight get their answers (up to
  // `grace`), closes the rest, and joins the I/O threads. Call once, from a thread that is not
  // an I/O thread.
  virtual void stop(std::chrono::milliseconds grace) = 0;
};

}  // namespace hookmcp::transport
