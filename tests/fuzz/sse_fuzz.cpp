// SSE streams and Last-Event-ID: a client's event id is parsed and used to attach to a stream,
// replaying what is kept after it, for any id, any history and any sequence of operations.
//
// Input: the first line is the Last-Event-ID; each following byte is one operation on the
// stream (push an event, take, detach, attach with the parsed id, finish).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hookmcp/core/metrics.hpp"
#include "sse_stream.hpp"

namespace {

using hookmcp::transport::parse_event_id;
using hookmcp::transport::QueueBudget;
using hookmcp::transport::SseStream;

// The sequence numbers in the SSE text must rise by one from the first one sent.
size_t count(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; ++at) ++n;
  return n;
}

// A batch holds what its connection takes, one way only, and every SSE event has its data.
void check_batch(const SseStream::Batch& batch) {
  if (!batch.bytes.empty() && !batch.messages.empty()) std::abort();
  if (count(batch.bytes, "id: s-") != count(batch.bytes, "data: ")) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto eol = input.find('\n');
  std::string_view last_event_id = input.substr(0, eol);
  std::string_view ops = eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);

  std::optional<uint64_t> last_seq;
  if (auto id = parse_event_id(last_event_id)) {
    // What find_event accepts: the id of this stream, with any number.
    if (id->stream.size() + 1 > last_event_id.size()) std::abort();
    if (id->stream == "s") last_seq = id->seq;
  }

  static hookmcp::Metrics metrics;
  // Small limits, so that overflow, the shared budget and replay eviction are reached.
  auto budget = std::make_shared<QueueBudget>(400);
  auto stream_ptr = std::make_unique<SseStream>(
      "s", SseStream::Limits{.max_queued_bytes = 512, .max_replay_events = 8, .budget = budget},
      metrics);
  SseStream& stream = *stream_ptr;
  int wakes = 0;
  auto wake = [&wakes] { ++wakes; };
  uint64_t pushed = 0;
  uint64_t token = 0;  // the connection attached last
  for (unsigned char op : ops) {
    switch (op % 6) {
      case 0:
        stream.push(std::make_shared<const std::string>(
            R"({"jsonrpc":"2.0","method":"n","params":{"n":)" + std::to_string(pushed++) + "}}"));
        break;
      case 1:
        stream.push(std::make_shared<const std::string>(op, 'x'), "message");
        ++pushed;
        break;
      case 2:
        check_batch(stream.take(token));
        break;
      case 3:
        stream.detach(token);
        break;
      case 4:
        if (auto t = stream.attach(
                wake, last_seq,
                op & 0x40 ? SseStream::Takes::kMessages : SseStream::Takes::kSseText)) {
          token = *t;
        }
        break;
      case 5:
        if (op > 200) stream.finish();
        break;
    }
  }
  if (auto t = stream.attach(wake, last_seq)) {
    check_batch(stream.take(*t));
    stream.detach(*t);
  }
  if (budget->used() > 400) std::abort();
  stream_ptr.reset();
  if (budget->used() != 0) std::abort();  // every byte taken is given back
  return 0;
}
