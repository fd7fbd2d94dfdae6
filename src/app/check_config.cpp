#include <iostream>

#include "cli.hpp"
#include "commands.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kCheckConfigHelp = R"(Usage: hookmcp check-config [OPTIONS]

Validates the configuration (file, HOOKMCP_* environment and flags) and prints the effective
settings as JSON, every secret redacted. Exit code 0 when valid, 2 with a message naming the
field when not.

Examples:
  hookmcp check-config --config hookmcp.json
  HOOKMCP_LISTEN=0.0.0.0:8787 hookmcp check-config --config hookmcp.json

Options:
)";

}  // namespace

int run_check_config(const std::vector<std::string>& argv) {
  auto specs = common_options();
  specs.push_back({"allow-unsigned", false, "accept unsigned sources on a non-loopback address"});
  auto args = parse_args(argv, specs, "check-config");
  if (!args) {
    std::cerr << "hookmcp check-config: " << args.error().message << "\n";
    return kExitUsage;
  }
  if (args->help) {
    std::cout << kCheckConfigHelp << format_options(specs);
    return kExitOk;
  }
  auto cfg = config::load(overrides_from(*args), config::process_env());
  if (!cfg) {
    std::cerr << "hookmcp check-config: " << cfg.error().message << "\n";
    return kExitUsage;
  }
  if (auto s = config::check_exposure(*cfg); !s) {
    std::cerr << "hookmcp check-config: " << s.error().message << "\n";
    return kExitUsage;
  }
  std::cout << cfg->to_redacted_json().dump(2) << "\n";
  return kExitOk;
}

}  // namespace hookmcp::app
