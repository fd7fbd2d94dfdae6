// Opening the database for reading from the command line (`hookmcp events`, `hookmcp
// subscriptions`): safe beside a `hookmcp serve` or `stdio` writing to the same file.
#pragma once

#include <memory>
#include <string>

#include "cli.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::app {

struct Opened {
  std::unique_ptr<store::Store> store;
  std::string path;
};

// The database named by the flags, environment or config file, opened for reading only. Secrets
// are not needed to read, so an `env:NAME` secret this shell lacks does not stop a person.
// kNotFound (saying how to create it), kInvalidArgument for a config mistake, kIo otherwise.
Result<Opened> open_store(const ParsedArgs& args);

}  // namespace hookmcp::app
