// The conformance suite's fixtures for MCP 2026-07-28's multi-round-trip requests
// (input_required), and the tools its stateless scenario calls. See multi_round.cpp.
#pragma once

#include <vector>

#include "hookmcp/mcp/server.hpp"

namespace conformance {

std::vector<hookmcp::mcp::CatalogTool> multi_round_tools();
std::vector<hookmcp::mcp::CatalogPrompt> multi_round_prompts();

}  // namespace conformance
