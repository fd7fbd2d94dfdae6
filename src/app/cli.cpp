#include "cli.hpp"

#include <algorithm>
#include <string_view>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "hookmcp/core/os.hpp"

namespace hookmcp::app {

std::optional<std::string> ParsedArgs::value(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::vector<OptionSpec> common_options() {
  return {
      {"config", true, "JSON config file (env HOOKMCP_CONFIG)"},
      {"db", true, "SQLite database path (env HOOKMCP_DB)"},
      {"listen", true, "HOST:PORT to listen on, port 0 for any free port (env HOOKMCP_LISTEN)"},
      {"log-level", true, "trace, debug, info, warn, error, critical or off"},
  };
}

Result<ParsedArgs> parse_args(const std::vector<std::string>& args,
                              const std::vector<OptionSpec>& specs, const std::string& command) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (arg == "--") {
      out.positionals.insert(out.positionals.end(), args.begin() + static_cast<long>(i) + 1,
                             args.end());
      break;
    }
    if (arg.size() < 2 || arg.rfind("--", 0) != 0) {
      out.positionals.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const OptionSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) {
      return make_error(ErrorCode::kInvalidArgument,
                        "unknown option --" + name + " (see hookmcp " + command + " --help)");
    }
    if (!spec->takes_value) {
      if (inline_value)
        return make_error(ErrorCode::kInvalidArgument, "--" + name + " takes no value");
      out.flags[name] = true;
      continue;
    }
    if (inline_value) {
      out.values[name] = *inline_value;
    } else if (i + 1 < args.size()) {
      out.values[name] = args[++i];
    } else {
      return make_error(ErrorCode::kInvalidArgument, "--" + name + " needs a value");
    }
  }
  return out;
}

std::string format_options(const std::vector<OptionSpec>& specs) {
  // Help is read in a terminal: lines of at most 80 columns, a long help wrapped under itself.
  constexpr size_t kWidth = 80;
  constexpr size_t kIndent = 25;
  std::string out;
  for (const auto& s : specs) {
    std::string line = "  --" + s.name + (s.takes_value ? " VALUE" : "");
    line.resize(std::max(line.size() + 1, kIndent), ' ');
    size_t start = line.size();
    for (size_t at = 0; at < s.help.size();) {
      size_t end = s.help.find(' ', at);
      if (end == std::string::npos) end = s.help.size();
      std::string_view word(s.help.data() + at, end - at);
      if (line.size() > start && line.size() + 1 + word.size() > kWidth) {
        out += line + "\n";
        line = std::string(kIndent, ' ');
        start = kIndent;
      }
      if (line.size() > start) line += ' ';
      line += word;
      at = end + 1;
    }
    out += line + "\n";
  }
  out += "  -h, --help             show this help\n";
  return out;
}

config::Overrides overrides_from(const ParsedArgs& args) {
  config::Overrides o;
  o.config_file = args.value("config");
  o.database = args.value("db");
  o.listen = args.value("listen");
  o.log_level = args.value("log-level");
  o.allow_unsigned = args.flag("allow-unsigned");
  return o;
}

namespace {
std::string g_argv0;  // set once by main() before any other thread starts
}  // namespace

void remember_argv0(const char* argv0) { g_argv0 = argv0 == nullptr ? "" : argv0; }

std::string binary_path() { return executable_path(g_argv0); }

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("hookmcp");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace hookmcp::app
