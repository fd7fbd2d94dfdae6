#include "hookmcp/view/event_view.hpp"

#include <gtest/gtest.h>

#include <string>

#include "hookmcp/core/text.hpp"

namespace hookmcp::view {
namespace {

Event event_with_body(std::string body) {
  Event e;
  e.id = 7;
  e.source = "demo";
  e.provider = "generic";
  e.headers_json = R"({"content-type":"text/plain"})";
  e.size = static_cast<int64_t>(body.size());
  e.body = std::move(body);
  return e;
}

// Whether a body is text is decided once, strictly: the bytes a lenient check let through (an
// encoded surrogate, overlong forms) come back as base64, byte for byte.
TEST(EventView, BodiesThatAreNotWellFormedUtf8AreBase64) {
  for (std::string body : {std::string("a\xED\xA0\x80"), std::string("a\xE0\x80\x80"),
                           std::string("a\xF0\x80\x80\x80"), std::string("\x00\xFF", 2)}) {
    auto shown = event_json(event_with_body(body));
    ASSERT_TRUE(shown);
    EXPECT_EQ((*shown)["payload_encoding"], "base64");
    EXPECT_EQ(base64_decode((*shown)["payload"].get<std::string>()), body);
  }
  auto text = event_json(event_with_body("caf\xC3\xA9"));
  ASSERT_TRUE(text);
  EXPECT_EQ((*text)["payload_encoding"], "text");
  EXPECT_EQ((*text)["payload"], "caf\xC3\xA9");
}

TEST(EventView, WholePayloadByDefaultAndCutTextStaysUtf8) {
  auto whole = event_json(event_with_body(R"({"a":[1,2,3]})"));
  ASSERT_TRUE(whole);
  EXPECT_EQ((*whole)["payload_encoding"], "json");
  EXPECT_EQ((*whole)["payload"]["a"][2], 3);
  EXPECT_EQ((*whole)["truncated"], false);
  EXPECT_NE((*whole)["payload_notice"].get<std::string>().find("NOT verified"), std::string::npos);

  // Cut inside the two-byte é: the half is dropped, never shown.
  auto cut = event_json(event_with_body("caf\xC3\xA9 au lait"), "", 4);
  ASSERT_TRUE(cut);
  EXPECT_EQ((*cut)["payload"], "caf");
  EXPECT_EQ((*cut)["truncated"], true);
}

TEST(EventView, PointersSelectFromJsonAndSayWhyNot) {
  auto e = event_with_body(R"({"pull_request":{"title":"Fix"}})");
  auto title = event_json(e, "/pull_request/title");
  ASSERT_TRUE(title);
  EXPECT_EQ((*title)["payload"], "Fix");
  EXPECT_EQ((*title)["pointer"], "/pull_request/title");
  EXPECT_EQ(event_json(e, "/missing").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(event_json(e, "no-slash").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(event_json(event_with_body("plain"), "/a").error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
TEST(EventView, FormFieldsAndPubSubDataAreReadableBesideTheRawPayload) {
  Event form = event_with_body(
      "--b\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nHi <b>there</b>\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\na@example.com\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\nb@example.com\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.pdf\"\r\n"
      "Content-Type: application/pdf\r\n\r\n%PDF\xff\r\n--b--\r\n");
  form.content_type = "multipart/form-data; boundary=b";
  form.provider = "mailgun";
  auto whole = event_json(form);
  ASSERT_TRUE(whole);
  EXPECT_EQ((*whole)["payload_encoding"], "base64");  // the raw body, byte for byte
  const auto& fields = (*whole)["payload_fields"];
  EXPECT_EQ(fields["subject"], "Hi <b>there</b>");
  EXPECT_EQ(fields["to"], json::array({"a@example.com", "b@example.com"}));
  EXPECT_EQ(fields["file"]["filename"], "r.pdf");
  EXPECT_EQ(fields["file"]["size"], 5);
  EXPECT_NE((*whole)["payload_notice"].get<std::string>().find("It carries email"),
            std::string::npos);
  auto subject = event_json(form, "/subject");
  ASSERT_TRUE(subject);
  EXPECT_EQ((*subject)["payload"], "Hi <b>there</b>");
  EXPECT_FALSE(event_json(form, "/nothing"));

  Event push = event_with_body(
      R"({"message":{"data":"eyJlbWFpbEFkZHJlc3MiOiJ1QGV4YW1wbGUuY29tIiwiaGlzdG9yeUlkIjo3fQ==",)"
      R"("messageId":"1"},"subscription":"projects/p/subscriptions/s"})");
  auto decoded = event_json(push);
  ASSERT_TRUE(decoded);
  EXPECT_EQ((*decoded)["payload_fields"]["emailAddress"], "u@example.com");
  EXPECT_EQ((*decoded)["payload_fields"]["historyId"], 7);
  EXPECT_EQ((*decoded)["payload"]["message"]["messageId"], "1");

  auto plain = event_json(event_with_body(R"({"a":1})"));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->contains("payload_fields"));
  EXPECT_EQ((*plain)["payload_notice"].get<std::string>().find("It carries email"),
            std::string::npos);
}

}  // namespace hookmcp::view
