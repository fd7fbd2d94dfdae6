// GET /ui: the console's files, with their security headers.
#include "console_route.hpp"

#include "hookmcp/console/console.hpp"

namespace hookmcp::transport {

namespace http = boost::beast::http;

Response handle_console(const Request& req, const McpAccess& access) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    Response res = error(req, 405, "use GET");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  if (auto denial = check_host_and_origin(access, header(req, http::field::host),
                                          header(req, http::field::origin))) {
    return error(req, denial->status, denial->message);
  }
  auto file = console::asset(path_of(req));
  if (!file) return error(req, 404, "no console file " + std::string(path_of(req)));
  Response res = make_response(req, 200, std::string(file->body), file->content_type);
  for (const auto& [name, value] : console::security_headers()) res.set(name, value);
  if (req.method() == http::verb::head) {
    res.body().clear();
    res.content_length(file->body.size());
  }
  return res;
}

}  // namespace hookmcp::transport
