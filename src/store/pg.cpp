#include "pg.hpp"

#include <algorithm>
#include <charconv>

#include "hookmcp/core/text.hpp"

namespace hookmcp::store::pg {

int64_t Rows::int64(int row, int col) const {
  auto t = text(row, col);
  int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

std::string Rows::bytes(int row, int col) const {
  auto t = text(row, col);
  if (t.size() >= 2 && t.substr(0, 2) == "\\x") {
    if (auto decoded = hex_decode(t.substr(2))) return std::move(*decoded);
  }
  return std::string(t);
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& url, int timeout_s,
                                                     const std::string& application_name) {
  std::string timeout = std::to_string(timeout_s);
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {url.c_str(), timeout.c_str(), application_name.c_str(), nullptr};
  // expand_dbname: `dbname` is the whole URL.
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return make_error(ErrorCode::kUnavailable, "out of memory");
  std::unique_ptr<Connection> c(new Connection(conn));
  // Notices ("relation already exists, skipping") are not for a server's log.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  if (PQstatus(conn) != CONNECTION_OK) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot connect to PostgreSQL at " + redacted_url(url) + ": " + c->error());
  }
  return c;
}

Connection::~Connection() { PQfinish(conn_); }

namespace {

// One line: libpq's messages run over several, indented with tabs.
std::string one_line(std::string_view message) {
  std::string out;
  bool space = false;
  for (char c : message) {
    if (c == '\n' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string Connection::error() const { return one_line(PQerrorMessage(conn_)); }

Result<Rows> Connection::finish(PGresult* r, const std::string& what) {
  Rows rows(r);
  auto status = PQresultStatus(r);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return rows;
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  std::string message = what + ": " + (r ? one_line(PQresultErrorMessage(r)) : error());
  Error e = make_error(ok() ? ErrorCode::kIo : ErrorCode::kUnavailable, message);
  // Kept for callers that tell a conflict from other failures.
  if (state) e.protocol_data = state;
  return e;
}

Status Connection::exec(const std::string& sql) {
  auto r = finish(PQexec(conn_, sql.c_str()), "PostgreSQL");
  if (!r) return r.error();
  return {};
}

namespace {

struct Bound {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
};

Bound bind(const std::vector<Param>& params) {
  Bound b;
  for (const auto& p : params) {
    b.values.push_back(p.value ? p.value->data() : nullptr);
    b.lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
    b.formats.push_back(p.binary ? 1 : 0);
  }
  return b;
}

}  // namespace

Result<Rows> Connection::query(const std::string& sql, const std::vector<Param>& params) {
  Bound b = bind(params);
  return finish(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                             b.values.data(), b.lengths.data(), b.formats.data(), 0),
                "PostgreSQL");
}

Result<Rows> Connection::run_prepared(const std::string& name, const std::string& sql,
                                      const std::vector<Param>& params) {
  if (std::find(prepared_.begin(), prepared_.end(), name) == prepared_.end()) {
    auto r = finish(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), "PostgreSQL");
    if (!r) return r.error();
    prepared_.push_back(name);
  }
  Bound b = bind(params);
  return finish(PQexecPrepared(conn_, name.c_str(), static_cast<int>(params.size()),
                               b.values.data(), b.lengths.data(), b.formats.data(), 0),
                "PostgreSQL");
}

std::string array_literal(const std::vector<std::string>& elements) {
  std::string out = "{";
  for (const auto& e : elements) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : e) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

bool is_postgres_url(std::string_view text) {
  return text.substr(0, 11) == "postgres://" || text.substr(0, 13) == "postgresql://";
}

std::string redacted_url(std::string_view url) {
  std::string out(url);
  size_t scheme = out.find("://");
  if (scheme == std::string::npos) return out;
  size_t at = out.find('@', scheme + 3);
  size_t slash = out.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return out;
  size_t colon = out.find(':', scheme + 3);
  if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  return out;
}

}  // namespace hookmcp::store::pg
