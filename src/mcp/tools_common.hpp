// Private to the mcp module: helpers the tools, the wait and the resources share.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "internal.hpp"

namespace hookmcp::mcp {

// source, type, action, since, until and status of a tool's (already checked) arguments.
Result<store::EventFilter> parse_filter(const json& args);

// Runs `work` on a worker thread (unless the call was cancelled first) and hands its result to
// `done`; a storage failure becomes a message that says to retry.
void on_worker(ToolCall call, ToolDone done, std::function<Result<ToolOutput>(ToolCall&)> work);

// get_event's text: the summary, then the payload fenced as the sender's words.
std::string render_event(const std::string& nonce, const Event& e, const json& shown);

void wait_for_event(ToolCall call, ToolDone done);

}  // namespace hookmcp::mcp
