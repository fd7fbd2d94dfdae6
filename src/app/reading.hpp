// Reading the configuration and the database from the command line (`hookmcp events`,
// `subscriptions`, `send --source`, `client-config`): safe beside a `hookmcp serve` or `stdio`
// writing to the same file, and without needing the secrets the config names.
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

// The settings from the flags, environment and config file, for a command that needs none of
// the secrets, or only some it resolves itself from Secret::reference: an `env:NAME` secret
// whose variable this shell lacks gets a placeholder value instead of failing the load.
// kInvalidArgument names the flag, variable or field at fault.
Result<config::Config> load_config_without_secrets(const ParsedArgs& args);

// The listener's base URL as a client on this machine reaches it: http:// or, with tls
// configured, https://, and loopback for a wildcard address (0.0.0.0, ::). No trailing slash.
std::string local_base_url(const config::Config& config);

// The database named by the flags, environment or config file, opened for reading only. Secrets
// are not needed to read, so an `env:NAME` secret this shell lacks does not stop a person.
// kNotFound (saying how to create it), kInvalidArgument for a config mistake, kIo otherwise.
Result<Opened> open_store(const ParsedArgs& args);

}  // namespace hookmcp::app
