// Config: any JSON document is either applied or refused with a message, never a crash or an
// exception; an applied one can be shown redacted.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hookmcp/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  // A fixed environment: env:FUZZ_SECRET resolves, every other variable is unset.
  auto getenv = [](const std::string& name) -> std::optional<std::string> {
    if (name == "FUZZ_SECRET") return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    return std::nullopt;
  };
  hookmcp::config::Config config;
  auto status = hookmcp::config::apply_json(doc, getenv, config);
  if (status.ok()) {
    (void)hookmcp::config::check_exposure(config);
    (void)config.to_redacted_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return 0;
}
