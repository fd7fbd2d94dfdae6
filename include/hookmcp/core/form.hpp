// HTML form bodies: application/x-www-form-urlencoded and multipart/form-data (RFC 7578), as
// Slack's commands, Mailgun's routes and SendGrid's Inbound Parse post them. Pure functions,
// safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookmcp {

struct FormField {
  std::string name;
  std::string value;  // decoded; a file's bytes
  // A multipart part sent as a file (it has a filename): its name and type.
  bool file = false;
  std::string filename;
  std::string content_type;
};

// Whether the Content-Type is a form (urlencoded or multipart).
bool is_form(std::string_view content_type);

// The fields of a form body in order, or nullopt when the content type is not a form or the
// body is malformed (a bad escape, a multipart body without its boundary or closing delimiter).
std::optional<std::vector<FormField>> parse_form(std::string_view content_type,
                                                 std::string_view body);

// The value of the first field named `name`, nullopt when absent.
std::optional<std::string> form_field(const std::vector<FormField>& fields, std::string_view name);

// Percent-decoding with '+' as space; nullopt on a bad escape.
std::optional<std::string> url_decode(std::string_view text);
// Percent-encoding of everything but RFC 3986's unreserved characters: a query or form value.
std::string url_encode(std::string_view text);
// name=value&... of application/x-www-form-urlencoded (and of a query string), each encoded.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

// A parameter of a header value such as Content-Type (`boundary` of multipart/form-data; "name"
// of Content-Disposition), unquoted; nullopt when absent.
std::optional<std::string> header_parameter(std::string_view value, std::string_view name);

}  // namespace hookmcp
