// Who holds the listener's address when this process cannot bind it: another hookmcp on the
// same database (follow it), another hookmcp on another database, or a program that is not
// hookmcp. Asked of the holder's GET /healthz, which names its database's identity.
#pragma once

#include <chrono>
#include <string>

#include "hookmcp/config/config.hpp"

namespace hookmcp::app {

struct Holder {
  enum class Kind {
    kSameDatabase,     // a hookmcp writing the database this process reads
    kOtherDatabase,    // a hookmcp writing another database
    kUnknownDatabase,  // perhaps a hookmcp, on a database it does not name (older, or TLS
                       // with a certificate this process cannot verify)
    kForeign,          // something else, or nothing that answers HTTP
  };
  Kind kind = Kind::kForeign;
  std::string database;  // the holder's database identity, when it said
  std::string detail;    // what it answered, for a person: "HTTP 404", "connection refused"
};

// Asks whoever listens on `listen` (over https when `tls`) for its /healthz, within `timeout`,
// and compares the database it names with `identity`. A wildcard address is asked on loopback.
Holder identify_holder(const config::Endpoint& listen, bool tls, const std::string& identity,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

}  // namespace hookmcp::app
