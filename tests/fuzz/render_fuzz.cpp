// Payload rendering: any body a sender can store is turned into what get_event, the resources,
// the prompts and wait_for_event give a model, without a crash, unbounded recursion or an
// exception, however deep or wide its JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "internal.hpp"
#include "tools_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hookmcp;
  Event e;
  e.id = 1;
  e.source = "fuzz";
  e.provider = "none";
  e.body.assign(reinterpret_cast<const char*>(data), size);
  e.size = static_cast<int64_t>(size);
  e.headers_json = R"({"content-type":"application/json"})";
  for (int64_t max_bytes : {int64_t{0}, int64_t{7}, int64_t{65536}}) {
    for (const char* pointer : {"", "/0", "/a/b~1c/0"}) {
      auto shown = view::event_json(e, pointer, max_bytes);
      if (!shown) continue;
      const auto& encoding = (*shown)["payload_encoding"];
      if (!encoding.is_string()) std::abort();
      if (encoding != "json" &&
          static_cast<int64_t>((*shown)["payload"].get_ref<const std::string&>().size()) >
              max_bytes) {
        std::abort();  // a text payload is cut at max_bytes
      }
      std::string text = mcp::render_event("nonce", e, *shown);
      (void)shown->dump(-1, ' ', false, mcp::json::error_handler_t::replace);
    }
  }
  // wait_for_event's match reads the payload the same way.
  auto doc = parse_json(e.body);
  if (doc.ok()) (void)resolve_json_pointer(doc.value, "/0");
  return 0;
}
